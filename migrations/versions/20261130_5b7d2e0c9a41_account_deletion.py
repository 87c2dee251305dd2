"""account deletion: when a returnee asked, and when it was done

Revision ID: 5b7d2e0c9a41
Revises: 03331bcddd6f
Create Date: 2026-11-30 21:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = '5b7d2e0c9a41'
down_revision = '03331bcddd6f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('deletion_requested_at',
                                      webapp.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deleted_at', webapp.models.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('deleted_at')
        batch_op.drop_column('deletion_requested_at')
