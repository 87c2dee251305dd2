"""Support requests and concerns: creating them, the caseworker's triage,
the thread, the history and the medicine-gaps view.

Functions take the SQLAlchemy session, flush, and raise `DomainError` with a
message a person can read. They never commit. Nothing here logs a person's
words, a phone number or a medicine's name: ids only.
"""
from __future__ import annotations

import logging
import re
import zoneinfo
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from .. import outbox
from ..alerts import signals
from ..db import Page, paginate
from ..errors import DomainError
from ..models import Organisation, Role, User, utcnow
from ..people.models import CaseworkerAssignment
from ..people.service import current_caseworker_id
from ..push import service as push
from . import choices as c
from .models import Case, CaseEvent, CaseMessage

log = logging.getLogger(__name__)

PHONE_CHARS = re.compile(r"[0-9+\- ]+")
PHONE_DIGITS = (6, 20)
MY_CASES_LIMIT = 200
SOURCE_TYPE = "support_case"
# "I need help now" without the PIN: at most this many per phone per hour.
WITHOUT_PIN_PER_HOUR = 10


# --- Cleaning input -------------------------------------------------------------

def fold(text: str) -> str:
    """The same words however they were typed: case and spacing folded."""
    return " ".join(text.split()).casefold()


def clean_text(raw: str | None, limit: int, field: str) -> str:
    # NUL cannot be stored (PostgreSQL refuses it) and is never meant.
    text = (raw or "").replace("\x00", "").strip()
    if len(text) > limit:
        raise DomainError(_l("Please use at most %(max)d characters.", max=limit), field=field)
    return text


def clean_phone(raw: str | None, field: str = "callback_phone") -> str:
    """A phone number: digits, spaces, + and -, with 6 to 20 digits. Empty is fine."""
    phone = " ".join((raw or "").split())
    if not phone:
        return ""
    digits = sum(ch.isdigit() for ch in phone)
    if (len(phone) > c.PHONE_MAX or not PHONE_CHARS.fullmatch(phone)
            or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]):
        raise DomainError(_l("Please write a phone number, for example +232 76 123 456."),
                          field=field)
    return phone


def _choice(value: str | None, allowed, field: str) -> str:
    if value not in allowed:
        raise DomainError(_l("Please choose one from the list."), field=field)
    return value  # type: ignore[return-value]


def _returnee_only(user: User) -> None:
    if user.role != Role.RETURNEE.value:
        raise DomainError(_l("You cannot do this."))


# --- Creating -------------------------------------------------------------------

def _open(session: Session, returnee: User, case: Case) -> Case:
    case.organisation_id = returnee.organisation_id
    case.returnee_id = returnee.id
    case.status = "new"
    session.add(case)
    session.flush()
    session.add(CaseEvent(organisation_id=case.organisation_id, case_id=case.id,
                          actor_id=returnee.id, from_status=None, to_status="new"))
    session.flush()
    return case


def create_request(session: Session, returnee: User, *, category: str | None,
                   contact_way: str | None, details: str | None = "",
                   callback_phone: str | None = "", district: str | None = "") -> Case:
    _returnee_only(returnee)
    case = Case(
        type=c.REQUEST,
        category=_choice(category, c.CATEGORIES, "category"),
        contact_way=_choice(contact_way, c.CONTACT_WAYS, "contact_way"),
        text=clean_text(details, c.DETAILS_MAX, "details"),
        callback_phone=clean_phone(callback_phone),
        district=clean_text(district, c.DISTRICT_MAX, "district"),
        priority=c.PRIORITY_LATER,
    )
    _open(session, returnee, case)
    signals.emit(session, returnee=returnee, kind="support.new", source_type=SOURCE_TYPE,
                 source_id=case.id, raised_by=returnee)
    outbox.log_after_commit(log, "support request case=%s returnee=%s", case.id, returnee.id)
    return case


def _concern_signal(kind: str, urgency: str) -> str | None:
    if urgency == "now":
        return "concern.safety_now" if kind == "safety" else "concern.urgent"
    if urgency == "soon":
        return "concern.serious"
    return None  # "it can wait": the inbox is enough


def _priority(kind: str, urgency: str) -> int:
    if urgency == "now":
        return c.PRIORITY_SAFETY_NOW if kind == "safety" else c.PRIORITY_NOW
    return c.PRIORITY_SOON if urgency == "soon" else c.PRIORITY_LATER


