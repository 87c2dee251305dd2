"""instrument versions made in the app by coordinators (issue #26)

Revision ID: d26c3f2e5a99
Revises: c26b2e1d4f88
Create Date: 2026-12-06 20:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'd26c3f2e5a99'
down_revision = 'c26b2e1d4f88'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'instrument_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('instrument_id', sa.String(length=64), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_instrument_versions_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_instrument_versions_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_versions')),
        sa.UniqueConstraint('organisation_id', 'instrument_id', 'version',
                            name=op.f('uq_instrument_versions_organisation_id')),
    )


def downgrade() -> None:
    op.drop_table('instrument_versions')
