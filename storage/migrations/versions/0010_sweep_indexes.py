"""sweep indexes (issue 21): every periodic sweep reads only what can be due; roster edits coalesced

- ``activity_member.credit_swept`` (the status the credit sweep last looked at the slot in) with the index
  ``(status, credit_swept)``: the credit sweep reads only expired or refused slots it has not yet seen in that
  status, and the invitation sweeps find open slots by status;
- ``activity.record_pending`` with the index ``(record_pending, ends_at)``: the work-record sweep reads only ended
  activities it has not yet looked at (activities already recorded or cancelled are marked done here);
- ``redeem_failure.at`` indexed for the pruning sweep;
- ``outbox_message (edit_of_id, status)``: a new roster edit skips the older ones still waiting (issue 21).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 15:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('activity_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credit_swept', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False,
                                      server_default=''))
        batch_op.create_index('ix_activity_member_status', ['status', 'credit_swept'], unique=False)
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.add_column(sa.Column('record_pending', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.create_index('ix_activity_record_pending', ['record_pending', 'ends_at'], unique=False)
    with op.batch_alter_table('redeem_failure', schema=None) as batch_op:
        batch_op.create_index('ix_redeem_failure_at', ['at'], unique=False)
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_edit_of', ['edit_of_id', 'status'], unique=False)
    op.execute("UPDATE activity SET record_pending = false WHERE status = 'cancelled' "
               "OR EXISTS (SELECT 1 FROM work_record WHERE work_record.activity_id = activity.id)")
    op.execute("UPDATE activity_member SET credit_swept = status WHERE status IN ('expired', 'refused') AND EXISTS "
               "(SELECT 1 FROM credit_event WHERE credit_event.source = "
               "'slot:' || CAST(activity_member.id AS VARCHAR) || ':' || activity_member.status)")


def downgrade() -> None:
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_edit_of')
    with op.batch_alter_table('redeem_failure', schema=None) as batch_op:
        batch_op.drop_index('ix_redeem_failure_at')
    with op.batch_alter_table('activity', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_record_pending')
        batch_op.drop_column('record_pending')
    with op.batch_alter_table('activity_member', schema=None) as batch_op:
        batch_op.drop_index('ix_activity_member_status')
        batch_op.drop_column('credit_swept')
