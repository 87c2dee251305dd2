"""Indicators for a funder's report (issue #26), over a chosen period, broken
down by the details for reports (webapp.people: sex, age band, country, kind
of return, time since return, household size), with small cells suppressed.

The period is whole days in the organisation's time zone: from the first
day's local midnight to the local midnight after the last day. Each indicator
reads its records of the period in one query (ids, keys and numbers only),
and the people's details in one more; the grouping is done here. A cell of
fewer than SUPPRESS_BELOW people shows no figures, and when one cell of a
breakdown is hidden, the next smallest is hidden too, so that the total
cannot give it away.
"""
from __future__ import annotations

import csv
import io
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..alerts.models import Alert
from ..alerts.routing import ROUTES, SEVERITY_LABELS
from ..audit import audit
from ..checkins.models import CheckIn
from ..errors import DomainError
from ..models import Organisation, Role, User
from ..network import models as network
from ..people.models import ReportingProfile
from ..people.service import AGE_BANDS, RETURN_KINDS, SEXES
from ..plan.catalog import AREAS
from ..plan.models import Goal, PlanChange
from ..support import choices as sc
from ..support.models import Case
from .export import neutralise
from .models import FollowUp, ReintegrationCheck
from .service import OVERDUE_AFTER_DAYS

SUPPRESS_BELOW = 5
LONGEST_PERIOD_DAYS = 3 * 366
NOT_GIVEN = ""

BREAKDOWNS: dict[str, object] = {
    "sex": _l("Sex"),
    "age_band": _l("Age"),
    "country": _l("Country of return"),
    "return_kind": _l("Kind of return"),
    "since_return": _l("Time since return"),
    "household": _l("Household size"),
}
# Time since return, in whole months at the period's last day, banded; a
# return after the period is a band of its own.
SINCE_RETURN: dict[str, object] = {
    "0-3": _l("Under 3 months"), "3-6": _l("3 to 6 months"), "6-12": _l("6 to 12 months"),
    "12+": _l("12 months or more"), "later": _l("Returned after the period"),
}
HOUSEHOLD_BANDS: dict[str, object] = {
    "1": _l("1 person"), "2-3": _l("2 to 3 people"), "4-6": _l("4 to 6 people"),
    "7+": _l("7 people or more"),
}


def since_return_band(returned: date, last_day: date) -> str:
    """The band of the whole months from the return to the period's last day."""
    if returned > last_day:
        return "later"
    months = (last_day.year - returned.year) * 12 + last_day.month - returned.month
    if last_day.day < returned.day:
        months -= 1
    return "0-3" if months < 3 else "3-6" if months < 6 else "6-12" if months < 12 else "12+"


def household_band(size: int) -> str:
    return "1" if size <= 1 else "2-3" if size <= 3 else "4-6" if size <= 6 else "7+"


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # the last day, included

    def edges(self, org: Organisation) -> tuple[datetime, datetime]:
        """The period as UTC instants: [first local midnight, the one after the last day)."""
        zone = zoneinfo.ZoneInfo(org.timezone or "UTC")
        return (datetime.combine(self.start, time(), zone).astimezone(UTC),
                datetime.combine(self.end + timedelta(days=1), time(), zone).astimezone(UTC))


def period(start: date | None, end: date | None) -> Period:
    if start is None or end is None:
        raise DomainError(_l("Please enter a date like 2026-12-31."))
    if end < start:
        raise DomainError(_l("The end of the period must not be before its start."), field="end")
    if (end - start).days > LONGEST_PERIOD_DAYS:
        raise DomainError(_l("Please choose a period of at most three years."), field="end")
    return Period(start, end)


@dataclass
class Cell:
    key: str | None  # the breakdown's value; NOT_GIVEN; None for the total
    people: int
    values: dict[str, float | int | None]
    suppressed: bool = False


@dataclass
class Indicator:
    key: str
    title: object
    definition: object
    columns: list[tuple[str, object]]
    total: Cell
    cells: list[Cell] = field(default_factory=list)


# Per person: the numbers to add up (a person counts in a cell when present).
PerPerson = dict[int, dict[str, float]]


def _add(per: PerPerson, rid: int, **values: float) -> None:
    row = per.setdefault(rid, {})
    for k, v in values.items():
        row[k] = row.get(k, 0) + v


