"""Support requests and concerns share one table: both have a returnee, a
status, a thread and a history, and the inbox sorts them together."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow
from . import choices as c


class Case(Base):
    """A support request (`type` "request") or a concern (`type` "concern")."""

    __tablename__ = "support_cases"
    __table_args__ = (
        Index("ix_support_cases_inbox", "organisation_id", "status", "priority", "created_at"),
        Index("ix_support_cases_medicine", "organisation_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    # A support request
    category: Mapped[str | None] = mapped_column(String(24))
    contact_way: Mapped[str | None] = mapped_column(String(16))
    # A concern
    kind: Mapped[str | None] = mapped_column(String(16))
    sub_type: Mapped[str | None] = mapped_column(String(24))
    urgency: Mapped[str | None] = mapped_column(String(8))
    medicine_name: Mapped[str | None] = mapped_column(String(c.MEDICINE_MAX))
    # medicine_name folded (case, spacing): the same medicine counts once.
    medicine_key: Mapped[str | None] = mapped_column(String(c.MEDICINE_MAX))
    # Both
    text: Mapped[str] = mapped_column(Text, default="")
    callback_phone: Mapped[str] = mapped_column(String(c.PHONE_MAX), default="")
    district: Mapped[str] = mapped_column(String(c.DISTRICT_MAX), default="")
    priority: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="new")
    outcome: Mapped[str | None] = mapped_column(String(24))
    # "I need help now" sent from the person's bound phone without the PIN
    # (the session had expired, or the binding was locked): staff are told.
    without_pin: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When staff first took it on (acknowledged the case or its alert, or
    # replied): the person sees "Someone is on it" with this time.
    on_it_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    returnee: Mapped[User] = relationship(foreign_keys=[returnee_id])

    @property
    def is_concern(self) -> bool:
        return self.type == c.CONCERN

    @property
    def title(self) -> str:
        """What it is about, in the viewer's language."""
        if self.is_concern:
            kind = c.KINDS.get(self.kind or "", self.kind)
            return f"{kind}: {c.sub_type_label(self.kind, self.sub_type)}"
        return str(c.CATEGORIES.get(self.category or "", self.category))


class CaseMessage(Base):
    """The thread. `internal` notes are for staff only: never shown to the returnee."""

    __tablename__ = "support_messages"
    __table_args__ = (Index("ix_support_messages_case", "case_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("support_cases.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship()


class CaseEvent(Base):
    """The case history: every status change, who made it, when and why.
    Never edited. The returnee reads the reasons (a decline must say why)."""

    __tablename__ = "support_events"
    __table_args__ = (Index("ix_support_events_case", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    case_id: Mapped[int] = mapped_column(ForeignKey("support_cases.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(24))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User] = relationship()
