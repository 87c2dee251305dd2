"""a meeting can be called off

Revision ID: 7c41d9e2b6f3
Revises: 5b7d2e0c9a41
Create Date: 2026-11-30 21:50:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = '7c41d9e2b6f3'
down_revision = '5b7d2e0c9a41'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('group_meetings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cancelled_at', webapp.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('group_meetings', schema=None) as batch_op:
        batch_op.drop_column('cancelled_at')