def _ratio(a: float | int | None, b: float | int | None, digits: int = 2) -> float | None:
    return None if not b else round(float(a or 0) / float(b), digits)


@dataclass
class _Spec:
    key: str
    title: object
    definition: object
    columns: list[tuple[str, object]]
    read: Callable[[Session, Organisation, datetime, datetime, Period], PerPerson]
    finish: Callable[[dict[str, float | int | None]], None] = lambda values: None


def _checkins(session: Session, org: Organisation, since: datetime, until: datetime,
              _p: Period) -> PerPerson:
    enrolled = session.scalars(select(User.id).where(
        User.organisation_id == org.id, User.role == Role.RETURNEE.value,
        User.pin_hash.is_not(None), User.deleted_at.is_(None), User.created_at < until,
        (User.disabled_at.is_(None)) | (User.disabled_at >= since)))
    per: PerPerson = {rid: {"enrolled": 1, "active": 0} for rid in enrolled}
    for rid in session.scalars(select(CheckIn.user_id).distinct().where(
            CheckIn.organisation_id == org.id, CheckIn.created_at >= since,
            CheckIn.created_at < until)):
        if rid in per:
            per[rid]["active"] = 1
    return per


def _finish_checkins(values) -> None:
    values["rate"] = _ratio(values.get("active"), values.get("enrolled"))


def _alerts(session: Session, org: Organisation, since: datetime, until: datetime,
            _p: Period) -> PerPerson:
    per: PerPerson = {}
    for rid, kind, severity, created, acked, due in session.execute(
            select(Alert.returnee_id, Alert.kind, Alert.severity, Alert.created_at,
                   Alert.acknowledged_at, Alert.ack_due_at)
            .where(Alert.organisation_id == org.id, Alert.created_at >= since,
                   Alert.created_at < until)):
        route = ROUTES.get(kind)
        limit = created + route.ack_within if route else due
        judged = acked is not None or limit < until
        _add(per, rid, **{severity: 1}, judged=int(judged),
             within=int(acked is not None and acked <= limit))
    return per


def _finish_alerts(values) -> None:
    values["share_within"] = _ratio(values.get("within"), values.get("judged"))


def _requests(session: Session, org: Organisation, since: datetime, until: datetime,
              _p: Period) -> PerPerson:
    per: PerPerson = {}
    for rid, category, status in session.execute(
            select(Case.returnee_id, Case.category, Case.status)
            .where(Case.organisation_id == org.id, Case.type == sc.REQUEST,
                   Case.created_at >= since, Case.created_at < until)):
        outcome = status if status in ("resolved", "declined") else "open"
        _add(per, rid, **{f"cat_{category or 'other'}": 1, str(outcome): 1})
    return per


# A referral to a partner organisation (webapp.network), by how it stands now.
REFERRAL_STATES: dict[str, object] = {
    network.ASKED: _l("Waiting for the person's agreement"),
    network.REFUSED: _l("The person did not agree"),
    network.OPEN_REFERRAL: _l("Waiting for the partner"),
    network.ACCEPTED: _l("Accepted by the partner"),
    network.DECLINED: _l("Declined by the partner"),
    network.DONE: _l("Done, outcome reported"),
}


def _referrals(session: Session, org: Organisation, since: datetime, until: datetime,
               _p: Period) -> PerPerson:
    per: PerPerson = {}
    for rid, status in session.execute(
            select(network.Referral.returnee_id, network.Referral.status)
            .where(network.Referral.from_organisation_id == org.id,
                   network.Referral.created_at >= since, network.Referral.created_at < until)):
        state = status if status in REFERRAL_STATES else network.OPEN_REFERRAL
        _add(per, rid, partner=1, **{f"partner_{state}": 1})
    for rid, outcome in session.execute(
            select(Case.returnee_id, Case.outcome)
            .where(Case.organisation_id == org.id, Case.status == "closed",
                   Case.outcome.in_(("referred_clinic", "referred_other")),
                   Case.updated_at >= since, Case.updated_at < until)):
        _add(per, rid, **{str(outcome): 1})
    for rid in session.scalars(
            select(FollowUp.returnee_id)
            .where(FollowUp.organisation_id == org.id, FollowUp.outcome == "referred",
                   FollowUp.done_at >= since, FollowUp.done_at < until)):
        _add(per, rid, followup_referred=1)
    return per


