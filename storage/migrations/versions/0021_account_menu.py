"""the "/" menu each account's chat was given (issue 21): ``account.menu`` records the roles and language of the
last menu the bot set for the account's private chat, so the bot calls ``setMyCommands`` only when they change,
not once per chat after every restart (an Accept used to carry one).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 00:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('menu', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('account', schema=None) as batch_op:
        batch_op.drop_column('menu')