def create_concern(session: Session, returnee: User, *, kind: str | None,
                   sub_type: str | None, urgency: str | None, medicine_name: str | None = "",
                   note: str | None = "", callback_phone: str | None = "",
                   district: str | None = "") -> Case:
    _returnee_only(returnee)
    kind = _choice(kind, c.KINDS, "kind")
    sub_type = _choice(sub_type, c.SUB_TYPES[kind], "sub_type")
    urgency = _choice(urgency, c.URGENCIES, "urgency")
    medicine = " ".join(clean_text(medicine_name, c.MEDICINE_MAX, "medicine_name").split())
    if kind != "medicine":
        medicine = ""
    case = Case(
        type=c.CONCERN, kind=kind, sub_type=sub_type, urgency=urgency,
        medicine_name=medicine or None, medicine_key=fold(medicine) or None,
        text=clean_text(note, c.NOTE_MAX, "note"),
        callback_phone=clean_phone(callback_phone),
        district=" ".join(clean_text(district, c.DISTRICT_MAX, "district").split()),
        priority=_priority(kind, urgency),
    )
    return _raise_concern(session, returnee, case)


def help_now(session: Session, returnee: User, callback_phone: str | None = "") -> HelpNow:
    """"I need help now": a safety concern, most urgent. A callback number that
    is not a phone number never stops it: the report is stored without the
    number, and `phone_error` says why."""
    _returnee_only(returnee)
    phone, phone_error = _callback_or_error(callback_phone)
    case = Case(type=c.CONCERN, kind="safety", sub_type=None, urgency="now",
                priority=c.PRIORITY_SAFETY_NOW, callback_phone=phone)
    return HelpNow(_raise_concern(session, returnee, case), phone_error)


@dataclass
class HelpNow:
    case: Case
    phone_error: str | None = None


def _callback_or_error(raw: str | None) -> tuple[str, str | None]:
    try:
        return clean_phone(raw), None
    except DomainError as err:
        return "", str(err.message)


def help_without_pin(session: Session, returnee: User, now: datetime | None = None) -> Case | None:
    """"I need help now" from the person's bound phone whose session expired,
    or whose binding is locked by wrong PINs: the binding says who it is (a
    false alarm costs less than a missed one). Staff see it came without PIN.
    None when the phone sent WITHOUT_PIN_PER_HOUR of them in the last hour
    (one binding per person is usable at a time, so per person is per
    binding): the caller answers with the emergency number instead."""
    _returnee_only(returnee)
    if without_pin_over_limit(session, returnee, now):
        return None
    case = Case(type=c.CONCERN, kind="safety", sub_type=None, urgency="now",
                priority=c.PRIORITY_SAFETY_NOW, without_pin=True)
    return _raise_concern(session, returnee, case)


def without_pin_over_limit(session: Session, returnee: User,
                           now: datetime | None = None) -> bool:
    since = (now or utcnow()) - timedelta(hours=1)
    sent = session.scalar(select(func.count()).select_from(Case).where(
        Case.returnee_id == returnee.id, Case.without_pin.is_(True), Case.created_at >= since))
    if (sent or 0) < WITHOUT_PIN_PER_HOUR:
        return False
    log.info("help without pin over the hourly limit returnee=%s", returnee.id)
    return True


def last_callback_phone(session: Session, returnee: User) -> str:
    """The number the person last asked to be called back on, to offer again."""
    return session.scalar(select(Case.callback_phone).where(
        Case.returnee_id == returnee.id, Case.callback_phone != "")
        .order_by(Case.created_at.desc()).limit(1)) or ""


def short_reference(user: User) -> str:
    """What the duty phone is told in a text message: enough to find the
    person (staff see it on the person's page), nothing about them."""
    return f"F-{user.id}"


def _raise_concern(session: Session, returnee: User, case: Case) -> Case:
    _open(session, returnee, case)
    kind = _concern_signal(case.kind or "", case.urgency or "")
    if kind:
        signals.emit(session, returnee=returnee, kind=kind, source_type=SOURCE_TYPE,
                     source_id=case.id, raised_by=returnee)
    outbox.log_after_commit(log, "concern case=%s returnee=%s priority=%s",
                            case.id, returnee.id, case.priority)
    return case


# --- The thread and the triage ----------------------------------------------------

