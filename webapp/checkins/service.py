"""Check-ins: recording one (with its signals), the history chart, and the
no-contact job. Functions take the session, flush, and raise DomainError."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .. import submissions
from ..alerts import signals
from ..auth.models import ActivationCode
from ..auth.service import latest_choices
from ..errors import DomainError
from ..groups.models import DEFAULT_PERIOD_DAYS, GroupMember, PeerGroup
from ..models import Role, User, utcnow
from .models import (
    ANSWERS,
    CHECKINS,
    QUESTIONS,
    CheckIn,
    CheckInSummary,
    NoContactGap,
    add_checkin,
)

NOTE_MAX = 500
LOW_MOOD = 2  # 1 and 2 are low

# Words for the faces; the same words name the faces for screen readers.
MOODS = {
    1: _l("Very bad"),
    2: _l("Bad"),
    3: _l("Okay"),
    4: _l("Good"),
    5: _l("Very good"),
}
QUESTION_LABELS = {
    "income": _l("Did you have income this week?"),
    "shelter": _l("Do you have a safe place to sleep?"),
    "medicine": _l("Do you have the medicine you need?"),
    "safe": _l("Do you feel safe?"),
    "someone": _l("Do you have someone to talk to?"),
}
ANSWER_LABELS = {"yes": _l("Yes"), "partly": _l("Partly"), "no": _l("No")}


def may_share_with_group(session: Session, user: User) -> bool:
    """What the person agreed to (the latest consent wins)."""
    return latest_choices(session, user)["share_with_group"]


def stop_sharing(session: Session, user: User) -> None:
    """The person no longer shares with their group: check-ins shared before
    are no longer shown there either."""
    session.execute(update(CheckIn).where(
        CheckIn.user_id == user.id, CheckIn.share_with_group.is_(True)
    ).values(share_with_group=False))


def last_checkin(session: Session, user: User) -> CheckIn | None:
    return session.scalar(select(CheckIn).where(CheckIn.user_id == user.id)
                          .order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(1))


# What a repeat must match of the first row to be the same check-in: what the
# person said. Not who may see it: withdrawing the consent to share unshares
# the rows stored before (`stop_sharing`), and a phone may replay one after.
_SAME = ("mood", *QUESTIONS, "note")


def record_checkin(session: Session, user: User, *, mood: int | None,
                   answers: dict[str, str | None], note: str | None,
                   share_with_group: bool, client_uuid: str | None = None) -> submissions.Stored:
    """Store a check-in and, in the same transaction, the signals it raises:
    not feeling safe, no medicine, and low mood in this and the last check-in.

    `client_uuid` is the UUID the device gave the form: a repeat of it stores
    nothing and is answered as the first (`repeat`), even when what was
    checked when it was first stored (the consent to share) has changed since.
    Without one (demo data, scripts) the row is simply stored."""
    mood, note = _checked(user, mood, answers, note)
    # Low mood twice in a row raises a signal: the last one matters only now.
    previous = last_checkin(session, user) if mood <= LOW_MOOD else None
    values = {"organisation_id": user.organisation_id, "user_id": user.id, "mood": mood,
              "note": note, "share_with_group": share_with_group, "created_at": utcnow(),
              **{q: answers.get(q) for q in QUESTIONS}}
    # Core statements, not session.add + flush: the same row for a fraction
    # of the work (issue #24, the busiest post there is).
    if client_uuid is None:
        stored = submissions.Stored(add_checkin(session, **values), repeat=False)
    else:
        # What the form sent, as it was claimed before check-ins kept their UUID.
        body = {"mood": mood, "answers": {q: values[q] for q in QUESTIONS}, "note": note,
                "visibility": "group" if share_with_group else "caseworker"}
        stored = submissions.insert_once(session, user, client_uuid, "checkin", body,
                                         CHECKINS, values, same=_SAME)
        if stored.repeat:
            return stored
    # Refused after the insert (the edge rolls it back), so that a repeat is
    # answered as the first was even if the person has withdrawn consent since.
    if share_with_group and not may_share_with_group(session, user):
        raise DomainError(_l("You chose not to share check-ins with your group."),
                          field="visibility")
    raised = []
    if values["safe"] == "no":
        raised.append("checkin.unsafe")
    if values["medicine"] == "no":
        raised.append("checkin.no_medicine")
    if mood <= LOW_MOOD and previous is not None and previous.mood <= LOW_MOOD:
        raised.append("checkin.low_mood")
    assert stored.id is not None  # a new row
    for kind in raised:
        signals.emit(session, returnee=user, kind=kind, source_type="checkin",
                     source_id=stored.id)
    return stored


def _checked(user: User, mood: int | None, answers: dict[str, str | None],
             note: str | None) -> tuple[int, str]:
    """The mood and the note (trimmed) of a check-in that may be stored."""
    if user.role != Role.RETURNEE.value:
        raise DomainError(_l("Only returnees check in."))
    if mood not in MOODS:
        raise DomainError(_l("Please choose one of the five faces."), field="mood")
    for question in QUESTIONS:
        if answers.get(question) not in (None, *ANSWERS):
            raise DomainError(_l("Please choose yes, partly or no."), field=question)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=NOTE_MAX),
                          field="note")
    return mood, note


def history(session: Session, user: User, limit: int = 30) -> list[CheckIn]:
    """The person's latest check-ins, newest first."""
    return list(session.scalars(select(CheckIn).where(CheckIn.user_id == user.id)
                                .order_by(CheckIn.created_at.desc(), CheckIn.id.desc())
                                .limit(limit)))


