"""recorded voice: the organisation's recordings of the key phrases (issue #23)

Revision ID: f1b9a2ed3bb6
Revises: e26d4a3b6c10
Create Date: 2026-12-06 22:15:06.043505
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'f1b9a2ed3bb6'
down_revision = 'e26d4a3b6c10'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'voice_recordings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('language', sa.String(length=16), nullable=False),
        sa.Column('phrase', sa.String(length=48), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('digest', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('audio', sa.LargeBinary(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_voice_recordings_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'],
                                name=op.f('fk_voice_recordings_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_recordings')),
        sa.UniqueConstraint('organisation_id', 'language', 'phrase',
                            name='uq_voice_recordings_phrase'),
    )


def downgrade() -> None:
    op.drop_table('voice_recordings')
