"""help that never fails (issue #18): a case sent without PIN, when someone
took it on, and the organisation's SMS number

Revision ID: b18c0a11e5f1
Revises: 4e6f0b2c8d15
Create Date: 2026-12-06 19:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import webapp.models

revision = 'b18c0a11e5f1'
down_revision = '4e6f0b2c8d15'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('support_cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('without_pin', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('on_it_at', webapp.models.UTCDateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sms_phone', sa.String(length=32), nullable=False,
                                      server_default=''))


def downgrade() -> None:
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_column('sms_phone')
    with op.batch_alter_table('support_cases', schema=None) as batch_op:
        batch_op.drop_column('on_it_at')
        batch_op.drop_column('without_pin')
