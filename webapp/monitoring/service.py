"""Aftercare monitoring: the caseload, a returnee's timeline, follow-ups and
reintegration checks.

Functions take the SQLAlchemy session, flush, and raise `DomainError` with a
message a person can read. They never commit. Nothing here logs a person's
words: ids only.
"""
from __future__ import annotations

import calendar
import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

from flask_babel import lazy_gettext as _l, ngettext
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased, joinedload
from sqlalchemy.sql.functions import FunctionElement

from .. import outbox
from ..alerts import signals
from ..alerts.models import Alert
from ..alerts.routing import URGENT
from ..checkins.models import CheckIn, CheckInSummary
from ..db import Page, page_of, paginate
from ..errors import DomainError
from ..models import Organisation, Role, User, utcnow
from ..people.models import CaseworkerAssignment
from ..plan.models import Goal, PlanChange, Step
from ..risk.models import RiskCheck
from ..support import choices as sc
from ..support.models import Case, CaseMessage
from . import instruments
from .charts import Sparkline, sparkline
from .models import (
    CONTACTS,
    LESSON_MAX,
    LESSON_SCOPES,
    CaseloadOrder,
    CaseloadSummary,
    FollowUp,
    InstrumentVersion,
    Lesson,
    ReintegrationCheck,
    refresh_summaries,
)

log = logging.getLogger(__name__)

NO_CONTACT_DAYS = 14  # no check-in for this long: "no contact" on the caseload
OVERDUE_AFTER_DAYS = 14  # a follow-up not recorded this long after its date is overdue
DUE_AHEAD_DAYS = 30  # the list of follow-ups due looks this far ahead
PAGE_SIZE = 25
SPARK_POINTS = 8
NOTE_MAX = 2000

CONTACT_LABELS = {"visit": _l("A visit"), "phone": _l("A phone call"), "none": _l("No contact")}
OUTCOMES = {
    "doing_well": _l("Doing well"),
    "needs_support": _l("Needs more support"),
    "referred": _l("Referred to another service"),
    "could_not_reach": _l("Could not reach the person"),
    "moved_away": _l("Moved away"),
    "other": _l("Other"),
}
FILTERS = {
    "urgent": _l("Open urgent problem"),
    "no_contact": _l("No contact"),
    "overdue": _l("Follow-up overdue"),
    "attention": _l("Needs a look"),
}


def _today(now: datetime | None = None) -> date:
    return (now or utcnow()).date()


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it is shorter)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def followup_months(org: Organisation) -> list[int]:
    return _months(org.followup_months)


def _months(setting: list | None) -> list[int]:
    """An organisation's follow-up months, as stored, made sane."""
    months = sorted({int(m) for m in (setting or []) if 0 < int(m) <= 60})
    return months or [1, 3, 6, 12]


# --- Follow-ups -------------------------------------------------------------------

@dataclass
class Slot:
    """One follow-up of a returnee's schedule, recorded or not."""

    month: int
    due_on: date
    row: FollowUp | None
    checks: list[ReintegrationCheck] = field(default_factory=list)

    @property
    def is_done(self) -> bool:
        return self.row is not None and self.row.is_done

    def is_overdue(self, today: date) -> bool:
        return not self.is_done and self.due_on + timedelta(days=OVERDUE_AFTER_DAYS) < today


def schedule(session: Session, returnee: User) -> list[Slot]:
    """The returnee's follow-ups: the organisation's months after the return
    date, and any recorded at a month no longer in the setting."""
    rows = {f.month: f for f in session.scalars(
        select(FollowUp).where(FollowUp.returnee_id == returnee.id))}
    slots: list[Slot] = []
    if returnee.return_date is not None:
        for month in followup_months(returnee.organisation):
            due_on = add_months(returnee.return_date, month)
            slots.append(Slot(month, due_on, rows.pop(month, None)))
    slots += [Slot(f.month, f.due_on, f) for f in rows.values()]
    return sorted(slots, key=lambda s: s.month)


def schedule_all(session: Session, now: datetime | None = None,
                 returnee_id: int | None = None, organisation_id: int | None = None,
                 after_id: int | None = None, limit: int | None = None) -> int:
    """Store the scheduled follow-ups of every returnee with a return date (or
    of one: right after the account is made; or of one organisation: after
    its months changed), so the caseload filters and the overdue job can read
    the rows. Idempotent. `after_id`, `limit`: only the next `limit` people
    by id after that one (the job goes through everyone in batches, each its
    own short transaction: `schedule_batches`)."""
    query = (select(User.id, User.organisation_id, User.return_date, Organisation.followup_months)
             .join(Organisation, Organisation.id == User.organisation_id)
             .where(User.role == Role.RETURNEE.value, User.return_date.is_not(None),
                    User.disabled_at.is_(None)))
    existing_query = select(FollowUp.returnee_id, FollowUp.month)
    if returnee_id is not None:
        query = query.where(User.id == returnee_id)
        existing_query = existing_query.where(FollowUp.returnee_id == returnee_id)
    if organisation_id is not None:
        query = query.where(User.organisation_id == organisation_id)
        existing_query = existing_query.where(FollowUp.organisation_id == organisation_id)
    if after_id is not None:
        query = query.where(User.id > after_id)
    if limit is not None:
        query = query.order_by(User.id).limit(limit)
    people = session.execute(query).all()
    if limit is not None:
        if not people:
            return 0
        existing_query = existing_query.where(FollowUp.returnee_id.between(people[0][0],
                                                                            people[-1][0]))
    existing = {(r, m) for r, m in session.execute(existing_query)}
    added = 0
    for user_id, org_id, returned, months in people:
        assert returned is not None  # the query's return_date IS NOT NULL
        for month in _months(months):
            if (user_id, month) not in existing:
                session.add(FollowUp(organisation_id=org_id, returnee_id=user_id, month=month,
                                     due_on=add_months(returned, month)))
                added += 1
    session.flush()
    if organisation_id is not None:
        # The organisation's months changed: follow-ups at months no longer
        # set were deleted in bulk, past the summaries' ORM hook.
        refresh_summaries(session.connection(), session.scalars(select(User.id).where(
            User.organisation_id == organisation_id, User.role == Role.RETURNEE.value)))
    return added


