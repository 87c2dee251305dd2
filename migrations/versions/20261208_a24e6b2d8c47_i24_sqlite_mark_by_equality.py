"""SQLite: the triggers that mark a caseload place stale find it by
`returnee_id = id`, not `returnee_id IN (ids)` (issue #24: a check-in's row
costs SQLite about 90 µs instead of 106)

Inside a trigger, SQLite runs `IN (NEW.x, OLD.x)` (and even `IN (NEW.x)`)
through a temporary list on every firing; with equality the place is found
by its primary key. `make bench-hot` ("SQLite's own work per row") sends a
check-in's INSERT straight to SQLite: 106 µs before, 90 after (minimums of
8 runs of 500; a bare row: 20). An UPDATE trigger marks the new id; a
trigger of its own marks the old one only when the row moved to another
person (`WHEN OLD.x IS NOT NEW.x`), which no write the caseload is made of
does today. What is marked, and how often `version` counts, is unchanged.
(PostgreSQL's triggers are functions and stay.)

Revision ID: a24e6b2d8c47
Revises: f24c8e3a1b25
Create Date: 2026-12-08 02:00:00
"""
from __future__ import annotations

from alembic import op

revision = 'a24e6b2d8c47'
down_revision = 'f24c8e3a1b25'
branch_labels = None
depends_on = None

# As migration f24c8e3a1b25 left them on SQLite.
SOURCES = {
    "caseworker_assignments": "returnee_id",
    "support_cases": "returnee_id",
    "alerts": "returnee_id",
    "checkin_summaries": "user_id",
    "caseload_summaries": "returnee_id",
}
USER_COLUMNS = "display_name, organisation_id, role, disabled_at, created_at"
USERS = ("caseload_order_stale_users", f"AFTER UPDATE OF {USER_COLUMNS} ON users")
STALE = "'0001-01-01 00:00:00.000000'"
# A stale place only counts the write; a fresh one is made stale (f24c8e3a1b25).
MARK_ONE = ("UPDATE caseload_order SET version = version + 1 "
            "WHERE returnee_id = {id} AND fresh_until = {stale}; "
            "UPDATE caseload_order SET fresh_until = {stale}, version = version + 1 "
            "WHERE returnee_id = {id} AND fresh_until <> {stale}")
MARK_LIST = ("UPDATE caseload_order SET version = version + 1 "
             "WHERE returnee_id IN ({ids}) AND fresh_until = {stale}; "
             "UPDATE caseload_order SET fresh_until = {stale}, version = version + 1 "
             "WHERE returnee_id IN ({ids}) AND fresh_until <> {stale}")


def _create(name: str, when: str, marks: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"CREATE TRIGGER {name} {when} BEGIN {marks}; END")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _create(*USERS, MARK_ONE.format(id="NEW.id", stale=STALE))  # an account's id never changes
    for table, column in SOURCES.items():
        name = f"caseload_order_stale_{table}"
        for event, row in (("insert", "NEW"), ("update", "NEW"), ("delete", "OLD")):
            _create(f"{name}_{event}", f"AFTER {event.upper()} ON {table}",
                    MARK_ONE.format(id=f"{row}.{column}", stale=STALE))
        _create(f"{name}_moved", f"AFTER UPDATE ON {table} "
                f"WHEN OLD.{column} IS NOT NEW.{column}",
                MARK_ONE.format(id=f"OLD.{column}", stale=STALE))


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _create(*USERS, MARK_LIST.format(ids="NEW.id", stale=STALE))
    for table, column in SOURCES.items():
        name = f"caseload_order_stale_{table}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}_moved")
        for event, ids in (("insert", f"NEW.{column}"), ("update", f"NEW.{column}, OLD.{column}"),
                           ("delete", f"OLD.{column}")):
            _create(f"{name}_{event}", f"AFTER {event.upper()} ON {table}",
                    MARK_LIST.format(ids=ids, stale=STALE))
