"""Database engine and the per-request session.

One session per app context; the request edge commits it once (see
`webapp.__init__._commit_at_edge`). Services take the session, flush, and never
commit themselves.
"""
from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import MetaData, Select, create_engine, event, func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


# Statements that need the write lock (SAVEPOINT too: a savepoint must not be
# open when a read transaction is turned into a write transaction).
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")


def _reads_only() -> bool:
    """A request that has only read so far: a GET or HEAD, or any other request
    until its route begins (see `route_begins`)."""
    return has_request_context() and (request.method in ("GET", "HEAD")
                                      or not g.get("db_route_begun"))


def route_begins() -> None:
    """Called once the request knows who is asking (`access.enforce`): from here
    on a form post's reads and writes are one unit, under the write lock on
    SQLite. Looking up the caller's session before this point is only reading."""
    g.db_route_begun = True


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, a busy timeout, and who takes the write lock when.

    pysqlite opens transactions lazily and DEFERRED: a transaction that reads
    and then writes would fail with "database is locked" at once when another
    writer came first (the busy timeout does not apply to a lock upgrade).
    So a transaction that writes takes the write lock when it begins (BEGIN
    IMMEDIATE) and writers wait their turn. Requests begin as readers, which
    WAL lets run beside each other and beside one writer, for as long as they
    only read: a GET or HEAD throughout, any other request while it finds out
    who is asking (the session lookup on every signed-in request). When a
    reader writes, or a form post's route begins, its read transaction ends
    there and a BEGIN IMMEDIATE one starts, so what follows waits its turn
    instead of failing, and everything the route reads and writes is one unit.
    What was read before that point is not repeated: a GET's writes (the
    access ledger, ending an idle session) never depend on it, and the session
    lookup only answers who is asking, as it would have a moment earlier.
    Tasks and commands hold the write lock from their first statement.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        reader = _reads_only()
        conn.info["sqlite_reader"] = reader
        conn.exec_driver_sql("BEGIN DEFERRED" if reader else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if conn.info.get("sqlite_reader") and (
                statement.lstrip()[:9].upper().startswith(_WRITES) or not _reads_only()):
            conn.info["sqlite_reader"] = False
            cursor.execute("COMMIT")  # nothing was written: this ends the read
            cursor.execute("BEGIN IMMEDIATE")


def dialect_insert(dialect: str):
    """`insert` with ON CONFLICT for this dialect (PostgreSQL or SQLite)."""
    return pg_insert if dialect == "postgresql" else sqlite_insert


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {}).update(
            {"check_same_thread": False, "timeout": 10}
        )
    # Error messages and logs never show the values of a statement: they can
    # be a person's report text or phone number.
    kwargs.setdefault("hide_parameters", True)
    if not url.startswith("sqlite"):
        # After a PostgreSQL restart every pooled connection is dead; without a
        # ping on checkout the next request on each one fails with a 500. The
        # ping is one round trip per checkout, on the same machine or LAN.
        kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


class Database:
    """The engine of one app (one per app: tests build several apps)."""

    def __init__(self, app: Flask) -> None:
        self.engine: Engine = make_engine(app.config["DATABASE_URL"])
        # Tests bind sessions to an open connection to roll everything back.
        self.bind_override: Any = None
        app.extensions["footing_db"] = self
        app.teardown_appcontext(self._remove)

    def new_session(self) -> Session:
        if self.bind_override is not None:
            return Session(
                bind=self.bind_override,
                expire_on_commit=False,
                join_transaction_mode="create_savepoint",
            )
        return Session(bind=self.engine, expire_on_commit=False)

    @staticmethod
    def _remove(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_locked(session: Session, model: type, ident: Any, lock: bool = True) -> Any:
    """`session.get`, but when `lock`, read afresh and held until the commit:
    for a read that decides a write another request may race (a count of wrong
    PINs, a code that works once). FOR UPDATE on PostgreSQL; SQLite has no row
    locks, and a form post's route holds the database's write lock already."""
    if not lock:
        return session.get(model, ident)
    # FOR NO KEY UPDATE OF its own table: rows it joins for reading (a user's
    # organisation) stay free, and so do inserts that refer to the row (a
    # foreign key check takes only a key-share lock).
    return session.get(model, ident, with_for_update={"of": model, "key_share": True},
                       populate_existing=True)


@dataclass(frozen=True)
class Page:
    """One page of a long list: `number` counts from 1 and is within 1..pages."""
    number: int
    pages: int
    size: int
    total: int

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


PAGE_SIZE = 50  # rows per page of a staff list


def page_of(total: int, requested: int | None, size: int | None = None) -> Page:
    """The page asked for, moved into range (a made-up or stale page number
    from a link shows the nearest page, not an error). `size`: PAGE_SIZE."""
    size = size or PAGE_SIZE
    pages = max(1, -(-total // size))
    return Page(min(max(requested or 1, 1), pages), pages, size, total)


def paginate(session: Session, query: Select, requested: int | None,
             size: int | None = None, scalars: bool = False) -> tuple[Sequence[Any], Page]:
    """One page of an ordered query's rows (or first column, `scalars`) and
    the Page, in two queries: the count and the page."""
    total = session.scalar(query.with_only_columns(func.count(), maintain_column_froms=True)
                           .order_by(None)) or 0
    shown = page_of(total, requested, size)
    result = session.execute(query.limit(shown.size).offset(shown.offset))
    return (result.scalars().all() if scalars else result.all()), shown


def get_db() -> Database:
    return current_app.extensions["footing_db"]


def db_session() -> Session:
    """The session of the current app context (one per request or task)."""
    if "db_session" not in g:
        g.db_session = get_db().new_session()
    return g.db_session


# --- Backup -----------------------------------------------------------------------

class BackupError(RuntimeError):
    pass


def backup_sqlite(engine: Engine, target: Path) -> int:
    """Copy the embedded SQLite database to `target` while the app runs, and
    return its size in bytes.

    SQLite's online backup reads one snapshot (in WAL, writers go on beside
    it): every committed row, nothing half-written. The copy is one file (no
    WAL beside it), readable by its owner only from its first byte, checked
    with `integrity_check`, and appears under its name only when complete.
    PostgreSQL has pg_dump for this."""
    if engine.dialect.name != "sqlite":
        raise BackupError("This copies the embedded SQLite database. "
                          "For PostgreSQL, use pg_dump.")
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists: choose a new name.")
    partial = target.with_name(target.name + ".partial")
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{partial} exists: another backup is running, or one "
                          "stopped half-way (delete it then).") from None
    try:
        source = engine.raw_connection()
        try:
            copy = sqlite3.connect(partial)
            try:
                # The DBAPI connection under the pool's: sqlite3's (checked above).
                cast(sqlite3.Connection, source.driver_connection).backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")
                check = copy.execute("PRAGMA integrity_check").fetchone()[0]
            finally:
                copy.close()
        finally:
            source.close()
        if check != "ok":
            raise BackupError(f"The copy failed its integrity check: {check}")
        with open(partial, "rb") as written:
            os.fsync(written.fileno())
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return target.stat().st_size
