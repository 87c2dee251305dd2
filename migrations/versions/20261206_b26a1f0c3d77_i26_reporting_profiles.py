"""reporting profiles (issue #26): what a funder's report breaks figures down by

Revision ID: b26a1f0c3d77
Revises: b23c0a1e5d7f
Create Date: 2026-12-06 19:35:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'b26a1f0c3d77'
down_revision = 'b23c0a1e5d7f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reporting_profiles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('sex', sa.String(length=8), nullable=True),
        sa.Column('age_band', sa.String(length=8), nullable=True),
        sa.Column('country', sa.String(length=2), nullable=True),
        sa.Column('return_kind', sa.String(length=16), nullable=True),
        sa.Column('household_size', sa.Integer(), nullable=True),
        sa.Column('consented_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_reporting_profiles_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_reporting_profiles_returnee_id_users')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_reporting_profiles_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_profiles')),
        sa.UniqueConstraint('returnee_id', name=op.f('uq_reporting_profiles_returnee_id')),
    )
    with op.batch_alter_table('reporting_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_profiles_organisation_id'),
                              ['organisation_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reporting_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reporting_profiles_organisation_id'))
    op.drop_table('reporting_profiles')
