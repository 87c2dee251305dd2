"""An organisation's recordings of the key phrases (issue #23), one per
organisation, language and phrase. The sound itself is a column: recordings
are small (≤ 200 KB), and a row works alike on SQLite and PostgreSQL and for
every gunicorn instance, with nothing on any one server's disk."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from ..db import Base
from ..models import UTCDateTime, utcnow


class Recording(Base):
    __tablename__ = "voice_recordings"
    __table_args__ = (UniqueConstraint("organisation_id", "language", "phrase",
                                       name="uq_voice_recordings_phrase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    language: Mapped[str] = mapped_column(String(16))  # a code of LANGUAGES
    phrase: Mapped[str] = mapped_column(String(48))  # a key of phrases.PHRASES
    kind: Mapped[str] = mapped_column(String(8))  # webm, ogg or m4a: from its bytes
    # sha256 of the sound, in its URL: a new recording is a new URL, so the
    # browser may keep one for a year.
    digest: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    # Read only when the sound is served: pages list recordings without it.
    audio: Mapped[bytes] = deferred(mapped_column(LargeBinary, nullable=False))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
