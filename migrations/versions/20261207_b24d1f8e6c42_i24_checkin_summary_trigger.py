"""check-in summary kept by the database: a trigger on every check-in row
inserted, whoever inserts it (issue #24: one statement a check-in fewer)

Revision ID: b24d1f8e6c42
Revises: a24c0e7d5b31
Create Date: 2026-12-07 09:15:00
"""
from __future__ import annotations

from alembic import op

revision = 'b24d1f8e6c42'
down_revision = 'a24c0e7d5b31'
branch_labels = None
depends_on = None

# The later time wins: a check-in stored out of order (a phone's queue
# sending an older one) does not move the last check-in back.
UPSERT = ("INSERT INTO checkin_summaries (user_id, organisation_id, last_at, count) "
          "VALUES (NEW.user_id, NEW.organisation_id, NEW.created_at, 1) "
          "ON CONFLICT (user_id) DO UPDATE SET count = checkin_summaries.count + 1, "
          "last_at = {later}(checkin_summaries.last_at, excluded.last_at)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE OR REPLACE FUNCTION checkin_summary() RETURNS trigger "
                   f"LANGUAGE plpgsql AS $$ BEGIN {UPSERT.format(later='GREATEST')}; "
                   "RETURN NULL; END $$")
        op.execute("CREATE TRIGGER checkin_summary AFTER INSERT ON checkins "
                   "FOR EACH ROW EXECUTE FUNCTION checkin_summary()")
    else:
        op.execute("CREATE TRIGGER checkin_summary AFTER INSERT ON checkins BEGIN "
                   f"{UPSERT.format(later='max')}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS checkin_summary ON checkins")
        op.execute("DROP FUNCTION IF EXISTS checkin_summary()")
    else:
        op.execute("DROP TRIGGER IF EXISTS checkin_summary")
