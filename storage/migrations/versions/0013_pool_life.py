"""the expert pool's whole life (issue 14): granted extensions past 65 (000 §22), past times in the pool kept on
re-admission (000 §10, 001 §22), per-unit pools drawing from the parent's (000 §5) and pools lent to other units
(003 三(八)), named on the draw record

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 15:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_until', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('extension_reminded_for', sa.Date(), nullable=True))
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('draws_from_parent', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('draw_record', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lending_unit_ids', sa.JSON(), nullable=False, server_default='[]'))
    op.create_table(
        'expert_tenure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('expert_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('term_start', sa.Date(), nullable=True),
        sa.Column('term_end', sa.Date(), nullable=True),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('end_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('barred_until', sa.Date(), nullable=True),
        sa.Column('archived_at', storage.types.UTCDateTime(), nullable=False),
        sa.Column('archived_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(['expert_id'], ['expert.person_id'], ),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_unit.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_expert_tenure_expert_id', 'expert_tenure', ['expert_id'], unique=False)
    op.create_table(
        'pool_share',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('lender_unit_id', sa.Integer(), nullable=False),
        sa.Column('borrower_unit_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('granted_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('granted_at', storage.types.UTCDateTime(), nullable=False),
        sa.Column('revoked_at', storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['borrower_unit_id'], ['org_unit.id'], ),
        sa.ForeignKeyConstraint(['lender_unit_id'], ['org_unit.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_pool_share_lender_unit_id', 'pool_share', ['lender_unit_id'], unique=False)
    op.create_index('ix_pool_share_borrower', 'pool_share', ['borrower_unit_id', 'starts_on', 'ends_on'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_pool_share_borrower', table_name='pool_share')
    op.drop_index('ix_pool_share_lender_unit_id', table_name='pool_share')
    op.drop_table('pool_share')
    op.drop_index('ix_expert_tenure_expert_id', table_name='expert_tenure')
    op.drop_table('expert_tenure')
    with op.batch_alter_table('org_unit', schema=None) as batch_op:
        batch_op.drop_column('draws_from_parent')
    with op.batch_alter_table('draw_record', schema=None) as batch_op:
        batch_op.drop_column('lending_unit_ids')
    with op.batch_alter_table('expert', schema=None) as batch_op:
        batch_op.drop_column('extension_reminded_for')
        batch_op.drop_column('extended_until')