@dataclass
class MoodChart:
    """A small line of moods, oldest left (the template mirrors nothing: a
    time line reads the same way in Dari, as in most charts there)."""

    width: int
    height: int
    points: list[tuple[int, int, int]]  # x, y, mood

    @property
    def polyline(self) -> str:
        return " ".join(f"{x},{y}" for x, y, _m in self.points)


CHART_POINTS = 12


def mood_chart(newest_first: Iterable[CheckIn], width: int = 300, height: int = 110) -> MoodChart:
    moods = [c.mood for c in newest_first][:CHART_POINTS][::-1]
    pad = 12
    step = (width - 2 * pad) / max(len(moods) - 1, 1)
    points = [(round(pad + i * step), round(pad + (5 - m) * (height - 2 * pad) / 4), m)
              for i, m in enumerate(moods)]
    return MoodChart(width=width, height=height, points=points)


# --- No contact --------------------------------------------------------------

def rhythm():
    """Per returnee, as subqueries keyed by `user_id`: the last check-in (`at`),
    the activation (`at`) and the check-in period in days (`days`: the shortest
    of their groups; none when in no group). Shared by the no-contact job and
    the check-in reminder, so both count silence the same way."""
    last = select(CheckInSummary.user_id, CheckInSummary.last_at.label("at")).subquery()
    activated = (select(ActivationCode.user_id, func.max(ActivationCode.used_at).label("at"))
                 .where(ActivationCode.used_at.is_not(None))
                 .group_by(ActivationCode.user_id).subquery())
    period = (select(GroupMember.user_id, func.min(PeerGroup.checkin_period_days).label("days"))
              .join(PeerGroup, PeerGroup.id == GroupMember.group_id)
              .group_by(GroupMember.user_id).subquery())
    return last, activated, period


MISSED_PERIODS = 2


def record_no_contact(session: Session, now: datetime | None = None,
                      limit: int | None = None) -> list[int]:
    """Signal every returnee silent for two check-in periods (at most
    `limit` of them), once per gap.

    The period is the shortest of the person's groups (weekly when in none).
    Silence starts at the last check-in, or at activation when there is none;
    a gap already signalled (a NoContactGap with that start) is not signalled
    again, so the next call goes on with the rest. Returns the ids of the
    people signalled."""
    now = now or utcnow()
    last, activated, period = rhythm()
    signalled = (select(NoContactGap.user_id, func.max(NoContactGap.since).label("since"))
                 .group_by(NoContactGap.user_id).subquery())
    query = (select(User, last.c.at, activated.c.at, period.c.days, signalled.c.since)
             .join(activated, activated.c.user_id == User.id)
             .outerjoin(last, last.c.user_id == User.id)
             .outerjoin(period, period.c.user_id == User.id)
             .outerjoin(signalled, signalled.c.user_id == User.id)
             .where(User.role == Role.RETURNEE.value, User.disabled_at.is_(None),
                    User.pin_hash.is_not(None))
             .order_by(User.id))
    # (person, last check-in, activation, period in days, gap signalled since)
    rows = cast(Sequence[tuple[User, datetime | None, datetime, int | None, datetime | None]],
                session.execute(query).all())
    raised: list[int] = []
    for user, last_at, activated_at, days, signalled_since in rows:
        if len(raised) == limit:
            break
        since = max(last_at, activated_at) if last_at else activated_at
        if now - since < timedelta(days=(days or DEFAULT_PERIOD_DAYS) * MISSED_PERIODS):
            continue
        if signalled_since is not None and signalled_since >= since:
            continue  # this gap was signalled already
        signal = signals.emit(session, returnee=user, kind="checkin.no_contact",
                              source_type="no_contact")
        session.add(NoContactGap(organisation_id=user.organisation_id, user_id=user.id,
                                 since=since, signal_id=signal.id))
        raised.append(user.id)
    session.flush()
    return raised
