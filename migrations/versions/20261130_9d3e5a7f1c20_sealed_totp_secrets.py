"""staff TOTP secrets stored encrypted (webapp/sealed.py)

Revision ID: 9d3e5a7f1c20
Revises: 7c41d9e2b6f3
Create Date: 2026-11-30 22:40:00

Runs with the app's key configured (`flask db upgrade` creates the app):
each stored secret is encrypted on the way up and decrypted on the way down.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from webapp import sealed

revision = '9d3e5a7f1c20'
down_revision = '7c41d9e2b6f3'
branch_labels = None
depends_on = None

USERS = sa.table("users", sa.column("id", sa.Integer), sa.column("totp_secret", sa.String))


def _rewrite(change) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(USERS.c.id, USERS.c.totp_secret)
                        .where(USERS.c.totp_secret.is_not(None))).all()
    for user_id, secret in rows:
        conn.execute(USERS.update().where(USERS.c.id == user_id)
                     .values(totp_secret=change(secret)))


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=64),
                              type_=sa.String(length=255), existing_nullable=True)
    _rewrite(sealed.seal)


def downgrade() -> None:
    _rewrite(sealed.unseal)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('totp_secret', existing_type=sa.String(length=255),
                              type_=sa.String(length=64), existing_nullable=True)
