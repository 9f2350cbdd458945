"""ID numbers encrypted at rest (issue 19; PIPL: ID numbers are sensitive personal information): ``expert.id_number``,
``supervisor.id_number`` and ``lead.insured_id_number`` widened for their ciphertext, each with a keyed hash column
beside it; the uniqueness of the experts' and supervisors' ID numbers moves to the hash (ciphertexts of one number all
differ). Existing values stay readable in clear (and are still found and checked for duplicates on their stored text)
until ``python -m bot keys encrypt-existing``.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PEOPLE = ('expert', 'supervisor')


def upgrade() -> None:
    for table in PEOPLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_id_number', type_='unique')
            batch_op.alter_column('id_number', existing_type=sa.String(length=18), type_=sa.String(length=160),
                                  existing_nullable=True)
            batch_op.add_column(sa.Column('id_number_hmac', sa.String(length=64), nullable=True))
            batch_op.create_index(f'ix_{table}_id_number_hmac', ['id_number_hmac'], unique=True)
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.alter_column('insured_id_number', existing_type=sa.String(length=18), type_=sa.String(length=160),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('insured_id_number_hmac', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_lead_insured_id_number_hmac', ['insured_id_number_hmac'], unique=False)


def downgrade() -> None:
    """Back to plaintext columns: only possible while every value is still in clear (a ciphertext does not fit 18
    characters); decrypt first by restoring a backup taken before ``keys encrypt-existing``."""
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_insured_id_number_hmac')
        batch_op.drop_column('insured_id_number_hmac')
        batch_op.alter_column('insured_id_number', existing_type=sa.String(length=160), type_=sa.String(length=18),
                              existing_nullable=True)
    for table in PEOPLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_id_number_hmac')
            batch_op.drop_column('id_number_hmac')
            batch_op.alter_column('id_number', existing_type=sa.String(length=160), type_=sa.String(length=18),
                                  existing_nullable=True)
            batch_op.create_unique_constraint(f'uq_{table}_id_number', ['id_number'])
