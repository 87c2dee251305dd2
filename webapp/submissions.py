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
"""
from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, cast

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
          body: dict[str, Any], result_url: str | None = None) -> Claim:
    """Claim the UUID for this body, or find the earlier identical submission.
    `result_url`, when already known, saves the `done()` call.

    One statement inserts the row unless the UUID is taken: of two concurrent
    requests with the same UUID one inserts, the other waits on the unique
    index, inserts nothing, and then reads the winner's row."""
    client_uuid = normalise_uuid(raw_uuid)
    digest = body_digest(kind, body)
    connection = session.connection()  # a Core statement: no need of the ORM session's machinery
    new_id = connection.execute(_claim_insert(connection.dialect.name), {
        "user_id": user.id, "client_uuid": client_uuid, "kind": kind, "body_digest": digest,
        "result_url": result_url, "created_at": utcnow()}).scalar()
    if new_id is not None:
        return Claim(session, new_id, repeat=False, result_url=result_url)
    existing = _find(session, user, client_uuid)
    assert existing is not None  # the insert found this UUID taken
    if existing.kind != kind or existing.body_digest != digest:
        raise SubmissionConflict(_l("This was already sent with different content. "
                                    "Please start a new form."), field="client_uuid")
    return Claim(session, existing.id, repeat=True, result_url=existing.result_url)


def _find(session: Session, user: User, client_uuid: str) -> ClientSubmission | None:
    return session.scalar(select(ClientSubmission).where(
        ClientSubmission.user_id == user.id, ClientSubmission.client_uuid == client_uuid))
