"""check-ins no longer lock their organisation's row: the foreign key of
`checkins.organisation_id` is dropped (issue #24)

A foreign key check takes a FOR KEY SHARE lock on the row it points to. Every
check-in pointed at its organisation's one row, so concurrent check-ins of
one organisation shared that lock, and PostgreSQL made a MultiXact for
about every second one of them with only two writers of different people
(none without the key; counted in a throwaway measurement, issue #24's
closing note). MultiXacts are written to their own store and must be
vacuumed away before they wrap around; at national scale thousands of
people share that row. (The server time it saves per check-in was within
the noise of that measurement.)

What the key guarded is kept otherwise: the column is always copied from
the person's own row (`users.organisation_id`, itself a foreign key), and
organisations are never deleted. Which organisation sees a check-in was
never the key's to guard: it only refused ids that do not exist.
`checkins.user_id` keeps its key: it locks only the person's own row, and
it keeps an erasure from leaving a person's check-ins behind.

On SQLite the table is copied (batch), which drops its triggers: the
check-in summary's trigger (migration b24d1f8e6c42) is made again.

Revision ID: e24b7d2f9a14
Revises: d24a6c1e8f03
Create Date: 2026-12-07 14:00:00
"""
from __future__ import annotations

from alembic import op

revision = 'e24b7d2f9a14'
down_revision = 'd24a6c1e8f03'
branch_labels = None
depends_on = None

KEY = 'fk_checkins_organisation_id_organisations'
# Migration b24d1f8e6c42's trigger, as SQLite has it.
SQLITE_SUMMARY = (
    "CREATE TRIGGER checkin_summary AFTER INSERT ON checkins BEGIN "
    "INSERT INTO checkin_summaries (user_id, organisation_id, last_at, count) "
    "VALUES (NEW.user_id, NEW.organisation_id, NEW.created_at, 1) "
    "ON CONFLICT (user_id) DO UPDATE SET count = checkin_summaries.count + 1, "
    "last_at = max(checkin_summaries.last_at, excluded.last_at); END")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(KEY, 'checkins', type_='foreignkey')
        return
    with op.batch_alter_table('checkins', recreate='always') as batch_op:
        batch_op.drop_constraint(KEY, type_='foreignkey')
    op.execute(SQLITE_SUMMARY)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_foreign_key(KEY, 'checkins', 'organisations', ['organisation_id'], ['id'])
        return
    with op.batch_alter_table('checkins', recreate='always') as batch_op:
        batch_op.create_foreign_key(KEY, 'organisations', ['organisation_id'], ['id'])
    op.execute(SQLITE_SUMMARY)
