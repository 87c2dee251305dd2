"""the risk check before and after return (issue #22)

Revision ID: 7c21530d553d
Revises: 99461c09b269
Create Date: 2026-12-06 19:37:06
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = '7c21530d553d'
down_revision = '99461c09b269'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'risk_checks',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('phase', sa.String(length=8), nullable=False),
        sa.Column('instrument_id', sa.String(length=64), nullable=False),
        sa.Column('instrument_version', sa.Integer(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('levels', sa.JSON(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_risk_checks_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_risk_checks_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_risk_checks_returnee_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_checks')),
    )
    with op.batch_alter_table('risk_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_checks_organisation_id'), ['organisation_id'],
                              unique=False)
        batch_op.create_index('ix_risk_checks_returnee_at', ['returnee_id', 'created_at'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('risk_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_risk_checks_returnee_at')
        batch_op.drop_index(batch_op.f('ix_risk_checks_organisation_id'))
    op.drop_table('risk_checks')
