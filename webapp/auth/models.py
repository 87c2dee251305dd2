"""Sign-in: activation codes, bound devices and server-side sessions."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow


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
    device_binding: Mapped[DeviceBinding | None] = relationship(lazy="joined")
