"""Who follows whom: a returnee's caseworker."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow


class CaseworkerAssignment(Base):
    """Which caseworker follows a returnee; the open row is the current one."""

    __tablename__ = "caseworker_assignments"
    __table_args__ = (
        Index(
            "uq_caseworker_assignments_current",
            "returnee_id",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    caseworker_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    caseworker: Mapped[User] = relationship(foreign_keys=[caseworker_id])
    returnee: Mapped[User] = relationship(foreign_keys=[returnee_id])


class ReportingProfile(Base):
    """What a funder's report breaks figures down by, for one returnee:
    optional, kept only with the person's agreement, and minimal (bands and
    keys, no free text). The date of return is the account's `return_date`.
    Erased with the account (a not-null key to the person)."""

    __tablename__ = "reporting_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    sex: Mapped[str | None] = mapped_column(String(8))
    age_band: Mapped[str | None] = mapped_column(String(8))
    country: Mapped[str | None] = mapped_column(String(2))  # ISO 3166 alpha-2
    return_kind: Mapped[str | None] = mapped_column(String(16))
    household_size: Mapped[int | None] = mapped_column(Integer)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
