"""Recording the key phrases (issue #23): checking a sound by its own bytes,
keeping one per organisation, language and phrase, counting coverage.

A sound is taken only when its first bytes say it is one a phone plays:
Opus in WebM or Ogg (what Chrome and Firefox record) or AAC in MP4 (what
Safari records). What the browser says it is (the Content-Type, the file
name) is not looked at: anything else is refused and nothing is stored."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import DomainError
from ..models import User, utcnow
from .models import Recording
from .phrases import PHRASES

MAX_BYTES = 200 * 1024  # about 30 seconds of speech as a phone records it
MEDIA_TYPES = {"webm": "audio/webm", "ogg": "audio/ogg", "m4a": "audio/mp4"}
# MP4 brands of a sound file: Safari's recorder, AAC files, Chrome's recorder.
MP4_BRANDS = {b"M4A ", b"M4B ", b"mp41", b"mp42", b"isom", b"iso2", b"iso5", b"iso6", b"dash"}


def sniff(raw: bytes) -> str | None:
    """The kind of sound `raw` is (a key of MEDIA_TYPES), from its bytes, or None."""
    if raw[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in raw[:64]:  # EBML header, DocType webm
        return "webm"
    if raw[:4] == b"OggS" and raw[28:36] == b"OpusHead":  # Ogg page, Opus stream
        return "ogg"
    if raw[4:8] == b"ftyp" and raw[8:12] in MP4_BRANDS:
        return "m4a"
    return None


def is_phrase(phrase: str) -> bool:
    return phrase in PHRASES


@dataclass(frozen=True)
class Clip:
    """What a page needs to link a recording: no sound."""

    id: int
    digest: str
    kind: str
    # No one recorded it: the demo's computer voice (espeak-ng), for tests only.
    machine: bool = False

    @property
    def name(self) -> str:
        return f"{self.digest}.{self.kind}"

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.kind]


def _clip(row) -> Clip:
    return Clip(id=row.id, digest=row.digest, kind=row.kind,
                machine=row.recorded_by_id is None)


def clips_for(session: Session, organisation_id: int, language: str) -> dict[str, Clip]:
    """The organisation's recordings in one language, by phrase: one query."""
    rows = session.execute(
        select(Recording.phrase, Recording.id, Recording.digest, Recording.kind,
               Recording.recorded_by_id)
        .where(Recording.organisation_id == organisation_id,
               Recording.language == language))
    return {row.phrase: _clip(row) for row in rows if row.phrase in PHRASES}


def coverage(session: Session, organisation_id: int, languages: list[str]) -> dict[str, int]:
    """How many of the phrases are recorded, per language."""
    counts: dict[str, int] = {row[0]: row[1] for row in session.execute(
        select(Recording.language, func.count())
        .where(Recording.organisation_id == organisation_id,
               Recording.phrase.in_(PHRASES))
        .group_by(Recording.language))}
    return {language: counts.get(language, 0) for language in languages}


def save(session: Session, actor: User | None, language: str, phrase: str, raw: bytes, *,
         organisation_id: int | None = None) -> Clip:
    """Keep a recording of `phrase` in `language` for the actor's organisation;
    one that was there is replaced (its URL stops working). No actor: the
    demo's machine-made clips, for `organisation_id`."""
    if not raw:
        raise DomainError(_l("Please record the sentence, or choose a sound file."),
                          field="audio")
    if len(raw) > MAX_BYTES:
        raise DomainError(_l("This recording is too long. Please keep it under half a minute "
                             "(at most %(kb)d KB).", kb=MAX_BYTES // 1024), field="audio")
    kind = sniff(raw)
    if kind is None:
        raise DomainError(_l("This is not a sound we can play on a phone. Please record "
                             "again, or choose an Opus (WebM, Ogg) or AAC (M4A) file."),
                          field="audio")
    org_id = actor.organisation_id if actor is not None else organisation_id
    row = _slot_row(session, org_id, language, phrase)
    if row is None:
        try:
            # Two people saving the first recording of a phrase at once: the
            # second one's becomes a replacement, not an error.
            with session.begin_nested():
                row = Recording(organisation_id=org_id, language=language, phrase=phrase,
                                kind=kind, digest="", size=0, audio=b"")
                session.add(row)
        except IntegrityError:
            row = _slot_row(session, org_id, language, phrase)
            assert row is not None
    row.kind, row.digest, row.size = kind, hashlib.sha256(raw).hexdigest(), len(raw)
    row.audio = raw
    row.recorded_by_id = actor.id if actor is not None else None
    row.recorded_at = utcnow()
    session.flush()
    return _clip(row)


def _slot_row(session: Session, org_id: int | None, language: str,
              phrase: str) -> Recording | None:
    return session.scalars(
        select(Recording).where(Recording.organisation_id == org_id,
                                Recording.language == language, Recording.phrase == phrase)
        .with_for_update()).one_or_none()


def remove(session: Session, actor: User, language: str, phrase: str) -> None:
    """The phrase has no recording in that language any more: the page falls
    back to the phone's own voice."""
    session.execute(delete(Recording).where(
        Recording.organisation_id == actor.organisation_id,
        Recording.language == language, Recording.phrase == phrase))


def visible_recording(session: Session, viewer: User, recording_id: int) -> Recording | None:
    """A recording of the viewer's own organisation (the access scope)."""
    row = session.get(Recording, recording_id)
    return row if row is not None and row.organisation_id == viewer.organisation_id else None


def clip_of(row: Recording) -> Clip:
    return _clip(row)