def _finish_referrals(values) -> None:
    answered = sum(float(values.get(f"partner_{k}") or 0)
                   for k in (network.ACCEPTED, network.DECLINED, network.DONE))
    values["share_done"] = _ratio(values.get(f"partner_{network.DONE}"), answered)


def _goals(session: Session, org: Organisation, since: datetime, until: datetime,
           _p: Period) -> PerPerson:
    per: PerPerson = {}
    for rid, area in session.execute(
            select(PlanChange.returnee_id, Goal.area).distinct()
            .join(Goal, Goal.id == PlanChange.goal_id)
            .where(PlanChange.organisation_id == org.id, PlanChange.field == "status",
                   PlanChange.after == "done", PlanChange.at >= since, PlanChange.at < until,
                   Goal.state == "active", Goal.status == "done")):
        _add(per, rid, **{f"area_{area}": 1}, goals=1)
    return per


def _money(session: Session, org: Organisation, since: datetime, until: datetime,
           _p: Period) -> PerPerson:
    per: PerPerson = {}
    for rid, asked, granted in session.execute(
            select(Goal.returnee_id, Goal.budget_asked, Goal.budget_granted)
            .where(Goal.organisation_id == org.id, Goal.state == "active",
                   Goal.created_at >= since, Goal.created_at < until,
                   Goal.budget_asked > 0)):
        _add(per, rid, asked=1, asked_sum=float(asked or Decimal(0)),
             granted=int(bool(granted)), granted_sum=float(granted or Decimal(0)))
    return per


def _scores(session: Session, org: Organisation, since: datetime, until: datetime,
            _p: Period) -> PerPerson:
    """The latest check of the period against the person's first check."""
    first: dict[int, float] = {}
    latest: dict[int, float] = {}
    for rid, composite, at in session.execute(
            select(ReintegrationCheck.returnee_id, ReintegrationCheck.composite,
                   ReintegrationCheck.created_at)
            .where(ReintegrationCheck.organisation_id == org.id,
                   ReintegrationCheck.created_at < until)
            .order_by(ReintegrationCheck.returnee_id, ReintegrationCheck.created_at,
                      ReintegrationCheck.id)):
        if rid not in first:
            first[rid] = composite
        elif at >= since:
            latest[rid] = composite
    return {rid: {"change_sum": value - first[rid]} for rid, value in latest.items()}


def _finish_scores(values) -> None:
    values["change"] = _ratio(values.get("change_sum"), values.get("_people"), 3)


def _followups(session: Session, org: Organisation, since: datetime, until: datetime,
               p: Period) -> PerPerson:
    grace = timedelta(days=OVERDUE_AFTER_DAYS)
    zone = zoneinfo.ZoneInfo(org.timezone or "UTC")
    per: PerPerson = {}
    for rid, due, done in session.execute(
            select(FollowUp.returnee_id, FollowUp.due_on, FollowUp.done_at)
            .where(FollowUp.organisation_id == org.id, FollowUp.due_on >= p.start,
                   FollowUp.due_on <= p.end)):
        if done is None:
            _add(per, rid, not_done=1)
        elif done.astimezone(zone).date() <= due + grace:
            _add(per, rid, on_time=1)
        else:
            _add(per, rid, late=1)
    return per


def _finish_followups(values) -> None:
    due = sum(float(values.get(k) or 0) for k in ("on_time", "late", "not_done"))
    values["share_on_time"] = _ratio(values.get("on_time"), due)


