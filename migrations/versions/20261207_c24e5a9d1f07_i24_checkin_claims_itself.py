"""a check-in is its own exactly-once claim: its device UUID on the row,
unique per person (issue #24: one statement and one table a check-in fewer)

Revision ID: c24e5a9d1f07
Revises: b24d1f8e6c42
Create Date: 2026-12-07 11:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'c24e5a9d1f07'
down_revision = 'b24d1f8e6c42'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN and CREATE INDEX, not a batch: on SQLite a batch
    # copies the table, and the copy would lose the summary trigger.
    # Check-ins claimed before this keep their claims in client_submissions,
    # which the insert still consults (a phone may replay one after the upgrade).
    op.add_column('checkins', sa.Column('client_uuid', sa.String(length=36), nullable=True))
    op.create_index('uq_checkins_user_client_uuid', 'checkins', ['user_id', 'client_uuid'],
                    unique=True)


def downgrade() -> None:
    op.drop_index('uq_checkins_user_client_uuid', table_name='checkins')
    op.drop_column('checkins', 'client_uuid')  # SQLite 3.35 or newer: no copy either
