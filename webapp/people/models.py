"""Who follows whom: a returnee's caseworker."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
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
