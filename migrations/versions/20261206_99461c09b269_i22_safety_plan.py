"""the safety plan made together (issue #22): its versions, and each time the
person said "I need to use it"

Revision ID: 99461c09b269
Revises: 81bf6b10bad6
Create Date: 2026-12-06 19:32:17
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = '99461c09b269'
down_revision = '81bf6b10bad6'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'safety_plan_uses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_safety_plan_uses_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_safety_plan_uses_returnee_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_plan_uses')),
    )
    with op.batch_alter_table('safety_plan_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_plan_uses_returnee_id'), ['returnee_id'],
                              unique=False)

    op.create_table(
        'safety_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('returnee_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('warning_signs', sa.Text(), nullable=False),
        sa.Column('contacts', sa.Text(), nullable=False),
        sa.Column('safe_places', sa.Text(), nullable=False),
        sa.Column('what_to_do', sa.Text(), nullable=False),
        sa.Column('place_ids', sa.JSON(), nullable=False),
        sa.Column('written_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', webapp.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'],
                                name=op.f('fk_safety_plans_organisation_id_organisations')),
        sa.ForeignKeyConstraint(['returnee_id'], ['users.id'],
                                name=op.f('fk_safety_plans_returnee_id_users')),
        sa.ForeignKeyConstraint(['written_by_id'], ['users.id'],
                                name=op.f('fk_safety_plans_written_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_plans')),
        sa.UniqueConstraint('returnee_id', 'version', name='uq_safety_plans_returnee_version'),
    )


def downgrade() -> None:
    op.drop_table('safety_plans')
    with op.batch_alter_table('safety_plan_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_plan_uses_returnee_id'))
    op.drop_table('safety_plan_uses')
