"""Exactly-once submissions from a returnee's device.

Every check-in, concern and support request form carries a UUID the device
made (a hidden field `client_uuid`; the offline queue keeps it with the item).
The first request with that UUID is stored; a repeat stores nothing new and
answers as the first did; the same UUID with a different body is refused.

    claim = submissions.claim(session, user, form.client_uuid.data, "concern", body)
    if claim.repeat:
        return redirect(claim.result_url)
    report = create_concern(...)
    claim.done(url_for("support.received", concern_id=report.id))

A kind whose whole submission is one row (the check-in) needs no claim of its
own: the row carries the UUID, unique per person, and one statement stores it
or finds the UUID taken (`insert_once`).
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Table, UniqueConstraint, bindparam, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base, dialect_insert
from .errors import DomainError
from .models import User, UTCDateTime, utcnow


class ClientSubmission(Base):
    """A form a returnee's device sent with its own UUID (offline queue, double
    taps, retries): stored once; a repeat answers as the first did."""

    __tablename__ = "client_submissions"
    __table_args__ = (UniqueConstraint("user_id", "client_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_uuid: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    body_digest: Mapped[str] = mapped_column(String(64))
    # Where the first answer pointed (e.g. the "received" page of the report).
    result_url: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubmissionConflict(DomainError):
    status = 409


def normalise_uuid(raw: str | None) -> str:
    try:
        return str(uuid.UUID(str(raw or "").strip()))
    except ValueError:
        raise DomainError(_l("This form is damaged. Please reload the page and try again."),
                          field="client_uuid") from None


def body_digest(kind: str, body: dict[str, Any]) -> str:
    canonical = json.dumps({"kind": kind, "body": body}, sort_keys=True, default=str,
                           ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Claim:
    session: Session
    submission_id: int
    repeat: bool
    result_url: str | None = None

    def done(self, result_url: str) -> None:
        """Where a repeat of this submission will be sent."""
        self.result_url = result_url
        self.session.execute(_SET_RESULT, {"submission": self.submission_id, "url": result_url})


# Built once: on the path of every check-in, concern and request (Core
# statements on the table skip the ORM's bulk machinery; no object is loaded).
_TABLE = cast(Table, ClientSubmission.__table__)  # typed FromClause; a mapped class's is a Table
_SET_RESULT = (update(_TABLE).where(_TABLE.c.id == bindparam("submission"))
               .values(result_url=bindparam("url")))


@cache
def _claim_insert(dialect: str):
    return (dialect_insert(dialect)(_TABLE)
            .on_conflict_do_nothing(index_elements=["user_id", "client_uuid"])
            .returning(_TABLE.c.id))


def claim(session: Session, user: User, raw_uuid: str | None, kind: str,
          body: dict[str, Any]) -> Claim:
    """Claim the UUID for this body, or find the earlier identical submission.

    One statement inserts the row unless the UUID is taken: of two concurrent
    requests with the same UUID one inserts, the other waits on the unique
    index, inserts nothing, and then reads the winner's row."""
    client_uuid = normalise_uuid(raw_uuid)
    digest = body_digest(kind, body)
    connection = session.connection()  # a Core statement: no need of the ORM session's machinery
    new_id = connection.execute(_claim_insert(connection.dialect.name), {
        "user_id": user.id, "client_uuid": client_uuid, "kind": kind, "body_digest": digest,
        "result_url": None, "created_at": utcnow()}).scalar()
    if new_id is not None:
        return Claim(session, new_id, repeat=False)
    existing = _find(session, user, client_uuid)
    assert existing is not None  # the insert found this UUID taken
    if existing.kind != kind or existing.body_digest != digest:
        raise _conflict()
    return Claim(session, existing.id, repeat=True, result_url=existing.result_url)


def _find(session: Session, user: User, client_uuid: str) -> ClientSubmission | None:
    return session.scalar(select(ClientSubmission).where(
        ClientSubmission.user_id == user.id, ClientSubmission.client_uuid == client_uuid))


class Stored(NamedTuple):
    """What `insert_once` did: the row's id, and whether the UUID was already
    taken, so nothing was stored (`id` is then the first row's, or None when
    the first was claimed in client_submissions)."""

    id: int | None
    repeat: bool


@cache
def _insert_once(table: Table, dialect: str):
    """INSERT INTO table (...) SELECT :values WHERE the UUID is not claimed in
    client_submissions, ON CONFLICT (user_id, client_uuid) DO NOTHING."""
    columns = [c for c in table.c if not c.primary_key]
    claimed = select(_TABLE.c.id).where(_TABLE.c.user_id == bindparam("user_id"),
                                        _TABLE.c.client_uuid == bindparam("client_uuid"))
    row = select(*(bindparam(c.name, type_=c.type) for c in columns)).where(~claimed.exists())
    return (dialect_insert(dialect)(table).from_select([c.name for c in columns], row)
            .on_conflict_do_nothing(index_elements=["user_id", "client_uuid"])
            .returning(table.c.id))


def insert_once(session: Session, user: User, raw_uuid: str | None, kind: str,
                body: dict[str, Any], table: Table, values: dict[str, Any],
                same: tuple[str, ...]) -> Stored:
    """Store the row `values` (every column but the id; `user_id` is `user`'s
    and `client_uuid` is set here) once per UUID: the row is its own claim, by
    the table's unique (user_id, client_uuid). A repeat whose columns `same`
    match the first row's stores nothing; one that differs is refused. The
    UUID claimed in client_submissions (by another form, or by this kind
    before its rows kept their UUID) counts as taken too, compared as `claim`
    compares: the same `kind` and `body`.

    Of two concurrent requests with one UUID, the second waits on the unique
    index for the first to commit, inserts nothing, and then reads its row."""
    client_uuid = normalise_uuid(raw_uuid)
    connection = session.connection()
    new_id = connection.execute(_insert_once(table, connection.dialect.name),
                                {**values, "user_id": user.id, "client_uuid": client_uuid}
                                ).scalar()
    if new_id is not None:
        return Stored(new_id, repeat=False)
    first = connection.execute(select(table).where(
        table.c.user_id == user.id, table.c.client_uuid == client_uuid)).first()
    if first is not None:
        if any(first._mapping[name] != values[name] for name in same):
            raise _conflict()
        return Stored(first.id, repeat=True)
    claimed = _find(session, user, client_uuid)
    assert claimed is not None  # the insert found this UUID taken
    if claimed.kind != kind or claimed.body_digest != body_digest(kind, body):
        raise _conflict()
    return Stored(None, repeat=True)


def _conflict() -> SubmissionConflict:
    return SubmissionConflict(_l("This was already sent with different content. "
                                 "Please start a new form."), field="client_uuid")
