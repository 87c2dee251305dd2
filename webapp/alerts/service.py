"""Turning signals into alerts, telling the right people, escalating.

Functions take the session and flush; the caller (a request or a worker task)
commits, then enqueues the push deliveries it got back.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, joinedload

from ..db import Page, paginate
from ..errors import DomainError
from ..models import Role, User, utcnow
from ..people.service import current_caseworker_id
from ..push import service as push
from .models import Alert, AlertRecipient, Signal
from .routing import PUSH_TTL, ROUTES, SEVERITY_ORDER, URGENT


def _coordinators(session: Session, organisation_id: int) -> list[User]:
    return list(session.scalars(select(User).where(
        User.organisation_id == organisation_id, User.role == Role.COORDINATOR.value,
        User.disabled_at.is_(None)).order_by(User.id)))


def _tell(session: Session, alert: Alert, users: list[User], reason: str,
          new: bool = False) -> list[int]:
    """Add people to the ladder and queue a push to each of their devices
    (`new`: an alert made just now, with nobody on its ladder yet)."""
    already = set() if new else set(session.scalars(select(AlertRecipient.user_id).where(
        AlertRecipient.alert_id == alert.id)))
    told = [user.id for user in users if user.id not in already]
    session.add_all(AlertRecipient(alert_id=alert.id, user_id=user_id, reason=reason)
                    for user_id in told)
    session.flush()
    message = "alert.urgent" if alert.severity == URGENT else "alert"
    return push.queue(session, told, message, f"/alerts/{alert.id}", topic=f"alert-{alert.id}",
                      urgency=ROUTES[alert.kind].push_urgency, ttl=PUSH_TTL[alert.severity],
                      alert_id=alert.id)


def route_signal(session: Session, signal: Signal, now: datetime | None = None,
                 new: bool = False) -> list[int]:
    """The alert for one signal (made once), told to the returnee's caseworker,
    or straight to the coordinators when there is none. `new`: the signal was
    written in this transaction, so it cannot have an alert yet."""
    now = now or utcnow()
    signal.routed_at = now
    if not new and session.scalar(select(Alert.id).where(Alert.signal_id == signal.id)) is not None:
        return []
    cw_id = current_caseworker_id(session, signal.returnee_id)
    caseworker = session.get(User, cw_id) if cw_id else None
    if caseworker is not None and caseworker.is_disabled:
        caseworker = None
    route = ROUTES[signal.kind]
    alert = Alert(organisation_id=signal.organisation_id, returnee_id=signal.returnee_id,
                  signal_id=signal.id, kind=signal.kind, severity=route.severity,
                  severity_rank=SEVERITY_ORDER[route.severity], source_type=signal.source_type,
                  source_id=signal.source_id, created_at=now, ack_due_at=now + route.ack_within,
                  escalated_at=None if caseworker else now)
    session.add(alert)
    session.flush()
    if caseworker is not None:
        return _tell(session, alert, [caseworker], "assigned", new=True)
    return _tell(session, alert, _coordinators(session, alert.organisation_id), "escalated",
                 new=True)


def route_pending(session: Session, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Route signals committed but not routed yet (oldest first). On PostgreSQL
    two workers skip each other's rows; SQLite serialises writers anyway."""
    query = (select(Signal).where(Signal.routed_at.is_(None)).order_by(Signal.id).limit(limit)
             .with_for_update(skip_locked=True))
    delivery_ids: list[int] = []
    for signal in session.scalars(query).all():
        delivery_ids += route_signal(session, signal, now)
    return delivery_ids


def escalate_overdue(session: Session, now: datetime | None = None,
                     limit: int | None = None) -> tuple[int, list[int]]:
    """Alerts nobody acknowledged in time go to the coordinators: at most
    `limit`, the most severe first, then the longest overdue. Returns how many
    were escalated and the push deliveries queued."""
    now = now or utcnow()
    overdue = session.scalars(select(Alert).where(
        Alert.acknowledged_at.is_(None), Alert.resolved_at.is_(None),
        Alert.escalated_at.is_(None), Alert.ack_due_at <= now,
    ).order_by(Alert.severity_rank, Alert.ack_due_at, Alert.id).limit(limit)
     .with_for_update(skip_locked=True)).all()
    coordinators: dict[int, list[User]] = {}
    delivery_ids: list[int] = []
    for alert in overdue:
        alert.escalated_at = now
        org = alert.organisation_id
        if org not in coordinators:
            coordinators[org] = _coordinators(session, org)
        delivery_ids += _tell(session, alert, coordinators[org], "escalated")
    return len(overdue), delivery_ids