SCHEDULE_BATCH = 2000  # people per transaction of the hourly scheduling


def schedule_batch(session: Session, after_id: int, now: datetime | None = None,
                   size: int | None = None) -> int | None:
    """One batch (SCHEDULE_BATCH people unless said) of `schedule_all` over
    the people after `after_id`: the last id it went through, None when there
    is nobody left."""
    size = size or SCHEDULE_BATCH
    query = (select(User.id).where(User.role == Role.RETURNEE.value, User.id > after_id,
                                   User.return_date.is_not(None), User.disabled_at.is_(None))
             .order_by(User.id).limit(size))
    ids = list(session.scalars(query))
    if not ids:
        return None
    schedule_all(session, now, after_id=after_id, limit=size)
    return ids[-1]


def signal_overdue(session: Session, now: datetime | None = None,
                   limit: int | None = None) -> list[int]:
    """A followup.overdue signal for every follow-up not recorded in time
    (at most `limit`, oldest first), once per follow-up: a follow-up signalled
    is marked, so the next call goes on with the rest. Returns the follow-up
    ids signalled. The follow-ups must be scheduled (`schedule_all`)."""
    cutoff = _today(now) - timedelta(days=OVERDUE_AFTER_DAYS)
    rows = session.execute(
        select(FollowUp, User).join(User, User.id == FollowUp.returnee_id)
        .where(FollowUp.done_at.is_(None), FollowUp.overdue_signal_id.is_(None),
               FollowUp.due_on < cutoff, User.disabled_at.is_(None))
        .order_by(FollowUp.id).limit(limit)).all()
    done = []
    for followup, returnee in rows:
        signal = signals.emit(session, returnee=returnee, kind="followup.overdue",
                              source_type="followup", source_id=followup.id)
        followup.overdue_signal_id = signal.id
        done.append(followup.id)
    session.flush()
    return done


# --- Instruments made in the app ----------------------------------------------------

INSTRUMENT_TEXT_MAX = 100_000


@dataclass
class VersionRow:
    instrument: instruments.Instrument
    made_in_app: bool
    created_at: datetime | None = None


def instrument_versions(session: Session, org_id: int,
                        instrument_id: str = instruments.DEFAULT_ID) -> list[VersionRow]:
    """Every version the organisation can use, newest first: the shipped
    files and those its coordinators made (a made one wins a tie)."""
    rows = {i.version: VersionRow(i, False) for (iid, _v), i in instruments.registry().items()
            if iid == instrument_id}
    for made in session.scalars(select(InstrumentVersion).where(
            InstrumentVersion.organisation_id == org_id,
            InstrumentVersion.instrument_id == instrument_id)):
        rows[made.version] = VersionRow(_parsed(made), True, made.created_at)
    return [rows[v] for v in sorted(rows, reverse=True)]


def _parsed(made: InstrumentVersion) -> instruments.Instrument:
    return instruments.parse(made.data, f"version {made.version}")


def current_instrument(session: Session, org_id: int) -> instruments.Instrument:
    """The newest version for the organisation: new checks are scored with it."""
    return instrument_versions(session, org_id)[0].instrument


def new_instrument_version(session: Session, actor: User, text: str | None
                           ) -> instruments.Instrument:
    """A new version from the instrument's data as JSON, validated as the
    files are; it gets the next version number. Checks already made keep
    the version they were scored with."""
    if actor.role != Role.COORDINATOR.value:
        raise DomainError(_l("You cannot do this."))
    text = (text or "").strip()
    if not text or len(text) > INSTRUMENT_TEXT_MAX:
        raise DomainError(_l("Please fill this in."), field="data")
    try:
        data = json.loads(text)
    except ValueError:
        raise DomainError(_l("This is not valid JSON. Check the commas, quotes and brackets."),
                          field="data") from None
    if not isinstance(data, dict):
        raise DomainError(_l("The instrument is not valid: %(problem)s",
                             problem="the data must be one object"), field="data")
    data["id"] = instruments.DEFAULT_ID
    data["version"] = instrument_versions(session, actor.organisation_id)[0].instrument.version + 1
    try:
        instrument = instruments.parse(data, "the new version")
    except instruments.InstrumentError as err:
        raise DomainError(_l("The instrument is not valid: %(problem)s", problem=str(err)),
                          field="data") from None
    session.add(InstrumentVersion(organisation_id=actor.organisation_id,
                                  instrument_id=instrument.id, version=instrument.version,
                                  data=data, created_by_id=actor.id))
    session.flush()
    outbox.log_after_commit(log, "instrument version made org=%s version=%s by=%s",
                            actor.organisation_id, instrument.version, actor.id)
    return instrument


def _answers_given(answers: dict[str, str | None]) -> bool:
    return any(v for v in answers.values())


