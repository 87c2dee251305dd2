"""Erasing a person's rows from every table, found from the schema itself.

The foreign keys say what belongs to a person: a row that must name them
(a not-null key to `users`, such as a check-in's `user_id`) is theirs and is
deleted, and so, in turn, is every row that must name a deleted row (the
messages of their support case, the recipients of an alert about them). A row
that only may name them (a nullable key, such as another member's `buddy_id`)
belongs to someone else: the reference is cleared and the row stays.

So a table added later is covered without a change here; `tests/test_privacy.py`
checks that no row names an erased person afterwards.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Table, delete, select, update
from sqlalchemy.orm import Session

from ..db import Base

# Kept: the audit trail (staff actions on accounts, and which staff member
# looked at which kind of record when) holds ids and kinds only, and the
# `users` row it names stays, emptied (see `service.delete_account`): what
# stays is pseudonymous.
KEPT = frozenset({"audit_events", "access_ledger", "users"})


def _key(table: Table):
    (column,) = table.primary_key.columns  # every table has a one-column key
    return column


def owned_rows(session: Session, user_id: int) -> dict[Table, set]:
    """The person's rows, found as `erase_person` finds them: {table: keys}
    (the kept tables aside). Handing a case over (webapp.network) moves some."""
    return _discover(session, user_id)[0]


def _discover(session: Session, user_id: int) -> tuple[dict[Table, set],
                                                         list[tuple[Table, Column[Any], set]]]:
    tables = Base.metadata.sorted_tables  # parents before the tables naming them
    users = Base.metadata.tables["users"]
    doomed: dict[Table, set] = {}
    cleared: list[tuple[Table, Column[Any], set]] = []
    for table in tables:
        if table.name in KEPT:
            continue
        rows: set = set()
        for fk in table.foreign_keys:
            parent = fk.column.table
            ids = {user_id} if parent is users else doomed.get(parent)
            if not ids:
                continue
            if fk.parent.nullable:
                cleared.append((table, fk.parent, ids))
            else:
                rows |= set(session.scalars(select(_key(table)).where(fk.parent.in_(ids))))
        if rows:
            doomed[table] = rows
    return doomed, cleared


def erase_person(session: Session, user_id: int) -> dict[str, int]:
    """Delete every row that belongs to the person and clear every other
    reference to them or to those rows. Returns the rows deleted per table."""
    tables = Base.metadata.sorted_tables
    doomed, cleared = _discover(session, user_id)
    for table, column, ids in cleared:
        session.execute(update(table).where(column.in_(ids)).values({column.name: None}))
    for table in reversed(tables):
        if table in doomed:
            session.execute(delete(table).where(_key(table).in_(doomed[table])))
    return {table.name: len(rows) for table, rows in doomed.items()}
