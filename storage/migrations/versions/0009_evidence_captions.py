"""evidence captions: lead_evidence.caption, the words a reporter sent with an evidence file (002 §9(二))

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-09 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('lead_evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('caption', sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('lead_evidence', schema=None) as batch_op:
        batch_op.drop_column('caption')
