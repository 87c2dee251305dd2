"""CSV export for lessons learnt and research (coordinators only).

People are named by a pseudonymous id: HMAC-SHA256 of the user id keyed with
the organisation's export secret, truncated to 16 hex digits. The same person
has the same id in every export of the organisation; without the secret the
id cannot be traced back. No names, notes or free text: only keys, dates
(days) and numbers; except the lessons learnt (issue #26), which the
practitioners want to take along: their text, under the pseudonymous id.
Medicine names and districts are free text and stay out; the medicine-gaps
page shows them to coordinators.

A cell that a spreadsheet would run as a formula (starting with = + - @, a tab
or a carriage return) is written with a leading apostrophe.
"""
from __future__ import annotations

import csv
import hashlib
import hmac
import io
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import audit
from ..checkins.models import QUESTIONS, CheckIn
from ..models import Organisation, User
from ..people.models import ReportingProfile
from ..risk.instrument import AREAS as RISK_AREAS
from ..risk.models import RiskCheck
from ..support import choices as sc
from ..support.models import Case
from .models import FollowUp, Lesson, ReintegrationCheck

PID_HEX = 16
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ROW_LIMIT = 500_000


def pseudonym(org: Organisation, user_id: int) -> str:
    return hmac.new(org.export_secret.encode(), str(user_id).encode(),
                    hashlib.sha256).hexdigest()[:PID_HEX]


def neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _day(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return (value.date() if isinstance(value, datetime) else value).isoformat()


def _months_since(returned: date | None, at: datetime | date | None) -> str:
    if returned is None or at is None:
        return ""
    day = at.date() if isinstance(at, datetime) else at
    return str((day.year - returned.year) * 12 + day.month - returned.month
               - (day.day < returned.day))


def _checkins(session: Session, org: Organisation):
    yield ["pid", "date", "months_since_return", "mood", *QUESTIONS]
    for c, returned in session.execute(
            select(CheckIn, User.return_date).join(User, User.id == CheckIn.user_id)
            .where(CheckIn.organisation_id == org.id).order_by(CheckIn.created_at, CheckIn.id)
            .limit(ROW_LIMIT)):
        yield [pseudonym(org, c.user_id), _day(c.created_at), _months_since(returned, c.created_at),
               c.mood, *[getattr(c, q) or "" for q in QUESTIONS]]


def _cases(case_type: str):
    def rows(session: Session, org: Organisation):
        if case_type == sc.CONCERN:
            yield ["pid", "date", "months_since_return", "kind", "sub_type", "urgency", "status",
                   "outcome"]
        else:
            yield ["pid", "date", "months_since_return", "category", "contact_way", "status",
                   "outcome"]
        for c, returned in session.execute(
                select(Case, User.return_date).join(User, User.id == Case.returnee_id)
                .where(Case.organisation_id == org.id, Case.type == case_type)
                .order_by(Case.created_at, Case.id).limit(ROW_LIMIT)):
            head = [pseudonym(org, c.returnee_id), _day(c.created_at),
                    _months_since(returned, c.created_at)]
            if case_type == sc.CONCERN:
                yield head + [c.kind or "", c.sub_type or "", c.urgency or "", c.status,
                              c.outcome or ""]
            else:
                yield head + [c.category or "", c.contact_way or "", c.status, c.outcome or ""]
    return rows


def _followups(session: Session, org: Organisation):
    yield ["pid", "month", "due_on", "done_on", "contact", "outcome"]
    for f in session.scalars(select(FollowUp).where(FollowUp.organisation_id == org.id)
                             .order_by(FollowUp.due_on, FollowUp.id).limit(ROW_LIMIT)):
        yield [pseudonym(org, f.returnee_id), f.month, _day(f.due_on), _day(f.done_at),
               f.contact or "", f.outcome or ""]


def _scores(session: Session, org: Organisation):
    yield ["pid", "date", "months_since_return", "followup_month", "instrument",
           "instrument_version", "economic", "social", "psychosocial", "composite"]
    for c, returned, month in session.execute(
            select(ReintegrationCheck, User.return_date, FollowUp.month)
            .join(User, User.id == ReintegrationCheck.returnee_id)
            .outerjoin(FollowUp, FollowUp.id == ReintegrationCheck.followup_id)
            .where(ReintegrationCheck.organisation_id == org.id)
            .order_by(ReintegrationCheck.created_at, ReintegrationCheck.id).limit(ROW_LIMIT)):
        yield [pseudonym(org, c.returnee_id), _day(c.created_at),
               _months_since(returned, c.created_at), month or "", c.instrument_id,
               c.instrument_version, f"{c.economic:.4f}", f"{c.social:.4f}",
               f"{c.psychosocial:.4f}", f"{c.composite:.4f}"]


def _risk_checks(session: Session, org: Organisation):
    """Risk checks (issue #22): the risk per area (0 low, 1 some, 2 high) and
    the answers as option keys, never text."""
    yield ["pid", "date", "months_since_return", "phase", "instrument", "instrument_version",
           *RISK_AREAS, "answers"]
    for r, returned in session.execute(
            select(RiskCheck, User.return_date).join(User, User.id == RiskCheck.returnee_id)
            .where(RiskCheck.organisation_id == org.id)
            .order_by(RiskCheck.created_at, RiskCheck.id).limit(ROW_LIMIT)):
        yield [pseudonym(org, r.returnee_id), _day(r.created_at),
               _months_since(returned, r.created_at), r.phase, r.instrument_id,
               r.instrument_version, *[r.levels.get(area, "") for area in RISK_AREAS],
               ";".join(f"{q}={a}" for q, a in sorted(r.answers.items()))]


def _lessons(session: Session, org: Organisation):
    yield ["pid", "date", "closed", "outcome", "what_helped", "what_was_missing"]
    for lesson in session.scalars(select(Lesson).where(Lesson.organisation_id == org.id)
                                  .order_by(Lesson.created_at, Lesson.id).limit(ROW_LIMIT)):
        yield [pseudonym(org, lesson.returnee_id), _day(lesson.created_at), lesson.scope,
               lesson.outcome or "", lesson.helped, lesson.missing]


def _profiles(session: Session, org: Organisation):
    """The details for reports of those who agreed (issue #26): keys and
    bands; the return as a month, not a day."""
    yield ["pid", "sex", "age_band", "country", "return_kind", "household_size", "return_month"]
    for p, returned in session.execute(
            select(ReportingProfile, User.return_date)
            .join(User, User.id == ReportingProfile.returnee_id)
            .where(ReportingProfile.organisation_id == org.id)
            .order_by(ReportingProfile.id).limit(ROW_LIMIT)):
        yield [pseudonym(org, p.returnee_id), p.sex or "", p.age_band or "", p.country or "",
               p.return_kind or "", p.household_size or "",
               returned.strftime("%Y-%m") if returned else ""]


DATASETS = {
    "checkins": _checkins,
    "concerns": _cases(sc.CONCERN),
    "requests": _cases(sc.REQUEST),
    "followups": _followups,
    "scores": _scores,
    "lessons": _lessons,
    "risk_checks": _risk_checks,
    "profiles": _profiles,
}


def export_csv(session: Session, actor: User, dataset: str) -> str:
    """The dataset as CSV text; the export is written to the audit log."""
    org = actor.organisation
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in DATASETS[dataset](session, org):
        writer.writerow([neutralise(v) for v in row])
    audit(session, actor, f"export.{dataset}", None, org.id)
    session.flush()
    return out.getvalue()