# --- What staff do ---------------------------------------------------------------

def visible_alert(session: Session, viewer: User, alert_id: int) -> Alert | None:
    """Its recipients, the returnee's current caseworker, and the organisation's
    coordinators see an alert; nobody else."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.organisation_id != viewer.organisation_id or not viewer.is_staff:
        return None
    if viewer.role == Role.COORDINATOR.value:
        return alert
    if current_caseworker_id(session, alert.returnee_id) == viewer.id:
        return alert
    told = session.scalar(select(AlertRecipient.id).where(
        AlertRecipient.alert_id == alert.id, AlertRecipient.user_id == viewer.id))
    return alert if told else None


def ladder(session: Session, alert: Alert) -> list[AlertRecipient]:
    """Who was told about the alert, in the order they were told."""
    return list(session.scalars(select(AlertRecipient).where(
        AlertRecipient.alert_id == alert.id).order_by(AlertRecipient.told_at, AlertRecipient.id)))


def acknowledge(session: Session, alert: Alert, user: User) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at = utcnow()
        alert.acknowledged_by_id = user.id
        session.flush()


def resolve(session: Session, alert: Alert, user: User, note: str | None) -> None:
    note = (note or "").strip()
    if not note:
        raise DomainError(_l("Please write what was done."), field="note")
    if alert.resolved_at is not None:
        raise DomainError(_l("This alert is already closed."))
    now = utcnow()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_id = now, user.id
    alert.resolved_at, alert.resolved_by_id, alert.resolution_note = now, user.id, note
    session.flush()


def _mine(user: User):
    """Open alerts in the user's inbox: told about it, or (coordinators) any of
    the organisation's."""
    open_ = and_(Alert.organisation_id == user.organisation_id, Alert.resolved_at.is_(None))
    if user.role == Role.COORDINATOR.value:
        return open_
    return and_(open_, exists().where(AlertRecipient.alert_id == Alert.id,
                                      AlertRecipient.user_id == user.id))


def inbox(session: Session, user: User, page: int | None = None) -> tuple[Sequence[Alert], Page]:
    """One page of the user's open alerts, most severe and oldest first, each
    with the person it is about (loaded in the same query: the list names them)."""
    return paginate(session, select(Alert).options(joinedload(Alert.returnee)).where(_mine(user))
                    .order_by(Alert.severity_rank, Alert.acknowledged_at.is_not(None),
                              Alert.created_at, Alert.id), page, scalars=True)


def header(session: Session, user: User, late_after: timedelta,
           now: datetime | None = None) -> tuple[int, bool]:
    """What every staff page's header shows, in one query: how many alerts in
    the user's inbox nobody acknowledged, and whether the worker is late with
    the organisation's alerts (a signal not routed, or an alert not escalated,
    `late_after` after it was due): then new reports may not reach any inbox
    or phone, and staff must know."""
    cutoff = (now or utcnow()) - late_after
    org = user.organisation_id
    unacknowledged = select(func.count()).select_from(Alert).where(
        _mine(user), Alert.acknowledged_at.is_(None)).scalar_subquery()
    unrouted = select(Signal.id).where(
        Signal.organisation_id == org, Signal.routed_at.is_(None),
        Signal.created_at < cutoff).exists()
    unescalated = select(Alert.id).where(
        Alert.organisation_id == org, Alert.acknowledged_at.is_(None),
        Alert.resolved_at.is_(None), Alert.escalated_at.is_(None),
        Alert.ack_due_at < cutoff).exists()
    count, late = cast(tuple[int | None, bool | None], session.execute(
        select(unacknowledged, or_(unrouted, unescalated))).one())
    return count or 0, bool(late)
