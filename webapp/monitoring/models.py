"""Follow-ups after return and reintegration checks (issue #7)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..models import UTCDateTime, utcnow

CONTACTS = ("visit", "phone", "none")


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