SPECS: list[_Spec] = [
    _Spec("checkins", _l("People active and the check-in rate"),
          _l("People enrolled: returnees with an activated account made before the period "
             "ended and not disabled before it began. Active: those of them who checked in at "
             "least once in the period. Rate: active divided by enrolled."),
          [("enrolled", _l("Enrolled")), ("active", _l("Active")), ("rate", _l("Rate"))],
          _checkins, _finish_checkins),
    _Spec("alerts", _l("Alerts by severity, and response time against the limit"),
          _l("Alerts raised in the period, by severity. Within the limit: acknowledged within "
             "the routing table's time for the alert's kind (30 minutes urgent, one day "
             "serious, three days normal), as a share of those acknowledged or past their "
             "limit."),
          [*((k, v) for k, v in SEVERITY_LABELS.items()),
           ("within", _l("Within the limit")), ("share_within", _l("Share within the limit"))],
          _alerts, _finish_alerts),
    _Spec("requests", _l("Support requests by category and outcome"),
          _l("Requests for help made in the period, by category, and how they stand now: "
             "done, not possible, or still open."),
          [*((f"cat_{k}", v) for k, v in sc.CATEGORIES.items()),
           ("resolved", sc.STATUSES["resolved"]), ("declined", sc.STATUSES["declined"]),
           ("open", _l("Open"))],
          _requests),
    _Spec("referrals", _l("Referrals and their outcomes"),
          _l("Support requests referred to a partner organisation in the period, and how "
             "each referral stands now: waiting for the person's agreement, not agreed, "
             "waiting for the partner, accepted, declined by the partner, or done with its "
             "outcome reported. Done: a share of the referrals the partner answered "
             "(accepted, declined or done). Beside them: problems closed in the period with a "
             "referral as their outcome (to a clinic, to another service), and follow-ups "
             "recorded in the period with the outcome \"referred to another service\"."),
          [("partner", _l("Referred to a partner")),
           *((f"partner_{k}", v) for k, v in REFERRAL_STATES.items()),
           ("share_done", _l("Share done of those answered")),
           ("referred_clinic", sc.OUTCOMES["referred_clinic"]),
           ("referred_other", sc.OUTCOMES["referred_other"]),
           ("followup_referred", _l("Referred at a follow-up"))],
          _referrals, _finish_referrals),
    _Spec("goals", _l("Plan goals done, by area"),
          _l("Goals set to done in the period (and still done), by the area of the plan."),
          [("goals", _l("Goals done")), *((f"area_{k}", v) for k, v in AREAS.items())],
          _goals),
    _Spec("money", _l("Micro-finance asked and granted"),
          _l("Goals made in the period with an amount asked for: how many, and the sums "
             "asked and granted, in the organisation's currency."),
          [("asked", _l("Goals with money asked")), ("asked_sum", _l("Sum asked")),
           ("granted", _l("Goals with money granted")), ("granted_sum", _l("Sum granted"))],
          _money),
    _Spec("scores", _l("Change in the reintegration score since return"),
          _l("For each person with a reintegration check in the period and an earlier one: "
             "the latest composite score of the period minus their first score (0 to 1). "
             "The average over the people of the cell."),
          [("change", _l("Average change"))],
          _scores, _finish_scores),
    _Spec("followups", _l("Follow-ups done on time"),
          _l("Follow-ups due in the period: recorded within 14 days of their date (on time), "
             "later, or not yet."),
          [("on_time", _l("On time")), ("late", _l("Late")), ("not_done", _l("Not done")),
           ("share_on_time", _l("Share on time"))],
          _followups, _finish_followups),
]


def _groups_of(session: Session, org: Organisation, by: str | None,
               p: Period) -> dict[int, str]:
    """Each person's value of the breakdown, for those who agreed to give
    their details (a reporting profile): the date of return too is taken
    only from them."""
    if by not in BREAKDOWNS:
        return {}
    if by == "since_return":
        return {rid: since_return_band(returned, p.end) if returned else NOT_GIVEN
                for rid, returned in session.execute(
                    select(ReportingProfile.returnee_id, User.return_date)
                    .join(User, User.id == ReportingProfile.returnee_id)
                    .where(ReportingProfile.organisation_id == org.id))}
    if by == "household":
        return {rid: household_band(size) if size else NOT_GIVEN
                for rid, size in session.execute(
                    select(ReportingProfile.returnee_id, ReportingProfile.household_size)
                    .where(ReportingProfile.organisation_id == org.id))}
    column = getattr(ReportingProfile, by)
    rows = session.execute(select(ReportingProfile.returnee_id, column)
                           .where(ReportingProfile.organisation_id == org.id)).all()
    return {cast(int, rid): str(value or NOT_GIVEN) for rid, value in rows}


def _sum(rows: Iterable[dict[str, float]]) -> dict[str, float | int | None]:
    out: dict[str, float | int | None] = defaultdict(int)
    n = 0
    for row in rows:
        n += 1
        for k, v in row.items():
            out[k] = (out[k] or 0) + v
    out["_people"] = n
    return dict(out)


