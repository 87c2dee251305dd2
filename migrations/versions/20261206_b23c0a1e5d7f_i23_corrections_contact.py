"""organisations.corrections_contact: where people send corrections to the
translations (issue #23); the language page shows it.

Revision ID: b23c0a1e5d7f
Revises: 9d2a228130d0
Create Date: 2026-12-06 20:05:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = 'b23c0a1e5d7f'
down_revision = '9d2a228130d0'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('corrections_contact', sa.String(length=200),
                                      nullable=False, server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('corrections_contact')
