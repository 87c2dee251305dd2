"""Typed SQLAlchemy models of the foundation.

Every row that belongs to a person carries `organisation_id`: the organisation is
the tenant boundary and every query filters on it.
"""
from __future__ import annotations

import enum
import secrets
from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base
from .sealed import Sealed


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[override]
        if value is not None:
            if value.tzinfo is None:
                raise ValueError("naive datetime stored; use utcnow()")
            value = value.astimezone(timezone.utc)
        return value

    def process_result_value(self, value, dialect):  # type: ignore[override]
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Role(str, enum.Enum):
    RETURNEE = "returnee"
    FACILITATOR = "facilitator"
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"

    @property
    def is_staff(self) -> bool:
        return self is not Role.RETURNEE


ROLE_VALUES = tuple(r.value for r in Role)


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))  # ISO 3166-1 alpha-2
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    emergency_phone: Mapped[str] = mapped_column(String(32), default="")
    # Locales offered to this organisation's people, e.g. ["en", "nl"].
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    # Aftercare monitoring (issue #7): follow-ups this many months after the
    # return date, and the key of the pseudonymous ids in exports (never shown).
    followup_months: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: [1, 3, 6, 12], server_default=text("'[1, 3, 6, 12]'"))
    export_secret: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(32))
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


class ActivationCode(Base):
    """A single-use, short-lived code handed to a person to activate an account.

    The code is `SELECTOR-VERIFIER`: the selector finds the row, the verifier is
    checked against an argon2 hash.
    """

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    selector: Mapped[str] = mapped_column(String(8), index=True)
    verifier_hash: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


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


class DeviceBinding(Base):
    """A browser bound to a returnee's account at activation. The PIN works only
    together with a valid, unlocked binding."""

    __tablename__ = "device_bindings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(100), default="")
    failed_pins: Mapped[int] = mapped_column(Integer, default=0)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_signin_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    @property
    def usable(self) -> bool:
        return self.revoked_at is None and self.locked_at is None


class AuthSession(Base):
    """A signed-in session. The cookie carries only a random token whose hash is
    stored here, so ending the row ends the session for every copy of the cookie."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_binding_id: Mapped[int | None] = mapped_column(ForeignKey("device_bindings.id"))
    epoch: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(32))

    # Loaded with the session in one query: every request of a returnee reads both.
    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    device_binding: Mapped["DeviceBinding | None"] = relationship(lazy="joined")


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


class ClientSubmission(Base):
    """A form a returnee's device sent with its own UUID (offline queue, double
    taps, retries): stored once; a repeat answers as the first did."""

    __tablename__ = "client_submissions"
    __table_args__ = (UniqueConstraint("user_id", "client_uuid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    client_uuid: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    body_digest: Mapped[str] = mapped_column(String(64))
    # Where the first answer pointed (e.g. the "received" page of the report).
    result_url: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Signal(Base):
    """Something a caseworker should know, written in the same transaction as
    its cause; the alerts area routes it (severity, recipients, push).

    Holds ids and a kind, never the person's words."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_unrouted", "routed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    source_type: Mapped[str | None] = mapped_column(String(32))
    source_id: Mapped[int | None] = mapped_column(Integer)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    routed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
