"""check-ins indexed by organisation and time (the overview's weekly rate)

Replaces the index on organisation_id alone, which the new one also serves.

Revision ID: 4e6f0b2c8d15
Revises: 9d3e5a7f1c20
Create Date: 2026-12-01 05:30:00
"""
from __future__ import annotations

from alembic import op

revision = '4e6f0b2c8d15'
down_revision = '9d3e5a7f1c20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_org_created',
                              ['organisation_id', 'created_at', 'user_id'], unique=False)
        batch_op.drop_index('ix_checkins_organisation_id')


def downgrade() -> None:
    with op.batch_alter_table('checkins', schema=None) as batch_op:
        batch_op.create_index('ix_checkins_organisation_id', ['organisation_id'], unique=False)
        batch_op.drop_index('ix_checkins_org_created')
