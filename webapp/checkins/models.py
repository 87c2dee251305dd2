"""Check-ins (issue #4): how a returnee is doing, and the gaps when they go quiet."""
from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    insert,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import Base
from ..models import UTCDateTime, utcnow

# The five quick questions, in the order the form asks them.
QUESTIONS = ("income", "shelter", "medicine", "safe", "someone")
ANSWERS = ("yes", "partly", "no")


class CheckIn(Base):
    __tablename__ = "checkins"
    __table_args__ = (
        Index("ix_checkins_user_created", "user_id", "created_at"),
        # The overview's weekly check-in rate reads eight weeks of one
        # organisation from this index alone (not a scan of every check-in).
        Index("ix_checkins_org_created", "organisation_id", "created_at", "user_id"),
        # The row is its own exactly-once claim (webapp/submissions.py
        # `insert_once`): a device's UUID stores one check-in per person.
        Index("uq_checkins_user_client_uuid", "user_id", "client_uuid", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The person's organisation when they checked in (copied from their row).
    # No foreign key: its check would lock the organisation's one row for
    # every check-in (migration e24b7d2f9a14 says why).
    organisation_id: Mapped[int] = mapped_column(Integer)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    mood: Mapped[int] = mapped_column(Integer)  # 1 (very bad) .. 5 (very good)
    # Each quick answer is "yes", "partly", "no", or None when left out.
    income: Mapped[str | None] = mapped_column(String(8))
    shelter: Mapped[str | None] = mapped_column(String(8))
    medicine: Mapped[str | None] = mapped_column(String(8))
    safe: Mapped[str | None] = mapped_column(String(8))
    someone: Mapped[str | None] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(500), default="")
    # False: the caseworker only. True: also the person's groups (mood and note).
    share_with_group: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The UUID the device gave the form; None for rows not sent from a form
    # (demo data, a restore's script).
    client_uuid: Mapped[str | None] = mapped_column(String(36))


class CheckInSummary(Base):
    """Per returnee: when they last checked in, and how often. Kept in step with
    every check-in row inserted, by the database (the trigger of migration
    b24d1f8e6c42: whoever inserts, the later time wins), so the caseload and
    the no-contact job read one row per person instead of searching a million
    check-ins (DESIGN.md §5 budget)."""

    __tablename__ = "checkin_summaries"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    count: Mapped[int] = mapped_column(Integer, default=0)


class NoContactGap(Base):
    """A gap the no-contact job has signalled, so each gap is signalled once.

    A gap is named by the moment the silence began (`since`: the last check-in,
    or the activation when there was none); a new check-in starts a new one."""

    __tablename__ = "checkin_no_contact_gaps"
    __table_args__ = (UniqueConstraint("user_id", "since"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    signal_id: Mapped[int] = mapped_column(ForeignKey("signals.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


CHECKINS = cast(Table, CheckIn.__table__)  # typed FromClause; a mapped class's is a Table
_INSERT = insert(CHECKINS).returning(CHECKINS.c.id)


def add_checkin(session: Session, **values: Any) -> int:
    """One check-in row (its summary is the database's trigger): one Core
    statement, with no ORM object to track and flush (issue #24: the
    check-in is the busiest post). `values` are the columns but `id`;
    `created_at` defaults to now."""
    values.setdefault("created_at", utcnow())
    connection = session.connection()  # its statements skip the ORM session's machinery
    checkin_id: int = connection.execute(_INSERT, values).scalar_one()
    return checkin_id
