"""SQLite: marking a caseload place stale that is stale already no longer
rewrites its `fresh_until` index entry (issue #24: one page of the seven a
check-in wrote)

SQLite rewrites the index entries of every indexed column an UPDATE sets,
even to the value it had. Every write the caseload is made of marked the
person's place with `fresh_until = STALE, version = version + 1`; the place
is stale already after the first write since the sweep, so the index entry
was written again for nothing. Now the mark is two statements, of which one
matches: a stale place only counts the write (`version`), a fresh one is
made stale. (PostgreSQL compares the values and writes no index entry for
an unchanged one: its triggers stay.)

Revision ID: f24c8e3a1b25
Revises: e24b7d2f9a14
Create Date: 2026-12-07 15:00:00
"""
from __future__ import annotations

from alembic import op

revision = 'f24c8e3a1b25'
down_revision = 'e24b7d2f9a14'
branch_labels = None
depends_on = None

# As migration a24c0e7d5b31 made them on SQLite.
SOURCES = {
    "caseworker_assignments": "returnee_id",
    "support_cases": "returnee_id",
    "alerts": "returnee_id",
    "checkin_summaries": "user_id",
    "caseload_summaries": "returnee_id",
}
USER_COLUMNS = "display_name, organisation_id, role, disabled_at, created_at"
STALE = "'0001-01-01 00:00:00.000000'"
OLD_MARK = "UPDATE caseload_order SET fresh_until = {stale}, version = version + 1 " \
           "WHERE returnee_id IN ({ids})"
NEW_MARK = ("UPDATE caseload_order SET version = version + 1 "
            "WHERE returnee_id IN ({ids}) AND fresh_until = {stale}; "
            "UPDATE caseload_order SET fresh_until = {stale}, version = version + 1 "
            "WHERE returnee_id IN ({ids}) AND fresh_until <> {stale}")


def _triggers() -> list[tuple[str, str, str]]:
    """(name, when, the ids marked) of every trigger that marks a place."""
    triggers = [("caseload_order_stale_users", f"AFTER UPDATE OF {USER_COLUMNS} ON users",
                 "NEW.id")]
    for table, column in SOURCES.items():
        for event, ids in (("INSERT", f"NEW.{column}"), ("UPDATE", f"NEW.{column}, OLD.{column}"),
                           ("DELETE", f"OLD.{column}")):
            triggers.append((f"caseload_order_stale_{table}_{event.lower()}",
                             f"AFTER {event} ON {table}", ids))
    return triggers


def _make(mark: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, when, ids in _triggers():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN "
                   f"{mark.format(ids=ids, stale=STALE)}; END")


def upgrade() -> None:
    _make(NEW_MARK)


def downgrade() -> None:
    _make(OLD_MARK)
