"""The directory of local services (issue #22): places a returnee can go to,
kept by the partner organisation. Nothing here is about a person, except the
feedback rows, which belong to the returnee who gave them (and go with them
when their account is deleted)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow
from . import choices as c


class Place(Base):
    __tablename__ = "directory_places"
    __table_args__ = (
        Index("ix_directory_places_org_kind", "organisation_id", "kind", "town"),
        Index("ix_directory_places_org_checked", "organisation_id", "last_checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(c.NAME_MAX))
    town: Mapped[str] = mapped_column(String(c.TOWN_MAX))  # town or district
    address: Mapped[str] = mapped_column(String(c.ADDRESS_MAX), default="")
    directions: Mapped[str] = mapped_column(String(c.DIRECTIONS_MAX), default="")
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    hours: Mapped[str] = mapped_column(String(c.HOURS_MAX), default="")
    phone: Mapped[str] = mapped_column(String(c.PHONE_MAX), default="")
    cost: Mapped[str] = mapped_column(String(8), default="free")
    languages: Mapped[str] = mapped_column(String(c.LANGUAGES_MAX), default="")
    who: Mapped[str] = mapped_column(String(c.WHO_MAX), default="")  # who may use it
    # A pharmacy's (or clinic's) medicines when it was last checked, one a line.
    medicines: Mapped[str] = mapped_column(Text, default="")
    last_checked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A staff member; None when the last check was a returnee's word ("it helped").
    last_checked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_check: Mapped[str] = mapped_column(String(16), default="staff")  # or a FEEDBACK key
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    last_checked_by: Mapped[User | None] = relationship(foreign_keys=[last_checked_by_id])

    @property
    def medicine_list(self) -> list[str]:
        return [line.strip() for line in self.medicines.splitlines() if line.strip()]

    @property
    def tel(self) -> str:
        """The number as a tel: link dials it."""
        return "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")


class PlaceFeedback(Base):
    """A returnee's word about a place: it helped, or they did not have it."""

    __tablename__ = "directory_feedback"
    __table_args__ = (Index("ix_directory_feedback_place", "place_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    place_id: Mapped[int] = mapped_column(ForeignKey("directory_places.id"))
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
