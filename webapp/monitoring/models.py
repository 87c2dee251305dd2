"""Follow-ups after return and reintegration checks (issue #7)."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from typing import cast

from sqlalchemy import (
    JSON,
    Connection,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    select,
    text,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..db import Base, dialect_insert
from ..models import UTCDateTime, utcnow

CONTACTS = ("visit", "phone", "none")
SCORE_FALL = 0.1  # the latest composite this much below the one before: "falling score"


class FollowUp(Base):
    """A follow-up due `month` months after the return date. A row exists once
    it was scheduled (the periodic job) or recorded; `done_at` is set when the
    caseworker recorded the contact."""

    __tablename__ = "followups"
    __table_args__ = (
        UniqueConstraint("returnee_id", "month"),
        Index("ix_followups_open", "organisation_id", "done_at", "due_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    month: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact: Mapped[str | None] = mapped_column(String(8))  # visit | phone | none
    outcome: Mapped[str | None] = mapped_column(String(24))
    # Staff only; never exported.
    note: Mapped[str] = mapped_column(Text, default="")
    # The followup.overdue signal, once per follow-up.
    overdue_signal_id: Mapped[int | None] = mapped_column(ForeignKey("signals.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def is_done(self) -> bool:
        return self.done_at is not None


class ReintegrationCheck(Base):
    """One answer set of a reintegration check, with the scores it got from
    the instrument version named here (scores are never recomputed with
    another version)."""

    __tablename__ = "reintegration_checks"
    __table_args__ = (Index("ix_reintegration_checks_returnee_at", "returnee_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id"), index=True)
    instrument_id: Mapped[str] = mapped_column(String(64))
    instrument_version: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, str]] = mapped_column(JSON)  # question id -> option key
    economic: Mapped[float] = mapped_column(Float)
    social: Mapped[float] = mapped_column(Float)
    psychosocial: Mapped[float] = mapped_column(Float)
    composite: Mapped[float] = mapped_column(Float)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


LESSON_SCOPES = ("case", "aftercare")
LESSON_MAX = 1000


class Lesson(Base):
    """What was learnt when a case or a person's aftercare was closed: the
    outcome, what helped and what was missing. Staff only (not in the
    person's own file); pseudonymous in the export; erased with the person."""

    __tablename__ = "lessons_learnt"
    __table_args__ = (Index("ix_lessons_learnt_org_at", "organisation_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("support_cases.id"))
    scope: Mapped[str] = mapped_column(String(16))  # case | aftercare
    outcome: Mapped[str | None] = mapped_column(String(24))
    helped: Mapped[str] = mapped_column(Text, default="")
    missing: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InstrumentVersion(Base):
    """A version of a check instrument a coordinator made in the app, for
    their organisation: the same data as a file in webapp/instruments/,
    validated the same way. Checks name the version they were scored with,
    so a new one never changes answers already given."""

    __tablename__ = "instrument_versions"
    __table_args__ = (UniqueConstraint("organisation_id", "instrument_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    instrument_id: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSON)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CaseloadSummary(Base):
    """Per returnee: what the caseload needs of their follow-ups and
    reintegration checks, so that it reads one row per person instead of
    grouping every follow-up and ranking every check (issue #24: a window
    function over the checks doubled the caseload's time).

    Kept in step in the same transaction as every follow-up or check written,
    changed or deleted through the ORM (`_keep_summaries` below); the bulk
    writers call `refresh_summaries` themselves (`schedule_all` after the
    organisation's months changed). No organisation column: the rows it sums
    move with the person on a handover, and the caseload filters on the
    account. Erased with the person (a not-null key to them)."""

    __tablename__ = "caseload_summaries"

    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    # The earliest follow-up not recorded (its date and month), the latest recorded.
    next_due: Mapped[date | None] = mapped_column(Date)
    next_month: Mapped[int | None] = mapped_column(Integer)
    followup_done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest check (its id: no key, it goes with the person), its score
    # and time, the score of the one before; when the latest fell by more
    # than SCORE_FALL against it, since when (the latest's time), else None.
    check_id: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    score_before: Mapped[float | None] = mapped_column(Float)
    score_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    falling_since: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseloadOrder(Base):
    """Per person: where they stand in the caseload's order (issue #24: at
    100,000 people, computing every person's reasons at each reading took
    400 ms; read from here in index order, a page stops after its rows).

    A copy, exact while fresh: computed by the sweep
    (`service.refresh_caseload_order`) at `fresh_from`, valid until
    `fresh_until`, the first instant a reason starts by the passage of time
    alone (a follow-up falls overdue, a silence reaches NO_CONTACT_DAYS).
    Every write to what the order is made of (the person, their assignment,
    cases, alerts, check-ins, follow-ups and checks) makes the row stale
    at once: database triggers (migration a24c0e7d5b31) set `fresh_until`
    to STALE and count `version` up, whoever writes, ORM, Core or SQL. The
    caseload computes stale rows as before, so a stale row is slower, never
    wrong. A row for every account (staff rows stay out of every caseload:
    `organisation_id` is None for whoever is in none)."""

    __tablename__ = "caseload_order"
    __table_args__ = (
        Index("ix_caseload_order_organisation", "organisation_id", "attention", "oldest", "worst",
              "name", "returnee_id"),
        Index("ix_caseload_order_caseworker", "caseworker_id", "attention", "oldest", "worst",
              "name", "returnee_id"),
        Index("ix_caseload_order_fresh_until", "fresh_until"),
        Index("ix_caseload_order_fresh_from", "fresh_from"),
    )

    # Goes with the account, however it is deleted (a copy of what is elsewhere).
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                             primary_key=True)
    # Copies of the person's organisation and caseworker while in a caseload.
    organisation_id: Mapped[int | None] = mapped_column(Integer)
    caseworker_id: Mapped[int | None] = mapped_column(Integer)
    # The caseload's sort key: attention (0 urgent, 1 a look, 2 fine), the
    # oldest reason's start, the worst open priority (99: none), the name.
    attention: Mapped[int] = mapped_column(Integer, default=2)
    oldest: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worst: Mapped[int] = mapped_column(Integer, default=99)
    name: Mapped[str] = mapped_column(String(100), default="")
    # What the filters for a reason that starts with time compare with the
    # time of reading: the last contact, the earliest follow-up not recorded.
    last_contact: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due: Mapped[date | None] = mapped_column(Date)
    fresh_from: Mapped[datetime] = mapped_column(UTCDateTime)
    fresh_until: Mapped[datetime] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=0)


# `fresh_until` of a place a write made stale (the value the triggers set).
STALE = datetime(1, 1, 1, tzinfo=UTC)


SUMMARY_CHUNK = 500  # people per statement (SQLite's limit on bound values)


@cache
def _summary_upsert(dialect: str):
    table = CaseloadSummary.__table__
    stmt = dialect_insert(dialect)(table)
    return stmt.on_conflict_do_update(index_elements=[table.c.returnee_id], set_={
        c.name: stmt.excluded[c.name] for c in table.c if c.name != "returnee_id"})


def refresh_summaries(connection: Connection, returnee_ids: Iterable[int]) -> int:
    """Compute the summaries of these people again from their follow-ups and
    checks: two reads and one upsert per SUMMARY_CHUNK people. Returns how
    many were written."""
    ids = sorted(set(returnee_ids))
    followups, checks = FollowUp.__table__, ReintegrationCheck.__table__
    upsert = _summary_upsert(connection.dialect.name)
    for start in range(0, len(ids), SUMMARY_CHUNK):
        chunk = ids[start:start + SUMMARY_CHUNK]
        rows: dict[int, dict] = {rid: dict(
            returnee_id=rid, next_due=None, next_month=None, followup_done_at=None,
            check_id=None, score=None, score_before=None, score_at=None, falling_since=None)
            for rid in chunk}
        for rid, month, due, done in cast(Iterable[tuple[int, int, date, datetime | None]],
                                           connection.execute(
                select(followups.c.returnee_id, followups.c.month, followups.c.due_on,
                       followups.c.done_at).where(followups.c.returnee_id.in_(chunk)))):
            row = rows[rid]
            if done is None:
                if row["next_due"] is None or (due, month) < (row["next_due"], row["next_month"]):
                    row["next_due"], row["next_month"] = due, month
            elif row["followup_done_at"] is None or done > row["followup_done_at"]:
                row["followup_done_at"] = done
        seen: dict[int, int] = {}
        for rid, check_id, composite, at in cast(Iterable[tuple[int, int, float, datetime]],
                                                 connection.execute(
                select(checks.c.returnee_id, checks.c.id, checks.c.composite,
                       checks.c.created_at).where(checks.c.returnee_id.in_(chunk))
                .order_by(checks.c.returnee_id, checks.c.created_at.desc(),
                          checks.c.id.desc()))):
            n = seen[rid] = seen.get(rid, 0) + 1
            row = rows[rid]
            if n == 1:
                row.update(check_id=check_id, score=composite, score_at=at)
            elif n == 2:
                row["score_before"] = composite
                if row["score"] < composite - SCORE_FALL:
                    row["falling_since"] = row["score_at"]
        connection.execute(upsert, list(rows.values()))
    return len(ids)


def backfill_summaries(connection: Connection) -> None:
    """Every returnee's summary from scratch, in SQL (the migration's and the
    benchmark's way: their rows are not written through the ORM)."""
    for statement in BACKFILL:
        connection.execute(text(statement))


# Also the migration's (kept as it was then): the same as `refresh_summaries`.
BACKFILL = (
    "DELETE FROM caseload_summaries",
    "INSERT INTO caseload_summaries (returnee_id, next_due, next_month, followup_done_at, "
    "check_id, score, score_before, score_at) "
    "SELECT u.id, "
    "(SELECT f.due_on FROM followups f WHERE f.returnee_id = u.id AND f.done_at IS NULL "
    " ORDER BY f.due_on, f.month LIMIT 1), "
    "(SELECT f.month FROM followups f WHERE f.returnee_id = u.id AND f.done_at IS NULL "
    " ORDER BY f.due_on, f.month LIMIT 1), "
    "(SELECT max(f.done_at) FROM followups f WHERE f.returnee_id = u.id), "
    "(SELECT c.id FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1), "
    "(SELECT c.composite FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1), "
    "(SELECT c.composite FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1 OFFSET 1), "
    "(SELECT c.created_at FROM reintegration_checks c WHERE c.returnee_id = u.id "
    " ORDER BY c.created_at DESC, c.id DESC LIMIT 1) "
    "FROM users u WHERE EXISTS (SELECT 1 FROM followups f WHERE f.returnee_id = u.id) "
    "OR EXISTS (SELECT 1 FROM reintegration_checks c WHERE c.returnee_id = u.id)",
    f"UPDATE caseload_summaries SET falling_since = score_at "
    f"WHERE score < score_before - {SCORE_FALL}",
)


@event.listens_for(Session, "after_flush")
def _keep_summaries(session: Session, _context) -> None:
    """After every flush that wrote, changed or deleted a follow-up or a
    check: those people's summaries, in the same transaction."""
    touched = {obj.returnee_id for obj in (*session.new, *session.dirty, *session.deleted)
               if isinstance(obj, (FollowUp, ReintegrationCheck))}
    if touched:
        refresh_summaries(session.connection(), touched)
