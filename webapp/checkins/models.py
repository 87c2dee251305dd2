"""Check-ins (issue #4): how a returnee is doing, and the gaps when they go quiet."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import Base
from ..models import UTCDateTime, utcnow

# The five quick questions, in the order the form asks them.
QUESTIONS = ("income", "shelter", "medicine", "safe", "someone")
ANSWERS = ("yes", "partly", "no")


class CheckIn(Base):
    __tablename__ = "checkins"
    __table_args__ = (Index("ix_checkins_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
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