def record_check(session: Session, actor: User, returnee: User,
                 answers: dict[str, str | None], followup: FollowUp | None = None,
                 instrument: instruments.Instrument | None = None) -> ReintegrationCheck:
    """Score a complete answer set with the current instrument and store it
    with the instrument's id and version."""
    instrument = instrument or instruments.current()
    clean: dict[str, str] = {}
    for question in instrument.questions:
        key = answers.get(question.id)
        if not key:
            raise DomainError(_l("Please answer every question of the check."),
                              field=question.id)
        if question.option(key) is None:
            raise DomainError(_l("Please choose one from the list."), field=question.id)
        clean[question.id] = key
    unknown = set(k for k, v in answers.items() if v) - set(clean)
    if unknown:
        raise DomainError(_l("This form is damaged. Please reload the page and try again."))
    scores = instrument.score(clean)
    check = ReintegrationCheck(
        organisation_id=returnee.organisation_id, returnee_id=returnee.id,
        followup_id=followup.id if followup else None, instrument_id=instrument.id,
        instrument_version=instrument.version, answers=clean, economic=scores.economic,
        social=scores.social, psychosocial=scores.psychosocial, composite=scores.composite,
        recorded_by_id=actor.id)
    session.add(check)
    session.flush()
    return check


def record_followup(session: Session, actor: User, returnee: User, *, month: int | None,
                    contact: str | None, outcome: str | None, note: str | None,
                    answers: dict[str, str | None], now: datetime | None = None,
                    instrument: instruments.Instrument | None = None) -> FollowUp:
    """Record the contact of one scheduled follow-up, and a reintegration
    check when its questions were answered (only after a visit or a call)."""
    if returnee.role != Role.RETURNEE.value:
        raise DomainError(_l("You cannot do this."))
    slot = next((s for s in schedule(session, returnee) if s.month == month), None)
    if slot is None:
        raise DomainError(_l("Please choose one from the list."), field="month")
    if slot.is_done:
        raise DomainError(_l("This follow-up is already recorded."), field="month")
    if contact not in CONTACTS:
        raise DomainError(_l("Please choose one from the list."), field="contact")
    if outcome not in OUTCOMES:
        raise DomainError(_l("Please choose one from the list."), field="outcome")
    note = (note or "").replace("\x00", "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=NOTE_MAX), field="note")
    with_check = _answers_given(answers)
    if with_check and contact == "none":
        raise DomainError(_l("A check needs a visit or a phone call: leave its questions empty "
                             "when there was no contact."), field="contact")
    followup = slot.row
    if followup is None:
        followup = FollowUp(organisation_id=returnee.organisation_id, returnee_id=returnee.id,
                            month=slot.month, due_on=slot.due_on)
        session.add(followup)
    followup.done_at = now or utcnow()
    followup.done_by_id = actor.id
    followup.contact = contact
    followup.outcome = outcome
    followup.note = note
    session.flush()
    if with_check:
        record_check(session, actor, returnee, answers, followup, instrument)
    outbox.log_after_commit(log, "followup recorded returnee=%s followup=%s by=%s",
                            returnee.id, followup.id, actor.id)
    return followup


def record_lesson(session: Session, actor: User, returnee: User, *, scope: str,
                  outcome: str | None, helped: str | None, missing: str | None,
                  case_id: int | None = None, require_outcome: bool = False) -> Lesson | None:
    """What was learnt at the close of a case or of a person's aftercare.
    A case's close may leave the reflection empty (nothing is stored then);
    the aftercare's close needs its outcome (one of OUTCOMES)."""
    if not actor.is_staff or returnee.role != Role.RETURNEE.value or scope not in LESSON_SCOPES:
        raise DomainError(_l("You cannot do this."))
    texts = {}
    for name, text in (("helped", helped), ("missing", missing)):
        text = (text or "").replace("\x00", "").strip()
        if len(text) > LESSON_MAX:
            raise DomainError(_l("Please use at most %(max)d characters.", max=LESSON_MAX),
                              field=name)
        texts[name] = text
    if scope == "aftercare" or require_outcome:
        if outcome not in OUTCOMES:
            raise DomainError(_l("Please choose one from the list."), field="outcome")
    elif not any(texts.values()):
        return None
    lesson = Lesson(organisation_id=returnee.organisation_id, returnee_id=returnee.id,
                    case_id=case_id, scope=scope, outcome=outcome, author_id=actor.id, **texts)
    session.add(lesson)
    session.flush()
    return lesson


def lessons(session: Session, org_id: int, limit: int = 50) -> list[Lesson]:
    """The organisation's lessons learnt, newest first."""
    return list(session.scalars(select(Lesson).where(Lesson.organisation_id == org_id)
                                .order_by(Lesson.created_at.desc(), Lesson.id.desc())
                                .limit(limit)))


def checks_of(session: Session, returnee: User, limit: int = 50) -> list[ReintegrationCheck]:
    """Reintegration checks, oldest first (the latest `limit`)."""
    rows = session.scalars(select(ReintegrationCheck)
                           .where(ReintegrationCheck.returnee_id == returnee.id)
                           .order_by(ReintegrationCheck.created_at.desc(),
                                     ReintegrationCheck.id.desc()).limit(limit)).all()
    return list(reversed(rows))


def in_words(score: float) -> object:
    """A score for the returnee, in plain words."""
    if score < 0.34:
        return _l("Hard right now")
    if score < 0.67:
        return _l("Getting there")
    return _l("Going well")


# --- Caseload ---------------------------------------------------------------------


class _least(FunctionElement):
    """The smallest of its arguments that is not NULL (NULL when all are):
    LEAST on PostgreSQL, min() over a far-future stand-in on SQLite."""

    inherit_cache = True
    name = "least"


class _greatest(FunctionElement):
    """The largest of its arguments that is not NULL (NULL when all are):
    GREATEST on PostgreSQL, max() over a far-past stand-in on SQLite."""

    inherit_cache = True
    name = "greatest"


class _day_start(FunctionElement):
    """The first instant of a date, as the datetimes beside it are stored:
    a date compares with them as that instant (SQLite compares text, where
    '2026-11-07' would come before '2026-11-07 00:00:00.000000')."""

    inherit_cache = True
    name = "day_start"


@compiles(_day_start)
def _day_start_default(element, compiler, **kw):
    return f"CAST({compiler.process(element.clauses, **kw)} AS TIMESTAMP WITH TIME ZONE)"


@compiles(_day_start, "sqlite")
def _day_start_sqlite(element, compiler, **kw):
    return f"({compiler.process(element.clauses, **kw)} || ' 00:00:00.000000')"


# SQLite's min() and max() of several values are NULL when one is.
_SQLITE_EXTREMES = {"least": ("min", "9999-12-31"), "greatest": ("max", "0000-01-01")}


@compiles(_least)
@compiles(_greatest)
def _extreme_default(element, compiler, **kw):
    return f"{element.name.upper()}({compiler.process(element.clauses, **kw)})"


@compiles(_least, "sqlite")
@compiles(_greatest, "sqlite")
def _extreme_sqlite(element, compiler, **kw):
    function, stand_in = _SQLITE_EXTREMES[element.name]
    args = ", ".join(f"coalesce({compiler.process(c, **kw)}, '{stand_in}')"
                     for c in element.clauses)
    return f"nullif({function}({args}), '{stand_in}')"


@dataclass(frozen=True)
class Reason:
    """Why a person needs a look, as a short label; `days`: how long it has been so."""

    key: str
    label: str
    days: int
    urgent: bool = False


@dataclass
class CaseloadRow:
    returnee: User
    caseworker_name: str | None
    last_checkin_at: datetime | None
    open_concerns: int
    worst_priority: int | None
    open_requests: int
    steps: int
    steps_done: int
    next_followup: date | None
    next_followup_month: int | None
    score: ReintegrationCheck | None
    attention: int  # 0 urgent, 1 needs a look, 2 fine
    mood: Sparkline | None = None
    reasons: list[Reason] = field(default_factory=list)

    def days_since_checkin(self, today: date) -> int | None:
        return None if self.last_checkin_at is None else (today - self.last_checkin_at.date()).days

    def overdue_days(self, today: date) -> int | None:
        """Days since the date of the oldest follow-up not recorded, once it is overdue."""
        if self.next_followup is None:
            return None
        if self.next_followup + timedelta(days=OVERDUE_AFTER_DAYS) >= today:
            return None
        return (today - self.next_followup).days

    @property
    def worst_label(self) -> object | None:
        if self.worst_priority is None:
            return None
        if self.worst_priority <= sc.PRIORITY_NOW:
            return _l("Urgent")
        if self.worst_priority == sc.PRIORITY_SOON:
            return _l("Serious")
        return _l("Normal")


def _days(today: date, since: datetime | date | None) -> int:
    if since is None:
        return 0
    day = since.date() if isinstance(since, datetime) else since
    return max(0, (today - day).days)


def reasons_of(today: date, *, urgent_since: datetime | None, serious_since: datetime | None,
               overdue_since: date | None, no_contact_since: datetime | None,
               falling_since: datetime | None, unanswered_since: datetime | None
               ) -> list[Reason]:
    """The stated reasons a person needs a look, oldest first. Each argument
    is when the reason began (None: it does not hold)."""
    found: list[tuple[object, Reason]] = []
    if urgent_since is not None:
        days = _days(today, urgent_since)
        found.append((urgent_since, Reason("urgent", str(_l("Urgent alert open")), days, True)))
    if serious_since is not None:
        days = _days(today, serious_since)
        found.append((serious_since, Reason("serious", str(_l("Serious problem open")), days)))
    if overdue_since is not None:
        days = _days(today, overdue_since)
        found.append((overdue_since, Reason("overdue", ngettext(
            "Follow-up overdue by %(num)d day", "Follow-up overdue by %(num)d days", days),
            days)))
    if no_contact_since is not None:
        days = _days(today, no_contact_since)
        found.append((no_contact_since, Reason("no_contact", ngettext(
            "No contact for %(num)d day", "No contact for %(num)d days", days), days)))
    if falling_since is not None:
        days = _days(today, falling_since)
        found.append((falling_since, Reason("falling", str(_l("Score falling")), days)))
    if unanswered_since is not None:
        days = _days(today, unanswered_since)
        found.append((unanswered_since, Reason("unanswered", ngettext(
            "Request unanswered for %(num)d day", "Request unanswered for %(num)d days", days),
            days)))
    return [r for _s, r in sorted(found, key=lambda f: (not f[1].urgent, -f[1].days))]


@dataclass
class Caseload:
    rows: list[CaseloadRow]
    total: int
    page: int
    pages: int


@dataclass
class _Live:
    """The caseload computed from the records (see `caseload`): `base` picks
    the people (ids only), `rows` adds what a row shows, in the caseload's
    order; the rest are the sort key's and the filters' expressions."""

    base: Select[Any]
    rows: Select[Any]
    attention: Any
    oldest: Any
    worst: Any
    urgent: Any
    no_contact: Any
    overdue: Any
    last_contact: Any

    def showing(self, show: str | None) -> list:
        """The conditions of a filter (none for an unknown one: everyone)."""
        return {"urgent": [self.urgent], "no_contact": [self.no_contact],
                "overdue": [self.overdue], "attention": [self.attention < 2]}.get(show or "", [])

    def order(self) -> tuple:
        return self.attention, self.oldest, self.worst, User.display_name, User.id


def _live(org_id: int, followed_by: int | None, now: datetime, ids: Any = None) -> _Live:
    """The caseload's people of the organisation (or of one caseworker),
    with their sort key computed from their records at `now`; `ids` (a
    list or a select of ids), when given, narrows everything to them."""
    today = _today(now)
    people_of = (select(CaseworkerAssignment.returnee_id)
                 .where(CaseworkerAssignment.caseworker_id == followed_by,
                        CaseworkerAssignment.ended_at.is_(None)))
    case_scope = [Case.returnee_id.in_(people_of)] if followed_by else []
    alert_scope = [Alert.returnee_id.in_(people_of)] if followed_by else []
    if ids is not None:
        case_scope.append(Case.returnee_id.in_(ids))
        alert_scope.append(Alert.returnee_id.in_(ids))
    # One row per person (kept by record_checkin), not a search through every
    # check-in: the caseload of 10,000 people stays within its time budget.
    last_at = CheckInSummary.last_at
    is_concern = Case.type == sc.CONCERN
    open_cases = (
        select(Case.returnee_id.label("rid"),
               func.sum(case((is_concern, 1), else_=0)).label("concerns"),
               func.min(case((is_concern, Case.priority), else_=None)).label("worst"),
               func.sum(case((Case.type == sc.REQUEST, 1), else_=0)).label("requests"),
               func.min(case((and_(is_concern, Case.priority <= sc.PRIORITY_NOW),
                              Case.created_at), else_=None)).label("urgent_at"),
               func.min(case((and_(is_concern, Case.priority == sc.PRIORITY_SOON),
                              Case.created_at), else_=None)).label("serious_at"),
               func.min(case((and_(Case.type == sc.REQUEST, Case.status == "new"),
                              Case.created_at), else_=None)).label("unanswered_at"))
        .where(Case.organisation_id == org_id, Case.status.in_(sc.OPEN_STATUSES), *case_scope)
        .group_by(Case.returnee_id).subquery())
    urgent_alerts = (select(Alert.returnee_id.label("rid"),
                            func.min(Alert.created_at).label("at"))
                     .where(Alert.organisation_id == org_id, Alert.resolved_at.is_(None),
                            Alert.severity == URGENT, *alert_scope)
                     .group_by(Alert.returnee_id).subquery())
    # Follow-ups and checks: one row per person, kept on write (CaseloadSummary).
    summary = CaseloadSummary
    cw_user = aliased(User)
    caseworker = (select(cw_user.display_name)
                  .where(cw_user.id == CaseworkerAssignment.caseworker_id)
                  .correlate(CaseworkerAssignment).scalar_subquery())

    no_contact_before = now - timedelta(days=NO_CONTACT_DAYS)
    overdue_before = today - timedelta(days=OVERDUE_AFTER_DAYS)
    # The last contact: a check-in or a follow-up recorded; never: since the
    # account was made (a person added yesterday is not "no contact").
    last_contact = func.coalesce(_greatest(last_at, summary.followup_done_at), User.created_at)
    urgent_at = _least(open_cases.c.urgent_at, urgent_alerts.c.at)
    urgent = urgent_at.is_not(None)
    serious = open_cases.c.serious_at.is_not(None)
    no_contact = last_contact < no_contact_before
    overdue = summary.next_due < overdue_before
    falling = summary.falling_since.is_not(None)
    unanswered = open_cases.c.unanswered_at.is_not(None)
    attention = case((urgent, 0), (or_(serious, overdue, no_contact, falling, unanswered), 1),
                     else_=2)
    # NULL exactly when attention is 2 (no reason holds).
    oldest = _least(urgent_at, open_cases.c.serious_at,
                    case((overdue, _day_start(summary.next_due)), else_=None),
                    case((no_contact, last_contact), else_=None),
                    summary.falling_since,
                    open_cases.c.unanswered_at)
    worst = func.coalesce(open_cases.c.worst, 99)

    assigned = and_(CaseworkerAssignment.returnee_id == User.id,
                    CaseworkerAssignment.ended_at.is_(None))
    base = (select(User.id).join(CaseworkerAssignment, assigned)
            .outerjoin(CheckInSummary, CheckInSummary.user_id == User.id)
            .outerjoin(open_cases, open_cases.c.rid == User.id)
            .outerjoin(urgent_alerts, urgent_alerts.c.rid == User.id)
            .outerjoin(summary, summary.returnee_id == User.id)
            .where(User.organisation_id == org_id, User.role == Role.RETURNEE.value,
                   User.disabled_at.is_(None)))
    if followed_by:
        base = base.where(CaseworkerAssignment.caseworker_id == followed_by)
    if ids is not None:
        base = base.where(User.id.in_(ids))
    rows = base.add_columns(
        caseworker.label("cw"), last_at.label("last_at"), open_cases.c.concerns,
        open_cases.c.worst, open_cases.c.requests, summary.next_due, attention.label("att"),
        urgent_at.label("urgent_at"), open_cases.c.serious_at,
        case((no_contact, last_contact), else_=None).label("quiet_since"),
        summary.falling_since, open_cases.c.unanswered_at, summary.next_month,
        summary.check_id)
    return _Live(base=base, rows=rows, attention=attention, oldest=oldest, worst=worst,
                 urgent=urgent, no_contact=no_contact, overdue=overdue,
                 last_contact=last_contact)


def _order_showing(show: str | None, now: datetime) -> list:
    """`_Live.showing` on the kept order: the reasons that start with time
    compare its copies of their instants with `now`."""
    order = CaseloadOrder
    return {"urgent": [order.attention == 0], "attention": [order.attention < 2],
            "no_contact": [order.last_contact < now - timedelta(days=NO_CONTACT_DAYS)],
            "overdue": [order.next_due < _today(now) - timedelta(days=OVERDUE_AFTER_DAYS)],
            }.get(show or "", [])


def _stale(now: datetime) -> ColumnElement[bool]:
    order = CaseloadOrder
    return or_(order.fresh_until <= now, order.fresh_from > now)


# Stale places of an organisation the caseload computes beside the kept
# order. With more (after the migration, or with the worker stopped for
# long) it computes everyone's, as before the order was kept: right, only
# slower.
STALE_AT_MOST = 500


def _page_in_order(session: Session, org_id: int, followed_by: int | None, show: str | None,
                   now: datetime, requested: int | None) -> tuple[list[int], Page]:
    """The ids of one page of the caseload, in its order: the people whose
    kept place is fresh, read in index order, and the stale ones computed
    from their records, merged. Three statements whatever the number of
    people: the stale places (all organisations'), the count, the page.

    The stale ones are named by their ids, so the database plans for the
    few they are; a place gone stale since that first statement is read as
    it was a moment before. Stale places of the organisation: of its people
    now, or of those its copy still names (moved away since)."""
    order = CaseloadOrder
    stale = list(session.scalars(
        select(order.returnee_id).join(User, User.id == order.returnee_id)
        .where(_stale(now), or_(User.organisation_id == org_id, order.organisation_id == org_id))
        .limit(STALE_AT_MOST + 1)))
    if len(stale) > STALE_AT_MOST:
        live = _live(org_id, followed_by, now)
        everyone, shown = paginate(session, live.base.where(*live.showing(show))
                                   .order_by(*live.order()), requested, PAGE_SIZE, scalars=True)
        return list(everyone), shown
    in_caseload = [order.organisation_id == org_id, *_order_showing(show, now)]
    if followed_by:
        in_caseload.append(order.caseworker_id == followed_by)
    counted = select(func.count()).select_from(order).where(*in_caseload)
    kept = (select(order.returnee_id.label("id"), order.attention.label("att"),
                   order.oldest.label("oldest"), order.worst.label("worst"),
                   order.name.label("name"))
            .where(*in_caseload, order.returnee_id.not_in(stale))
            .order_by(order.attention, order.oldest, order.worst, order.name, order.returnee_id))
    if not stale:
        shown = page_of(session.scalar(counted) or 0, requested, PAGE_SIZE)
        return list(session.scalars(kept.with_only_columns(order.returnee_id)
                                    .offset(shown.offset).limit(shown.size))), shown
    live = _live(org_id, followed_by, now, ids=stale)
    computed = live.base.where(*live.showing(show))
    # Every kept place, less the stale ones among them (found by key: a
    # NOT IN over every place costs a comparison per stale id each), plus
    # the stale ones as computed.
    total = session.scalar(select(
        counted.scalar_subquery()
        - counted.where(order.returnee_id.in_(stale)).scalar_subquery()
        + computed.with_only_columns(func.count(), maintain_column_froms=True).scalar_subquery()))
    shown = page_of(total or 0, requested, PAGE_SIZE)
    enough = shown.offset + shown.size
    computed = (computed.with_only_columns(
                    User.id.label("id"), live.attention.label("att"), live.oldest.label("oldest"),
                    live.worst.label("worst"), User.display_name.label("name"),
                    maintain_column_froms=True)
                .order_by(*live.order()).limit(enough))
    both = union_all(select(kept.limit(enough).subquery()),
                     select(computed.subquery())).subquery()
    return list(session.scalars(
        select(both.c.id).order_by(both.c.att, both.c.oldest, both.c.worst, both.c.name, both.c.id)
        .offset(shown.offset).limit(shown.size))), shown


def caseload(session: Session, viewer: User, *, caseworker_id: int | None = None,
             show: str | None = None, page: int = 1, now: datetime | None = None) -> Caseload:
    """The returnees the viewer follows (a coordinator: the organisation's, or
    one caseworker's), those needing attention first. A fixed number of
    queries whatever the number of returnees.

    A person needs attention only for a stated reason (`reasons_of`): an
    urgent problem or alert open (attention 0), a serious problem open, a
    follow-up overdue, no contact (no check-in and no follow-up recorded) for
    NO_CONTACT_DAYS, a falling reintegration score, a request nobody has
    answered yet (attention 1). Sorted by attention, then by the age of the
    oldest reason, the worst open problem, the name.

    The order is read from `CaseloadOrder` where it is fresh (issue #24: at
    100,000 people computing everyone's reasons took 400 ms a page), and
    computed from the records for the rest (`_live`): one summary row per
    person for check-ins and for follow-ups and scores (kept on write), the
    open cases and urgent alerts grouped per person. The page's rows are
    then read for its people only, the same way."""
    now = now or utcnow()
    today = _today(now)
    org_id = viewer.organisation_id
    # Whose caseload: one caseworker's people, or the organisation's (issue
    # #24: a caseworker's 500 people no longer cost the follow-ups of 10,000).
    followed_by = viewer.id if viewer.role == Role.CASEWORKER.value else caseworker_id
    ids, shown = _page_in_order(session, org_id, followed_by, show, now, page)
    found: dict[int, Any] = {r[0]: r for r in session.execute(
        _live(org_id, followed_by, now, ids=ids).rows)} if ids else {}
    # Who is shown is decided by the records, here: the kept order's copies
    # of organisation and caseworker only place people (one disabled or
    # moved since the ids were read drops out).
    result = [found[i] for i in ids if i in found]
    people, checks, moods, progress = _page_details(
        session, ids, [r.check_id for r in result if r.check_id is not None])
    overdue_before = today - timedelta(days=OVERDUE_AFTER_DAYS)
    rows = []
    for (user_id, cw, at, concerns, worst, requests, due, att, urgent_since, serious_since,
         quiet_since, falling_at, unanswered_since, month, check_id) in result:
        n_steps, n_done = progress.get(user_id, (0, 0))
        rows.append(CaseloadRow(
            returnee=people[user_id], caseworker_name=cw, last_checkin_at=at,
            open_concerns=int(concerns or 0), worst_priority=worst,
            open_requests=int(requests or 0), steps=n_steps, steps_done=n_done,
            next_followup=due, next_followup_month=month,
            score=checks.get(check_id), attention=int(att),
            mood=sparkline(moods.get(user_id, [])[::-1]) if moods.get(user_id) else None,
            reasons=reasons_of(
                today, urgent_since=_as_time(urgent_since), serious_since=serious_since,
                overdue_since=due if due is not None and due < overdue_before else None,
                no_contact_since=_as_time(quiet_since), falling_since=_as_time(falling_at),
                unanswered_since=unanswered_since)))
    return Caseload(rows=rows, total=shown.total, page=shown.number, pages=shown.pages)


# --- The kept order (CaseloadOrder) ---------------------------------------------------

ORDER_BATCH = 200  # people a transaction of the sweep computes again
NEVER = datetime(9999, 12, 31, tzinfo=UTC)


# Built once. A place is written back only if no write came since it was
# read (its `version`): what was computed may miss that write.
_ORDER_TABLE = cast(Table, CaseloadOrder.__table__)
_ORDER_UPDATE = (
    update(_ORDER_TABLE)
    .where(_ORDER_TABLE.c.returnee_id == bindparam("person"),
           _ORDER_TABLE.c.version == bindparam("seen"))
    .values(organisation_id=bindparam("org"), caseworker_id=bindparam("caseworker"),
            attention=bindparam("att"), oldest=bindparam("oldest"), worst=bindparam("worst"),
            name=bindparam("name"), last_contact=bindparam("contact"), next_due=bindparam("due"),
            fresh_from=bindparam("now"), fresh_until=bindparam("until")))


def _starts_by_time(now: datetime, last_contact: datetime | None,
                    next_due: date | None) -> datetime:
    """The first instant after `now` at which a reason starts with no write:
    the silence reaches NO_CONTACT_DAYS, the follow-up falls overdue
    (OVERDUE_AFTER_DAYS after its date, from the next day's start)."""
    starts = [NEVER]
    if last_contact is not None:
        starts.append(last_contact + timedelta(days=NO_CONTACT_DAYS))
    if next_due is not None:
        starts.append(datetime.combine(next_due + timedelta(days=OVERDUE_AFTER_DAYS + 1),
                                       datetime.min.time(), UTC))
    return min(s for s in starts if s > now)


def refresh_caseload_order(session: Session, now: datetime | None = None,
                           size: int = ORDER_BATCH) -> int:
    """Compute the order of up to `size` stale people again (the sweep's
    work, `tasks.sweep`), the longest stale first. Returns how many were
    taken. A row written again since it was read here (its `version` moved
    on) is left stale for the next run: what was computed may miss that write."""
    now = now or utcnow()
    order = CaseloadOrder
    taken = session.execute(
        select(order.returnee_id, order.version, User.organisation_id)
        .join(User, User.id == order.returnee_id)
        .where(_stale(now)).order_by(order.fresh_until, order.returnee_id).limit(size)).all()
    by_org: dict[int, list[int]] = {}
    for person, _version, org in taken:
        by_org.setdefault(org, []).append(person)
    computed: dict[int, dict] = {}
    for org, ids in by_org.items():
        live = _live(org, None, now, ids=ids)
        for person, caseworker, att, oldest, worst, name, last_contact, due in cast(
                Iterable[Any], session.execute(live.base.add_columns(
                    CaseworkerAssignment.caseworker_id, live.attention, live.oldest, live.worst,
                    User.display_name, live.last_contact, CaseloadSummary.next_due))):
            contact = _as_time(last_contact)
            computed[person] = dict(
                org=org, caseworker=caseworker, att=int(att), oldest=_as_time(oldest),
                worst=int(worst), name=name, contact=contact, due=due,
                until=_starts_by_time(now, contact, due))
    outside = dict(org=None, caseworker=None, att=2, oldest=None, worst=99, name="",
                   contact=None, due=None, until=NEVER)  # until a write makes it stale
    if taken:
        session.connection().execute(_ORDER_UPDATE, [
            {**computed.get(person, outside), "person": person, "seen": version, "now": now}
            for person, version, _org in taken])
    return len(taken)


def _as_time(value: object) -> datetime | None:
    """A computed column (LEAST, CASE) as a datetime: SQLite hands back text."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def due_followups(session: Session, viewer: User, today: date, page: int | None
                  ) -> tuple[Sequence[Any], Page]:
    """Follow-ups not recorded that are due within DUE_AHEAD_DAYS or overdue,
    soonest first: the organisation's (a coordinator), or the caseworker's
    own people's. A page of rows with the follow-up and the person's id and
    name only: whole accounts (with their organisation joined) would be read
    for every due follow-up before the sort."""
    query = (select(FollowUp.id, FollowUp.month, FollowUp.due_on, User.id.label("person_id"),
                    User.display_name.label("name"))
             .join(User, User.id == FollowUp.returnee_id)
             .join(CaseworkerAssignment, and_(CaseworkerAssignment.returnee_id == User.id,
                                              CaseworkerAssignment.ended_at.is_(None)))
             .where(FollowUp.organisation_id == viewer.organisation_id, FollowUp.done_at.is_(None),
                    FollowUp.due_on <= today + timedelta(days=DUE_AHEAD_DAYS),
                    User.disabled_at.is_(None))
             .order_by(FollowUp.due_on, User.display_name, FollowUp.id))
    if viewer.role == Role.CASEWORKER.value:
        query = query.where(CaseworkerAssignment.caseworker_id == viewer.id)
    return paginate(session, query, page)


def _page_details(session: Session, ids: list[int], check_ids: list[int]):
    """For the returnees of one page, in four queries: their accounts, their
    latest checks (named by their summaries), their last moods, and their
    plan's progress (steps, steps done). None of these orders the list, so
    they are read for the page's people only, not for the whole caseload."""
    if not ids:
        return {}, {}, {}, {}
    people = {u.id: u for u in session.scalars(select(User).where(User.id.in_(ids)))}
    checks = {c.id: c for c in session.scalars(
        select(ReintegrationCheck).where(ReintegrationCheck.id.in_(check_ids)))
    } if check_ids else {}
    recent = (select(CheckIn.user_id, CheckIn.mood,
                     func.row_number().over(partition_by=CheckIn.user_id,
                                            order_by=(CheckIn.created_at.desc(), CheckIn.id.desc()))
                     .label("n"))
              .where(CheckIn.user_id.in_(ids)).subquery())
    moods: dict[int, list[int]] = {}
    for user_id, mood in cast(Iterable[tuple[int, int]], session.execute(
            select(recent.c.user_id, recent.c.mood).where(recent.c.n <= SPARK_POINTS)
            .order_by(recent.c.user_id, recent.c.n))):
        moods.setdefault(user_id, []).append(mood)
    progress = {user_id: (int(n), int(done)) for user_id, n, done in session.execute(
        select(Goal.returnee_id, func.count(Step.id), func.count(Step.done_at))
        .join(Step, Step.goal_id == Goal.id)
        .where(Goal.returnee_id.in_(ids), Goal.state == "active")
        .group_by(Goal.returnee_id))}
    return people, checks, moods, progress


# --- Timeline ---------------------------------------------------------------------

KINDS = {
    "checkin": _l("Check-ins"),
    "concern": _l("Problems"),
    "request": _l("Requests"),
    "plan": _l("Plan"),
    "followup": _l("Follow-ups"),
    "note": _l("Notes"),
    "risk": _l("Risk check"),
}
TIMELINE_LIMIT = 50  # per kind


@dataclass
class Entry:
    kind: str
    at: datetime
    item: object


def timeline(session: Session, returnee: User, kind: str | None = None) -> list[Entry]:
    """The returnee's records, newest first: the latest TIMELINE_LIMIT of each
    kind (or of one kind), one query per kind."""
    wanted = [kind] if kind in KINDS else list(KINDS)
    entries: list[Entry] = []
    rid = returnee.id

    def newest(query, column):
        return session.scalars(query.order_by(column.desc()).limit(TIMELINE_LIMIT)).all()

    if "checkin" in wanted:
        entries += [Entry("checkin", c.created_at, c) for c in newest(
            select(CheckIn).where(CheckIn.user_id == rid), CheckIn.created_at)]
    for case_type, name in ((sc.CONCERN, "concern"), (sc.REQUEST, "request")):
        if name in wanted:
            entries += [Entry(name, c.created_at, c) for c in newest(
                select(Case).where(Case.returnee_id == rid, Case.type == case_type),
                Case.created_at)]
    if "plan" in wanted:
        entries += [Entry("plan", p.at, p) for p in newest(
            select(PlanChange).options(joinedload(PlanChange.goal), joinedload(PlanChange.actor))
            .where(PlanChange.returnee_id == rid), PlanChange.at)]
    if "followup" in wanted:
        done = newest(select(FollowUp).where(FollowUp.returnee_id == rid,
                                             FollowUp.done_at.is_not(None)), FollowUp.done_at)
        checks = {c.followup_id: c for c in session.scalars(select(ReintegrationCheck).where(
            ReintegrationCheck.followup_id.in_([f.id for f in done] or [-1])))}
        entries += [Entry("followup", f.done_at, (f, checks.get(f.id))) for f in done]
    if "note" in wanted:
        entries += [Entry("note", m.created_at, m) for m in newest(
            select(CaseMessage).options(joinedload(CaseMessage.author))
            .join(Case, Case.id == CaseMessage.case_id)
            .where(Case.returnee_id == rid, CaseMessage.internal.is_(True)),
            CaseMessage.created_at)]
    if "risk" in wanted:  # issue #22
        entries += [Entry("risk", r.created_at, r) for r in newest(
            select(RiskCheck).where(RiskCheck.returnee_id == rid), RiskCheck.created_at)]
    return sorted(entries, key=lambda e: e.at, reverse=True)


def household_members(session: Session, viewer: User, returnee: User) -> list[tuple[User, bool]]:
    """The other people of the returnee's household, each with whether the
    viewer may open their timeline (a caseworker: those assigned to them)."""
    if returnee.household_id is None:
        return []
    members = session.scalars(select(User).where(
        User.household_id == returnee.household_id, User.id != returnee.id,
        User.organisation_id == returnee.organisation_id).order_by(User.display_name)).all()
    if viewer.role == Role.COORDINATOR.value:
        return [(m, True) for m in members]
    mine = set(session.scalars(select(CaseworkerAssignment.returnee_id).where(
        CaseworkerAssignment.caseworker_id == viewer.id, CaseworkerAssignment.ended_at.is_(None),
        CaseworkerAssignment.returnee_id.in_([m.id for m in members] or [-1]))))
    return [(m, m.id in mine) for m in members]

