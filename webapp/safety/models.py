"""A safety plan made together (issue #22): what the person notices when
things get dangerous, whom to call, where to go, what to do, and emergency
numbers from the directory. Every save is a new version; none is changed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow

TEXT_MAX = 1000


class SafetyPlanVersion(Base):
    __tablename__ = "safety_plans"
    __table_args__ = (UniqueConstraint("returnee_id", "version",
                                       name="uq_safety_plans_returnee_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer)
    warning_signs: Mapped[str] = mapped_column(Text, default="")
    contacts: Mapped[str] = mapped_column(Text, default="")
    safe_places: Mapped[str] = mapped_column(Text, default="")
    what_to_do: Mapped[str] = mapped_column(Text, default="")
    # Emergency numbers chosen from the directory: ids of its places.
    place_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    written_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    written_by: Mapped[User | None] = relationship(foreign_keys=[written_by_id])


class SafetyPlanUse(Base):
    """The person pressed "I need to use it": their caseworker is alerted."""

    __tablename__ = "safety_plan_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
