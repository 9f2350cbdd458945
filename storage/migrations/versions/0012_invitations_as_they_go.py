"""invitations as they go (issue 13): activity_member.contact ("phone": the invitation could not be delivered, staff
call the expert), activity_member.eve_reminded_at (the reminder the day before the start went out),
draw_request.message_ids (every copy of the request with Approve / Reject, edited once decided),
activity_member.removal_message_ids and sanction_proposal.message_ids (every copy of an irreversible proposal,
edited to show who decided)

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-07 15:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0012'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('activity_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch_op.add_column(sa.Column('eve_reminded_at', storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('removal_message_ids', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('sanction_proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_ids', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('draw_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_ids', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('sanction_proposal', schema=None) as batch_op:
        batch_op.drop_column('message_ids')
    with op.batch_alter_table('draw_request', schema=None) as batch_op:
        batch_op.drop_column('message_ids')
    with op.batch_alter_table('activity_member', schema=None) as batch_op:
        batch_op.drop_column('removal_message_ids')
        batch_op.drop_column('eve_reminded_at')
        batch_op.drop_column('contact')