def add_message(session: Session, case: Case, author: User, body: str | None, *,
                internal: bool = False) -> CaseMessage:
    text = clean_text(body, c.MESSAGE_MAX, "body")
    if not text:
        raise DomainError(_l("Please fill this in."), field="body")
    if internal and not author.is_staff:
        raise DomainError(_l("You cannot do this."))
    message = CaseMessage(organisation_id=case.organisation_id, case_id=case.id,
                          author_id=author.id, body=text, internal=internal)
    session.add(message)
    case.updated_at = utcnow()
    session.flush()
    if author.is_staff and not internal:
        _mark_on_it(case)
        # A reply in their own case is not a reminder: it goes to every
        # device the person added, whatever their reminder choice.
        push.notify(session, [case.returnee_id], "reply", f"/help/cases/{case.id}",
                    topic=f"case-{case.id}", urgency="normal", ttl=3 * 24 * 3600)
    return message


def next_statuses(case: Case) -> tuple[str, ...]:
    return c.TRANSITIONS[case.type].get(case.status, ())


def change_status(session: Session, case: Case, actor: User, to_status: str | None,
                  reason: str | None = "", outcome: str | None = None) -> CaseEvent:
    if not actor.is_staff:
        raise DomainError(_l("You cannot do this."))
    to_status = _choice(to_status, next_statuses(case), "status")
    reason = clean_text(reason, c.REASON_MAX, "reason")
    if to_status == "declined" and not reason:
        raise DomainError(_l("Please write why. The person will read it."), field="reason")
    if to_status == "closed":
        outcome = _choice(outcome, c.OUTCOMES, "outcome")
    else:
        outcome = None
    event = CaseEvent(organisation_id=case.organisation_id, case_id=case.id, actor_id=actor.id,
                      from_status=case.status, to_status=to_status, reason=reason,
                      outcome=outcome)
    session.add(event)
    case.status = to_status
    case.outcome = outcome
    case.updated_at = utcnow()
    session.flush()
    if to_status in ("acknowledged", "in_progress"):
        on_it(session, case)
    outbox.log_after_commit(log, "case=%s status=%s by=%s", case.id, to_status, actor.id)
    return event


def acknowledge(session: Session, case: Case, actor: User) -> CaseEvent:
    if case.status != "new":
        raise DomainError(_l("This was already seen."), field="status")
    return change_status(session, case, actor, "acknowledged")


def _mark_on_it(case: Case) -> bool:
    if case.on_it_at is not None:
        return False
    case.on_it_at = utcnow()
    return True


def on_it(session: Session, case: Case) -> None:
    """Staff took the case on (acknowledged it or its alert): the person sees
    "Someone is on it" with the time, and their phones get a generic line."""
    if _mark_on_it(case):
        session.flush()
        push.notify(session, [case.returnee_id], "on_it", f"/help/cases/{case.id}",
                    topic=f"case-{case.id}", urgency="high", ttl=24 * 3600)


def case_of_alert(session: Session, source_type: str | None, source_id: int | None,
                  organisation_id: int) -> Case | None:
    """The case an alert was raised for, if it was raised for one."""
    if source_type != SOURCE_TYPE or source_id is None:
        return None
    case = session.get(Case, source_id)
    return case if case is not None and case.organisation_id == organisation_id else None


@dataclass
class Entry:
    """One line of the timeline: a message or a status change."""

    at: datetime
    message: CaseMessage | None = None
    event: CaseEvent | None = None


def timeline(session: Session, case: Case, *, include_internal: bool) -> list[Entry]:
    query = (select(CaseMessage).options(joinedload(CaseMessage.author))
             .where(CaseMessage.case_id == case.id))
    if not include_internal:
        query = query.where(CaseMessage.internal.is_(False))
    messages = session.scalars(query).all()
    events = session.scalars(select(CaseEvent).options(joinedload(CaseEvent.actor))
                             .where(CaseEvent.case_id == case.id)).all()
    entries = [Entry(m.created_at, message=m) for m in messages]
    entries += [Entry(e.at, event=e) for e in events]
    # Status changes before messages of the same moment; ids keep the order stable.
    return sorted(entries, key=lambda x: (x.at, x.message is not None,
                                          (x.message or x.event).id))  # type: ignore[union-attr]


# --- Lists ------------------------------------------------------------------------

