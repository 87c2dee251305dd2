"""the directory of local services (issue #22): places, returnees' word on
them, and the organisation's "check due" limit

Revision ID: 81bf6b10bad6
Revises: b18c0a11e5f1
Create Date: 2026-12-06 19:20:13
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = '81bf6b10bad6'
down_revision = 'b18c0a11e5f1'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'directory_places',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('town', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=300), nullable=False),
        sa.Column('directions', sa.String(length=500), nullable=False),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
        sa.Column('hours', sa.String(length=200), nullable=False),
        sa.Column('phone', sa.String(length=32), nullable=False),
        sa.Column('cost', sa.String(length=8), nullable=False),
        sa.Column('languages', sa.String(length=200), nullable=False),
        sa.Column('who', sa.String(length=300), nullable=False),
        sa.Column('medicines', sa.Text(), nullable=False),
        sa.Column('last_checked_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_checked_by_id', sa.Integer(), nullable=True),
        sa.Column('last_check', sa.String(length=16), nullable=False),
        sa.Column('retired_at', webapp.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['last_checked_by_id'], ['users.id'],
                                name=op.f('fk_directory_places_last_checked_by_id_users')),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_directory_places_organisation_id_organisations')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_places')),
    )
    with op.batch_alter_table('directory_places', schema=None) as batch_op:
        batch_op.create_index('ix_directory_places_org_checked',
                              ['organisation_id', 'last_checked_at'], unique=False)
        batch_op.create_index('ix_directory_places_org_kind',
                              ['organisation_id', 'kind', 'town'], unique=False)

    op.create_table(
        'directory_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('place_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_directory_feedback_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['place_id'], ['directory_places.id'],
                                name=op.f('fk_directory_feedback_place_id_directory_places')),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_directory_feedback_returnee_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_feedback')),
    )
    with op.batch_alter_table('directory_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_directory_feedback_place', ['place_id', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_directory_feedback_returnee_id'), ['returnee_id'],
                              unique=False)

    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('directory_check_days', sa.Integer(),
                                      server_default=sa.text('180'), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('directory_check_days')

    with op.batch_alter_table('directory_feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_feedback_returnee_id'))
        batch_op.drop_index('ix_directory_feedback_place')
    op.drop_table('directory_feedback')

    with op.batch_alter_table('directory_places', schema=None) as batch_op:
        batch_op.drop_index('ix_directory_places_org_kind')
        batch_op.drop_index('ix_directory_places_org_checked')
    op.drop_table('directory_places')
