"""caseload per person: their follow-ups and reintegration checks in one
row, kept on write, so the caseload needs no window over
the checks (issues #24, #26)

Revision ID: e26d4a3b6c10
Revises: 37a3520ded80
Create Date: 2026-12-06 22:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'e26d4a3b6c10'
down_revision = '37a3520ded80'
branch_labels = None
depends_on = None

# As webapp.monitoring.models.BACKFILL was when this was written.
BACKFILL = (
    "INSERT INTO caseload_summaries (returnee_id, next_due, next_month, followup_done_at, "
    "check_id, score, score_before, score_at) "
    "SELECT u.id, "
    "(SELECT f.due_on FROM followups f WHERE f.returnee_id = u.id AND f.done_at IS NULL "
    " ORDER BY f.due_on, f.month LIMIT 1), "
    "(SELECT f.month FROM followups f WHERE f.returnee_id = u.id AND f.done_at IS NULL "
    " ORDER BY f.due_on, f.month LIMIT 1), "
    "(SELECT max(f.done_at) FROM followups f WHERE f.returnee_id = u.id), "
    "(SELECT c.id FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1), "
    "(SELECT c.composite FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1), "
    "(SELECT c.composite FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1 OFFSET 1), "
    "(SELECT c.created_at FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1) "
    "FROM users u WHERE EXISTS (SELECT 1 FROM followups f WHERE f.returnee_id = u.id) "
    "OR EXISTS (SELECT 1 FROM reintegration_checks c WHERE c.returnee_id = u.id)",
    "UPDATE caseload_summaries SET falling_since = score_at WHERE score < score_before - 0.1",
)


def upgrade() -> None:
    op.create_table(
        'caseload_summaries',
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('next_due', sa.Date(), nullable=True),
        sa.Column('next_month', sa.Integer(), nullable=True),
        sa.Column('followup_done_at', webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('check_id', sa.Integer(), nullable=True),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('score_before', sa.Float(), nullable=True),
        sa.Column('score_at', webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('falling_since', webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_caseload_summaries_returnee_id_users')),
        sa.PrimaryKeyConstraint('returnee_id', name=op.f('pk_caseload_summaries')),
    )
    # Fill it from the follow-ups and checks already stored.
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('caseload_summaries')