def my_cases(session: Session, returnee: User) -> list[Case]:
    """The person's requests to the organisation that follows them now: those
    left with an organisation they were handed over from are closed there and
    read in their data download, not answered here (as `visible_case` says)."""
    return list(session.scalars(select(Case).where(Case.returnee_id == returnee.id,
                                                   Case.organisation_id == returnee.organisation_id)
                                .order_by(Case.created_at.desc()).limit(MY_CASES_LIMIT)))


@dataclass
class InboxRow:
    case: Case
    returnee_name: str
    caseworker_name: str | None


def inbox(session: Session, viewer: User, *, show: str = "open",
          page: int | None = None) -> tuple[list[InboxRow], Page]:
    """One page of cases: open ones most urgent and oldest first, ended ones
    latest first. A caseworker sees the cases of returnees assigned to them,
    a coordinator the whole organisation. Two queries (the count and the
    page), whatever the number of cases."""
    returnee = aliased(User)
    caseworker = aliased(User)
    query = (
        select(Case, returnee.display_name, caseworker.display_name)
        .join(returnee, returnee.id == Case.returnee_id)
        .outerjoin(CaseworkerAssignment, and_(CaseworkerAssignment.returnee_id == Case.returnee_id,
                                              CaseworkerAssignment.ended_at.is_(None)))
        .outerjoin(caseworker, caseworker.id == CaseworkerAssignment.caseworker_id)
        .where(Case.organisation_id == viewer.organisation_id)
    )
    if viewer.role != Role.COORDINATOR.value:
        query = query.where(CaseworkerAssignment.caseworker_id == viewer.id)
    if show == "open":
        query = query.where(Case.status.in_(c.OPEN_STATUSES)).order_by(
            Case.priority, Case.created_at, Case.id)
    else:
        query = query.where(Case.status.not_in(c.OPEN_STATUSES)).order_by(
            Case.updated_at.desc(), Case.id.desc())
    rows, shown = paginate(session, query, page)
    return [InboxRow(case, name, cw) for case, name, cw in rows], shown


def visible_case(session: Session, viewer: User, case_id: int) -> Case | None:
    """The access scope "case": the returnee's own, their current caseworker's,
    a coordinator's of the same organisation. Facilitators never."""
    case = session.get(Case, case_id)
    if case is None or case.organisation_id != viewer.organisation_id:
        return None
    role = viewer.role_enum
    if role is Role.RETURNEE:
        return case if case.returnee_id == viewer.id else None
    if role is Role.COORDINATOR:
        return case
    if role is Role.CASEWORKER and current_caseworker_id(session, case.returnee_id) == viewer.id:
        return case
    return None


# --- Medicine gaps ----------------------------------------------------------------

@dataclass
class MedicineGap:
    month: date  # the first day of the month, in the organisation's time zone
    medicine: str  # as one person wrote it; "" when no name was given
    district: str
    reports: int


def medicine_gaps(session: Session, organisation: Organisation, *, months: int = 12,
                  now: datetime | None = None) -> list[MedicineGap]:
    """Medicine concerns per month, medicine and district, latest month first,
    the most reported first. Names and districts are folded (case, spacing),
    so "Insulin", "insulin " and "INSULIN" count as one medicine."""
    since = (now or utcnow()) - timedelta(days=31 * months)
    rows = session.execute(
        select(Case.medicine_key, Case.medicine_name, Case.district, Case.created_at)
        .where(Case.organisation_id == organisation.id, Case.kind == "medicine",
               Case.created_at >= since)
        .order_by(Case.created_at)
    ).all()
    zone = zoneinfo.ZoneInfo(organisation.timezone or "UTC")
    counts: Counter[tuple[date, str, str]] = Counter()
    # folded -> the first spelling seen, to show
    medicines: dict[str, str] = {}
    districts: dict[str, str] = {}
    for key, name, district, at in rows:
        medicine_key = key or ""
        district_key = fold(district or "")
        medicines.setdefault(medicine_key, name or "")
        districts.setdefault(district_key, " ".join((district or "").split()))
        counts[(at.astimezone(zone).date().replace(day=1), medicine_key, district_key)] += 1
    gaps = [MedicineGap(month, medicines[m], districts[d], n)
            for (month, m, d), n in counts.items()]
    return sorted(gaps, key=lambda g: (-g.month.toordinal(), -g.reports, fold(g.medicine),
                                       fold(g.district)))
