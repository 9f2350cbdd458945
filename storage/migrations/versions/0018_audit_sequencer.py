"""audit sequencer (issue 21): entries are written pending in their transaction and linked into the chain after
commit by one sequencer, so appends no longer queue on the chain head. ``audit_entry.seq`` is an entry's position
in the chain (existing entries: their id, which was their position); ``prev_hash`` and ``hash`` stay empty until
the entry is linked. On PostgreSQL the id sequence is moved past the ids the chain used to hand out itself.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 19:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.alter_column('prev_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entry_seq'), ['seq'])
    op.execute("UPDATE audit_entry SET seq = id")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('audit_entry', 'id'), "
                   "COALESCE((SELECT max(id) FROM audit_entry), 0) + 1, false)")


def downgrade() -> None:
    # Pending entries cannot be represented in the old schema: link them first (python -m bot audit verify).
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entry_seq'), type_='unique')
        batch_op.alter_column('hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
        batch_op.drop_column('seq')
