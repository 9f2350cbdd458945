"""retention (issue 19; PIPL storage limitation): a lead's retention clocks (``lead_retention``), evidence rows
marked purged, the reporter link that may be purged, and the indexes the retention sweep reads through. Existing
closed and not-accepted leads get their clocks (the rejection time read from the audit trail).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 10:00:00.000000
"""
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CLAIM_MONTHS = 2  # the reward claim window (002 §12(四)) for leads closed before this migration


def upgrade() -> None:
    op.create_table(
        'lead_retention',
        sa.Column('lead_id', sa.Integer(), nullable=False),
        sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('since', storage.types.UTCDateTime(), nullable=False),
        sa.Column('warned_at', storage.types.UTCDateTime(), nullable=True),
        sa.Column('done_at', storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['lead_id'], ['lead.id'], name=op.f('fk_lead_retention_lead_id_lead')),
        sa.PrimaryKeyConstraint('lead_id', 'kind', name=op.f('pk_lead_retention')),
    )
    op.create_index('ix_lead_retention_due', 'lead_retention', ['kind', 'done_at', 'since'], unique=False)
    with op.batch_alter_table('lead_evidence', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', storage.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_lead_evidence_purged_at'), ['purged_at'], unique=False)
        batch_op.create_index('ix_lead_evidence_stored_path', ['stored_path'], unique=False)
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.alter_column('reporter_person_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_index('ix_lead_linked_to', ['linked_to_id'], unique=False)
    _clocks_of_existing_leads()


def _clocks_of_existing_leads() -> None:
    bind = op.get_bind()
    table = sa.table('lead_retention', sa.column('lead_id', sa.Integer()), sa.column('kind', sa.String()),
                     sa.column('since', storage.types.UTCDateTime()))
    rejected = dict(bind.execute(sa.text(
        "SELECT CAST(object_id AS INTEGER), min(at) FROM audit_entry WHERE action = 'lead.not_accepted' "
        "AND object_type = 'lead' GROUP BY object_id")).all())
    rows: list[dict[str, object]] = []
    leads = bind.execute(sa.text(
        "SELECT id, state, closed_at, updated_at, reward_claim_until FROM lead "
        "WHERE state IN ('not_accepted', 'closed')")).all()
    for lead_id, state, closed_at, updated_at, claim_until in leads:
        if state == 'not_accepted' or lead_id in rejected:
            rows.append({'lead_id': lead_id, 'kind': 'rejected', 'since': _aware(rejected.get(lead_id) or updated_at)})
        if state != 'closed' or closed_at is None:
            continue
        closed = _aware(closed_at)
        if lead_id not in rejected:
            rows.append({'lead_id': lead_id, 'kind': 'evidence', 'since': closed})
        window = closed + timedelta(days=31 * CLAIM_MONTHS)
        if claim_until is not None:
            day = claim_until if not isinstance(claim_until, str) else datetime.fromisoformat(claim_until).date()
            window = max(window, datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1))
        rows.append({'lead_id': lead_id, 'kind': 'reporter', 'since': window})
    if rows:
        op.bulk_insert(table, rows)


def _aware(value: object) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def downgrade() -> None:
    with op.batch_alter_table('lead', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_linked_to')
        batch_op.alter_column('reporter_person_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('lead_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_lead_evidence_stored_path')
        batch_op.drop_index(batch_op.f('ix_lead_evidence_purged_at'))
        batch_op.drop_column('purged_at')
    op.drop_index('ix_lead_retention_due', table_name='lead_retention')
    op.drop_table('lead_retention')
