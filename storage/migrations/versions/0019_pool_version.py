"""pool version (issue 21): a counter the database bumps on every change to the expert table, so the draw can keep
an index of the pool in memory (``services.activities.pool_index``) and rebuild it only when the pool changed.

``pool_version`` holds at most one row (id 1): ``epoch`` is random, drawn when the row is first made (so two
databases never share a key, e.g. test databases or a copy), and ``version`` gets a new random 53-bit value on every
change to ``expert`` (random, not a count: a transaction that changed experts and rolled back cannot leave a number
that a later change reuses). Triggers write it in the changing transaction: on SQLite one per row and kind of
change, on PostgreSQL one per statement (TRUNCATE included). The row is made by the first change (an upsert), so an empty database has
none and ``db copy`` (which skips this table: ``storage.copy.DERIVED``) fills the target without a conflict.

A later migration that rebuilds ``expert`` on SQLite (``batch_alter_table`` copies the table and drops the old
one, and its triggers with it) must create the triggers again: ``create_triggers`` below;
tests/storage/test_pool_version.py checks that a change to an expert bumps the version at head.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 00:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_BUMP = ("INSERT INTO pool_version (id, epoch, version) VALUES (1, lower(hex(randomblob(16))), random() >> 11) "
                "ON CONFLICT (id) DO UPDATE SET version = random() >> 11")
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION pool_version_bump() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pool_version (id, epoch, version)
    VALUES (1, md5(random()::text || clock_timestamp()::text), floor(random() * 9007199254740992)::bigint)
    ON CONFLICT (id) DO UPDATE SET version = floor(random() * 9007199254740992)::bigint;
    RETURN NULL;
END $$
"""
_KINDS = ('insert', 'update', 'delete')


def create_triggers() -> None:
    """The triggers that bump ``pool_version`` on a change to ``expert`` (again after a rebuild of the table)."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(_PG_FUNCTION)
        op.execute("DROP TRIGGER IF EXISTS pool_version_expert ON expert")
        op.execute("CREATE TRIGGER pool_version_expert AFTER INSERT OR UPDATE OR DELETE ON expert "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pool_version_bump()")
        op.execute("DROP TRIGGER IF EXISTS pool_version_expert_truncate ON expert")
        op.execute("CREATE TRIGGER pool_version_expert_truncate AFTER TRUNCATE ON expert "
                   "FOR EACH STATEMENT EXECUTE FUNCTION pool_version_bump()")
        return
    for kind in _KINDS:
        op.execute(f"DROP TRIGGER IF EXISTS pool_version_expert_{kind}")
        op.execute(f"CREATE TRIGGER pool_version_expert_{kind} AFTER {kind.upper()} ON expert "
                   f"BEGIN {_SQLITE_BUMP}; END")


def upgrade() -> None:
    op.create_table(
        'pool_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('epoch', sa.String(length=32), nullable=False),
        sa.Column('version', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    create_triggers()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER IF EXISTS pool_version_expert ON expert")
        op.execute("DROP TRIGGER IF EXISTS pool_version_expert_truncate ON expert")
        op.execute("DROP FUNCTION IF EXISTS pool_version_bump()")
    else:
        for kind in _KINDS:
            op.execute(f"DROP TRIGGER IF EXISTS pool_version_expert_{kind}")
    op.drop_table('pool_version')
