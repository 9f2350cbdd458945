"""insight indexes: the period and unit columns /stats and the monthly report count by (issue 17)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 16:00:00.000000
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ('ix_activity_unit_start', 'activity', ['org_unit_id', 'starts_at']),
    ('ix_activity_member_invited', 'activity_member', ['invited_at']),
    ('ix_lead_unit_created', 'lead', ['org_unit_id', 'created_at']),
    ('ix_expert_unit_state', 'expert', ['org_unit_id', 'state']),
    ('ix_draw_record_unit_drawn', 'draw_record', ['org_unit_id', 'drawn_at']),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
