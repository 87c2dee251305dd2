"""The audit trail of staff actions on accounts: ids only, never personal text."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column

from .db import Base
from .models import User, UTCDateTime, utcnow


class AuditEvent(Base):
    """Staff actions on accounts (create, disable, re-issue, assign, export).
    Holds ids only, never personal text."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(48))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def audit(session: Session, actor: User | None, action: str, subject: User | None,
          organisation_id: int) -> None:
    session.add(AuditEvent(
        organisation_id=organisation_id,
        actor_id=actor.id if actor else None,
        action=action,
        subject_id=subject.id if subject else None,
    ))
