"""lessons learnt at case close and aftercare close (issue #26)

Revision ID: c26b2e1d4f88
Revises: b26a1f0c3d77
Create Date: 2026-12-06 19:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'c26b2e1d4f88'
down_revision = 'b26a1f0c3d77'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'lessons_learnt',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('scope', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=24), nullable=True),
        sa.Column('helped', sa.Text(), nullable=False),
        sa.Column('missing', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_lessons_learnt_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_lessons_learnt_returnee_id_users')),
        sa.ForeignKeyConstraint(['case_id'], ['support_cases.id'],
                                name=op.f('fk_lessons_learnt_case_id_support_cases')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'],
                                name=op.f('fk_lessons_learnt_author_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lessons_learnt')),
    )
    with op.batch_alter_table('lessons_learnt', schema=None) as batch_op:
        batch_op.create_index('ix_lessons_learnt_org_at', ['organisation_id', 'created_at'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_lessons_learnt_returnee_id'), ['returnee_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('lessons_learnt', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lessons_learnt_returnee_id'))
        batch_op.drop_index('ix_lessons_learnt_org_at')
    op.drop_table('lessons_learnt')
