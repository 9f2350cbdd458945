"""encryption at rest (issue 19): the wrapped column data key, mobiles widened for their ciphertext, and the keyed
hash columns beside them. Existing values stay readable in clear until ``python -m bot keys encrypt-existing``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 19:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ('expert', 'supervisor')


def upgrade() -> None:
    op.create_table(
        'data_key',
        sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('wrapped', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('created_at', storage.types.UTCDateTime(), nullable=False),
        sa.Column('rotated_at', storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('purpose', name=op.f('pk_data_key')),
    )
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('mobile', existing_type=sa.String(length=11), type_=sa.String(length=160),
                                  existing_nullable=True)
            batch_op.add_column(sa.Column('mobile_hmac', sa.String(length=64), nullable=True))
            batch_op.create_index(f'ix_{table}_mobile_hmac', ['mobile_hmac'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_mobile_hmac')
            batch_op.drop_column('mobile_hmac')
            batch_op.alter_column('mobile', existing_type=sa.String(length=160), type_=sa.String(length=11),
                                  existing_nullable=True)
    op.drop_table('data_key')
