"""The organisation overview for coordinators: alert response, check-in rate,
concerns by kind per month, scores by months since return, medicine gaps.

Every figure is one aggregate query (or one bounded query for the alert
percentiles), so the page's query count does not grow with the data. Periods
are cut at the organisation's local midnight."""
from __future__ import annotations

import math
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from ..alerts.models import Alert
from ..alerts.routing import ROUTES
from ..checkins.models import CheckIn
from ..models import Organisation, Role, User, utcnow
from ..support import choices as sc
from ..support.models import Case
from .models import FollowUp, ReintegrationCheck

ALERT_DAYS = 90
ALERT_ROWS = 20_000  # the percentiles read at most this many alerts (the newest)
WEEKS = 8
MONTHS = 6


def percentile(sorted_values: list[float], share: float) -> float | None:
    """Nearest-rank percentile of ascending values (share 0.5 = the median)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class AlertResponse:
    alerts: int
    acknowledged: int
    median_minutes: float | None
    p90_minutes: float | None
    within_limit: int
    judged: int  # acknowledged, or past their limit

    @property
    def share_within(self) -> float | None:
        return None if not self.judged else self.within_limit / self.judged


def alert_response(session: Session, org: Organisation, now: datetime) -> AlertResponse:
    """Time to acknowledge over the last ALERT_DAYS days. The limit is the
    routing table's for the alert's kind (ack_due_at was set from it)."""
    rows = session.execute(
        select(Alert.kind, Alert.created_at, Alert.acknowledged_at, Alert.ack_due_at)
        .where(Alert.organisation_id == org.id,
               Alert.created_at >= now - timedelta(days=ALERT_DAYS))
        .order_by(Alert.created_at.desc()).limit(ALERT_ROWS)).all()
    minutes = []
    within = judged = 0
    for kind, created, acked, due in rows:
        route = ROUTES.get(kind)
        limit = created + route.ack_within if route else due
        if acked is not None:
            minutes.append((acked - created).total_seconds() / 60)
            judged += 1
            within += acked <= limit
        elif limit < now:
            judged += 1
    minutes.sort()
    return AlertResponse(len(rows), len(minutes), percentile(minutes, .5),
                         percentile(minutes, .9), within, judged)


def _local_midnight(day: date, zone: zoneinfo.ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone).astimezone(UTC)


def _bucket(column, edges: list[datetime]):
    """0 for [edges[0], edges[1]), 1 for the next period, …: portable SQL."""
    return case(*[(column < edge, i) for i, edge in enumerate(edges[1:])], else_=None)


@dataclass
class Period:
    start: date
    value: float
    count: int = 0


def checkin_rate(session: Session, org: Organisation, now: datetime) -> tuple[list[Period], int]:
    """Per week, the share of the organisation's active returnees who checked
    in at least once (the active number is today's)."""
    zone = zoneinfo.ZoneInfo(org.timezone or "UTC")
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    starts = [monday - timedelta(weeks=WEEKS - 1 - i) for i in range(WEEKS)]
    edges = [_local_midnight(d, zone) for d in [*starts, monday + timedelta(weeks=1)]]
    active = session.scalar(select(func.count(User.id)).where(
        User.organisation_id == org.id, User.role == Role.RETURNEE.value,
        User.disabled_at.is_(None), User.pin_hash.is_not(None))) or 0
    bucket = _bucket(CheckIn.created_at, edges).label("b")
    counts: dict[int, int] = dict(session.execute(
        select(bucket, func.count(distinct(CheckIn.user_id)))
        .where(CheckIn.organisation_id == org.id, CheckIn.created_at >= edges[0],
               CheckIn.created_at < edges[-1])
        .group_by(bucket)).all())
    return [Period(d, (counts.get(i, 0) / active) if active else 0.0, counts.get(i, 0))
            for i, d in enumerate(starts)], active


def _month_starts(today: date, months: int) -> list[date]:
    first = today.replace(day=1)
    out = []
    for i in range(months - 1, -1, -1):
        y, m = divmod(first.year * 12 + first.month - 1 - i, 12)
        out.append(date(y, m + 1, 1))
    return out


@dataclass
class ConcernMonth:
    start: date
    by_kind: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.by_kind.values())


def concerns_by_month(session: Session, org: Organisation, now: datetime) -> list[ConcernMonth]:
    zone = zoneinfo.ZoneInfo(org.timezone or "UTC")
    starts = _month_starts(now.astimezone(zone).date(), MONTHS)
    nxt = _month_starts(starts[-1] + timedelta(days=32), 1)[0]
    edges = [_local_midnight(d, zone) for d in starts] + [_local_midnight(nxt, zone)]
    bucket = _bucket(Case.created_at, edges).label("b")
    # (month's index or None, kind, count)
    rows = cast(Sequence[tuple[int | None, str | None, int]], session.execute(
        select(bucket, Case.kind, func.count(Case.id))
        .where(Case.organisation_id == org.id, Case.type == sc.CONCERN,
               Case.created_at >= edges[0], Case.created_at < edges[-1])
        .group_by(bucket, Case.kind)).all())
    months = [ConcernMonth(d, {k: 0 for k in sc.KINDS}) for d in starts]
    for b, kind, n in rows:
        if b is not None and kind in sc.KINDS:
            months[b].by_kind[kind] = n
    return months


@dataclass
class ScoreRow:
    month: int
    checks: int
    economic: float
    social: float
    psychosocial: float
    composite: float


def scores_by_month(session: Session, org: Organisation) -> list[ScoreRow]:
    """Average scores of the checks made at each follow-up (months since return)."""
    # (month, checks, the average of each score)
    rows = cast(Sequence[tuple[int, int, float, float, float, float]], session.execute(
        select(FollowUp.month, func.count(ReintegrationCheck.id),
               func.avg(ReintegrationCheck.economic), func.avg(ReintegrationCheck.social),
               func.avg(ReintegrationCheck.psychosocial), func.avg(ReintegrationCheck.composite))
        .join(FollowUp, FollowUp.id == ReintegrationCheck.followup_id)
        .where(ReintegrationCheck.organisation_id == org.id)
        .group_by(FollowUp.month).order_by(FollowUp.month)).all())
    return [ScoreRow(m, n, float(e), float(s), float(p), float(c)) for m, n, e, s, p, c in rows]


@dataclass
class MedicineSummary:
    reports: int
    open: int


def medicine_summary(session: Session, org: Organisation, now: datetime) -> MedicineSummary:
    reports, still_open = cast(tuple[int | None, int | None], session.execute(
        select(func.count(Case.id),
               func.coalesce(func.sum(case((Case.status.in_(sc.OPEN_STATUSES), 1), else_=0)), 0))
        .where(Case.organisation_id == org.id, Case.kind == "medicine",
               Case.created_at >= now - timedelta(days=365))).one())
    return MedicineSummary(int(reports or 0), int(still_open or 0))


@dataclass
class Overview:
    response: AlertResponse
    rate: list[Period]
    active: int
    concerns: list[ConcernMonth]
    scores: list[ScoreRow]
    medicine: MedicineSummary


def overview(session: Session, org: Organisation, now: datetime | None = None) -> Overview:
    now = now or utcnow()
    rate, active = checkin_rate(session, org, now)
    return Overview(alert_response(session, org, now), rate, active,
                    concerns_by_month(session, org, now), scores_by_month(session, org),
                    medicine_summary(session, org, now))


LIMIT_NOTE = _l("The time limit of each alert comes from the routing table: 30 minutes for "
                "urgent, one day for serious, three days for normal.")
