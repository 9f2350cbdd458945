"""The reporter's identity encrypted at rest and a retention hold (issue 19; 002 §11, 003 三(四): the reporter's
identity kept strictly confidential; PIPL art. 19).

* ``lead.reporter_person_id`` (a plain foreign key to ``person``) becomes ``lead.reporter_ref``, the person id as an
  encrypted column value, with its keyed hash ``reporter_ref_hmac`` for the reporter's own lookups;
* ``supervisor.name``: a social supervisor's name, copied from ``person.name``; the person row of someone who is only
  a supervisor (not staff, not an expert) then holds the sealed placeholder ``***`` instead;
* ``supervisor.pseudonym`` widened for its ciphertext, its uniqueness moved to the keyed hash ``pseudonym_hmac``
  (otherwise the pseudonym on a lead and in the audit trail leads back to the person);
* ``outbox_message.sealed``: a message to a reporter about their lead forgets its recipient and content once sent;
* ``lead_retention.held_at``, ``held_until``, ``hold_reason``: staff postpone a pending deletion.

Like 0015 and 0017, the values copied here stay readable in clear (and are found on their stored text) until
``python -m bot keys encrypt-existing`` encrypts them in batches (resumable) and rebuilds the SQLite file so the
replaced plaintext leaves no bytes behind (PostgreSQL: ``VACUUM FULL person, supervisor, lead``). A migration has no
key, so it cannot encrypt itself.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 01:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEALED_NAME = '***'  # storage.models.SEALED_NAME at the time of this migration
# the messages to a reporter about their lead (services/leads: notify.to_person(..., sealed=True)) at this migration
REPORTER_KEYS = ("message_key IN ('lead.receipt', 'lead.added', 'lead.to_reporter') "
                 "OR message_key LIKE 'lead.feedback.%'")


def upgrade() -> None:
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_ref', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('reporter_ref_hmac', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_lead_reporter_ref_hmac', ['reporter_ref_hmac'], unique=False)
    op.execute("UPDATE lead SET reporter_ref = CAST(reporter_person_id AS VARCHAR(20)) "
               "WHERE reporter_person_id IS NOT NULL")
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_reporter_person_id')
        batch_op.drop_constraint('fk_lead_reporter_person_id_person', type_='foreignkey')
        batch_op.drop_column('reporter_person_id')
    with op.batch_alter_table('supervisor', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name', sa.String(length=160), nullable=True))
        batch_op.drop_constraint('uq_supervisor_pseudonym', type_='unique')
        batch_op.alter_column('pseudonym', existing_type=sa.String(length=16), type_=sa.String(length=160),
                              existing_nullable=True)
        batch_op.add_column(sa.Column('pseudonym_hmac', sa.String(length=64), nullable=True))
        batch_op.create_index('ix_supervisor_pseudonym_hmac', ['pseudonym_hmac'], unique=True)
    op.execute("UPDATE supervisor SET name = (SELECT person.name FROM person WHERE person.id = supervisor.person_id)")
    op.execute(f"UPDATE person SET name = '{SEALED_NAME}' WHERE id IN (SELECT person_id FROM supervisor) "
               "AND id NOT IN (SELECT person_id FROM staff) AND id NOT IN (SELECT person_id FROM expert)")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.execute(f"UPDATE outbox_message SET sealed = true WHERE {REPORTER_KEYS}")
    op.execute("UPDATE outbox_message SET person_id = NULL, address = NULL, sent_address = NULL, params = '{}', "
               "buttons = '[]' WHERE sealed = true AND status <> 'pending'")
    with op.batch_alter_table('lead_retention', schema=None) as batch_op:
        batch_op.add_column(sa.Column('held_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('held_until', storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('hold_reason', sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Back to the plain link and names: only possible while the values are still in clear (before ``keys
    encrypt-existing``; afterwards restore a backup taken before it)."""
    with op.batch_alter_table('lead_retention', schema=None) as batch_op:
        batch_op.drop_column('hold_reason')
        batch_op.drop_column('held_until')
        batch_op.drop_column('held_at')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('sealed')
    op.execute(f"UPDATE person SET name = (SELECT supervisor.name FROM supervisor WHERE supervisor.person_id = "
               f"person.id) WHERE name = '{SEALED_NAME}' AND id IN (SELECT person_id FROM supervisor)")
    with op.batch_alter_table('supervisor', schema=None) as batch_op:
        batch_op.drop_index('ix_supervisor_pseudonym_hmac')
        batch_op.drop_column('pseudonym_hmac')
        batch_op.alter_column('pseudonym', existing_type=sa.String(length=160), type_=sa.String(length=16),
                              existing_nullable=True)
        batch_op.create_unique_constraint('uq_supervisor_pseudonym', ['pseudonym'])
        batch_op.drop_column('name')
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reporter_person_id', sa.Integer(), nullable=True))
    op.execute("UPDATE lead SET reporter_person_id = CAST(reporter_ref AS INTEGER) WHERE reporter_ref IS NOT NULL")
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_reporter_ref_hmac')
        batch_op.drop_column('reporter_ref_hmac')
        batch_op.drop_column('reporter_ref')
        batch_op.create_foreign_key('fk_lead_reporter_person_id_person', 'person', ['reporter_person_id'], ['id'])
        batch_op.create_index('ix_lead_reporter_person_id', ['reporter_person_id'], unique=False)
