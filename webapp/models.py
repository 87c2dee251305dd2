"""Typed SQLAlchemy models of the foundation.

Every row that belongs to a person carries `organisation_id`: the organisation is
the tenant boundary and every query filters on it.
"""
from __future__ import annotations

import enum
import secrets
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base
from .sealed import Sealed


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime stored; use utcnow()")
            value = value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Role(enum.StrEnum):
    RETURNEE = "returnee"
    FACILITATOR = "facilitator"
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"

    @property
    def is_staff(self) -> bool:
        return self is not Role.RETURNEE


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    emergency_phone: Mapped[str] = mapped_column(String(32), default="")
    # A number the duty phone reads text messages on (optional): offline, the
    # help page offers an sms: link to it.
    sms_phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    # Its place in the network of organisations (issue #21, webapp/network):
    # "sending" (counselling before departure), "receiving" (aftercare), or
    # None. Set by an operator; read with the signed-in user, at no cost.
    network_kind: Mapped[str | None] = mapped_column(String(16))
    # Locales offered to this organisation's people, e.g. ["en", "nl"].
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Where people send corrections to the translations: a link, an e-mail
    # address or a phone number; the language page shows it (issue #23).
    corrections_contact: Mapped[str] = mapped_column(String(200), default="", server_default="")
    # Aftercare monitoring (issue #7): follow-ups this many months after the
    # return date, and the key of the pseudonymous ids in exports (never shown).
    followup_months: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: [1, 3, 6, 12], server_default=text("'[1, 3, 6, 12]'"))
    export_secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
    # The directory of local services (issue #22): a place not checked for
    # this many days is on the "check due" list.
    directory_check_days: Mapped[int] = mapped_column(Integer, default=180,
                                                      server_default=text("180"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Household(Base):
    """A family that returned together; each adult keeps an own account."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(100))
    # Staff sign in with e-mail; returnees usually have none.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # Encrypted (webapp/sealed.py), and read only where it is needed: not
    # decrypted with the user on every signed-in request.
    totp_secret: Mapped[str | None] = mapped_column(Sealed, deferred=True)
    totp_last_counter: Mapped[int] = mapped_column(Integer, default=0)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str | None] = mapped_column(String(16))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id"), index=True)
    return_date: Mapped[date | None] = mapped_column(Date)
    # Bumped at PIN / password change and disable: ends every session at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A returnee asked to delete the account; their caseworker confirms
    # (webapp.privacy). Deleted: every row of the person is gone and this one
    # is kept, emptied and disabled, for the ids of the audit trail.
    deletion_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined", innerjoin=True)
    household: Mapped[Household | None] = relationship()

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def is_staff(self) -> bool:
        return self.role_enum.is_staff

    @property
    def is_disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def is_activated(self) -> bool:
        if self.role == Role.RETURNEE.value:
            return self.pin_hash is not None
        return self.password_hash is not None and self.totp_secret is not None

    # Flask-Login protocol. `get_id` returns the token of the signed-in
    # session, not the user id, so the cookie names a revocable session.
    is_anonymous = False
    if TYPE_CHECKING:  # not a column: set on the loaded user by auth.service
        session_token: str

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return not self.is_disabled

    def get_id(self) -> str:
        token = getattr(self, "session_token", None)
        if token is None:
            raise RuntimeError("User has no session token; use auth.service.start_session")
        return token
