"""What a person agreed to, and who looked at their information."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow


class ConsentRecord(Base):
    """What a person agreed to share, with which version of the text. Never edited:
    a change adds a row."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    version: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    choices: Mapped[dict[str, bool]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccessLedgerEntry(Base):
    """A staff member looked at a returnee's information. The returnee can read
    these ("who looked at my information, and when")."""

    __tablename__ = "access_ledger"
    __table_args__ = (Index("ix_access_ledger_subject_at", "subject_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    viewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    what: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    viewer: Mapped[User] = relationship(foreign_keys=[viewer_id])