def _suppress(cells: list[Cell]) -> None:
    """Hide cells below SUPPRESS_BELOW; when exactly one is hidden, hide the
    next smallest as well (the total minus the others would give it away)."""
    for cell in cells:
        cell.suppressed = cell.people < SUPPRESS_BELOW
    hidden = [c for c in cells if c.suppressed and c.people > 0]
    shown = sorted((c for c in cells if not c.suppressed), key=lambda c: c.people)
    if len(hidden) == 1 and shown:
        shown[0].suppressed = True
    for cell in cells:
        if cell.suppressed:
            cell.values = {}


def _cell(key: str | None, rows: list[dict[str, float]], finish) -> Cell:
    values = _sum(rows)
    finish(values)
    people = int(values.pop("_people") or 0)
    return Cell(key, people, values)


def indicators(session: Session, org: Organisation, p: Period,
               by: str | None = None) -> list[Indicator]:
    since, until = p.edges(org)
    groups = _groups_of(session, org, by, p)
    keys: list[str] = []
    if by in BREAKDOWNS:
        keys = [*_keys_of(by, groups.values()), NOT_GIVEN]
    out = []
    for spec in SPECS:
        per = spec.read(session, org, since, until, p)
        total = _cell(None, list(per.values()), spec.finish)
        total.suppressed = total.people < SUPPRESS_BELOW
        if total.suppressed:
            total.values = {}
        cells = []
        if keys:
            by_key: dict[str, list[dict[str, float]]] = defaultdict(list)
            for rid, row in per.items():
                by_key[groups.get(rid, NOT_GIVEN)].append(row)
            cells = [_cell(k, by_key.get(k, []), spec.finish) for k in keys]
            _suppress(cells)
        out.append(Indicator(spec.key, spec.title, spec.definition, spec.columns, total, cells))
    return out


def _keys_of(by: str | None, present: Iterable[str]) -> list[str]:
    """Every value of the breakdown, in its list's order (countries: those present)."""
    if by == "sex":
        return list(SEXES)
    if by == "age_band":
        return list(AGE_BANDS)
    if by == "return_kind":
        return list(RETURN_KINDS)
    if by == "since_return":
        return list(SINCE_RETURN)
    if by == "household":
        return list(HOUSEHOLD_BANDS)
    return sorted({k for k in present if k != NOT_GIVEN})


def group_label(by: str | None, key: str | None, countries: dict[str, str]) -> object:
    """What a cell is called: the breakdown value's label, "Not given", or "All"."""
    if key is None:
        return _l("All")
    if key == NOT_GIVEN:
        return _l("Not given")
    labels: dict[str, object] = {"sex": SEXES, "age_band": AGE_BANDS,
                                 "return_kind": RETURN_KINDS, "since_return": SINCE_RETURN,
                                 "household": HOUSEHOLD_BANDS}.get(by or "", countries)
    return labels.get(key, key)


def as_text(value: float | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3f}".rstrip("0").rstrip(".")
    return str(int(value))


def report_csv(session: Session, actor: User, p: Period, by: str | None,
               countries: dict[str, str]) -> str:
    """The report as CSV: the period, the organisation, the rule, then each
    indicator's definition and table. Every cell is neutralised against
    formulas; the export is written to the audit log."""
    org = actor.organisation
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")

    def row(*cells: object) -> None:
        writer.writerow([neutralise(str(c)) for c in cells])

    row(_l("Funder report"), org.name)
    row(_l("Period"), p.start.isoformat(), p.end.isoformat(), org.timezone or "UTC")
    row(_l("Broken down by"), BREAKDOWNS.get(by or "", _l("Nothing")))
    row(_l("Figures of fewer than %(num)d people are not shown.", num=SUPPRESS_BELOW))
    for ind in indicators(session, org, p, by):
        row()
        row(ind.title)
        row(_l("Definition"), ind.definition)
        row("", _l("People"), *(label for _k, label in ind.columns))
        for cell in [ind.total, *ind.cells]:
            name = group_label(by, cell.key, countries)
            if cell.suppressed:
                row(name, _l("fewer than %(num)d", num=SUPPRESS_BELOW))
            else:
                row(name, cell.people, *(as_text(cell.values.get(k)) for k, _l2 in ind.columns))
    audit(session, actor, "export.funder_report", None, org.id)
    session.flush()
    return out.getvalue()
