"""PostgreSQL: a check-in's trigger marks the person's caseload place stale
itself, instead of through a second trigger on the summary it writes
(issue #24: about 0.04 ms of the server's time a check-in)

Before, the check-in's trigger wrote the summary, and the summary's own
trigger (the generic `caseload_order_stale`, which reads the person's id
through `to_jsonb` of the old and the new row) marked the place. Now the
check-in's trigger does both, and the summary's trigger fires only for a
write made outside a trigger (`pg_trigger_depth() = 0`): an application's
or an operator's SQL still marks the place; the check-in's trigger, the
only trigger that writes summaries, marks it itself.

SQLite is unchanged: it has no trigger depth, and its check-in is within
its budget with the nested trigger.

Revision ID: d24a6c1e8f03
Revises: c24e5a9d1f07
Create Date: 2026-12-07 13:30:00
"""
from __future__ import annotations

from alembic import op

revision = 'd24a6c1e8f03'
down_revision = 'c24e5a9d1f07'
branch_labels = None
depends_on = None

# As migration b24d1f8e6c42 (the later time wins), plus the mark of
# migration a24c0e7d5b31 (STALE, and a write counted in `version`).
UPSERT = ("INSERT INTO checkin_summaries (user_id, organisation_id, last_at, count) "
          "VALUES (NEW.user_id, NEW.organisation_id, NEW.created_at, 1) "
          "ON CONFLICT (user_id) DO UPDATE SET count = checkin_summaries.count + 1, "
          "last_at = GREATEST(checkin_summaries.last_at, excluded.last_at)")
MARK = ("UPDATE caseload_order SET fresh_until = '0001-01-01 00:00:00+00', "
        "version = version + 1 WHERE returnee_id = NEW.user_id")
SUMMARY_TRIGGER = ("CREATE TRIGGER caseload_order_stale AFTER INSERT OR UPDATE OR DELETE "
                   "ON checkin_summaries FOR EACH ROW {when}"
                   "EXECUTE FUNCTION caseload_order_stale('user_id')")


def _checkin_summary(*statements: str) -> str:
    return ("CREATE OR REPLACE FUNCTION checkin_summary() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN {'; '.join(statements)}; RETURN NULL; END $$")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(_checkin_summary(UPSERT, MARK))
    op.execute("DROP TRIGGER caseload_order_stale ON checkin_summaries")
    op.execute(SUMMARY_TRIGGER.format(when="WHEN (pg_trigger_depth() = 0) "))


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER caseload_order_stale ON checkin_summaries")
    op.execute(SUMMARY_TRIGGER.format(when=""))
    op.execute(_checkin_summary(UPSERT))
