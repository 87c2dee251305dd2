"""Background and periodic work (Huey): the jobs, at the edge like the
routes. They call the services and do what the services handed to the outbox
(`outbox.handles`). The queue itself is `webapp.queue`; a worker process is
`huey_consumer webapp.worker.huey`.
"""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import cast

from flask import Flask, current_app, has_app_context
from huey import crontab
from sqlalchemy import CursorResult, update

from . import outbox
from .alerts import service as alerts
from .auth.models import AuthSession
from .checkins.reminders import checkin_due
from .checkins.service import record_no_contact
from .db import db_session
from .groups.reminders import meeting_tomorrow
from .i18n import supported
from .models import utcnow
from .monitoring.service import (
    ORDER_BATCH,
    refresh_caseload_order,
    schedule_batch,
    signal_overdue,
)
from .privacy.service import erase_late_arrivals as erase
from .push import service as push
from .push.models import PushDelivery
from .queue import beat, huey

_app: Flask | None = None
log = logging.getLogger(__name__)


def use_app(app: Flask) -> None:
    """The app a worker process runs its jobs in (`webapp.worker`)."""
    global _app
    _app = app


def warm(app: Flask) -> None:
    """What the first push after a worker's start needs, done at the start."""
    in_transaction(lambda session: push.warm(session, supported()), app)


def flask_app() -> Flask:
    """The app tasks run in: the current one (requests, tests in immediate
    mode), else the worker process's own."""
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        raise RuntimeError("no app for the jobs: run the worker as webapp.worker")
    return _app


def in_transaction(work, app=None):
    """Run `work(session)` in a fresh app context, commit, then run what it
    queued for after the commit (like a request does)."""
    app = app or flask_app()
    with app.app_context():
        session = db_session()
        try:
            result = work(session)
            session.commit()
        except Exception:
            session.rollback()
            outbox.discard()
            raise
        outbox.run_after_commit()
        return result


# What a job handles per transaction (signals raised, alerts escalated): a
# backlog (a worker stopped for a day, a new organisation's past follow-ups)
# is worked off in short transactions, so the job never holds SQLite's write
# lock for long (check-ins wait for it), and each batch's alerts are committed
# and pushed before the next begins.
BATCH = 100
MAX_BATCHES = 500  # per run: the next run goes on, should anything keep it busy
# Each overdue follow-up's signal is routed in its transaction (about ten
# statements): 100 of them held a transaction for 0.6-0.75 s (issue #24's
# limit: 500 ms), 50 for 0.42-0.61 s on a quiet machine. 25 a batch: 12,500
# a run, the next run goes on.
OVERDUE_BATCH = 25


def in_batches(work, app=None, size: int | None = None) -> int:
    """Run `work(session, size)` (BATCH unless said) in transactions of its
    own (`in_transaction`) until it does fewer than that many things; `work`
    must mark what it did, so that the next call goes on with the rest.
    Returns how many it did."""
    size = size or BATCH
    total = 0
    for _ in range(MAX_BATCHES):
        done = in_transaction(lambda session: work(session, size), app)
        total += done
        if done < size:
            return total
    log.warning("stopped after %d batches of %d; the next run goes on", MAX_BATCHES, size)
    return total


def end_expired_sessions(app) -> int:
    """Mark sessions past their absolute lifetime as ended, so the table says
    what is really live. (Requests already refuse them on their own.)"""
    cutoff = utcnow() - timedelta(hours=app.config["SESSION_MAX_HOURS"])
    with app.app_context():
        session = db_session()
        # An UPDATE's result is a CursorResult (typed as a plain Result).
        result = cast(CursorResult, session.execute(update(AuthSession).where(
            AuthSession.ended_at.is_(None), AuthSession.created_at < cutoff
        ).values(ended_at=utcnow(), end_reason="expired")))
        session.commit()
        return result.rowcount or 0


def erase_late_arrivals(app=None, now=None, within=timedelta(days=1)) -> dict:
    """Rows stored for an account after it was deleted (see
    `privacy.service.erase_late_arrivals`), for accounts deleted `within`."""
    since = (now or utcnow()) - within
    return in_transaction(lambda session: erase(session, since), app)


@huey.task()
def erase_late_arrivals_task() -> None:
    erase_late_arrivals(within=timedelta(hours=1))


@outbox.handles("privacy.erase_again")
def enqueue_erase_late_arrivals() -> None:
    """After a deletion commits: once more a minute later, when every request
    that was signed in before it has ended."""
    erase_late_arrivals_task.schedule(delay=60)


@huey.periodic_task(crontab(minute="*/15"))
def housekeeping() -> None:
    app = flask_app()
    end_expired_sessions(app)
    erase_late_arrivals(app)


# --- Alerts and push ------------------------------------------------------------

LEASE = timedelta(seconds=60)


@outbox.handles("push.send")
def enqueue_deliveries(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        send_delivery_task(delivery_id)


@outbox.handles("push.send_now")
def send_deliveries_now(delivery_ids: list[int]) -> None:
    """Inside a worker: send at once instead of queueing another hop (an urgent
    alert should not wait for a second poll of the queue)."""
    for delivery_id in delivery_ids:
        send_delivery(delivery_id)


def route_signals(now=None) -> list[int]:
    """Signals whose alert could not be made with them (see signals._route)
    → alerts → push deliveries, in one transaction, the pushes sent right
    after its commit."""
    def work(session):
        ids = alerts.route_pending(session, now)
        if ids:
            outbox.after_commit("push.send_now", ids)
        return ids

    return in_transaction(work)


def escalate(now=None) -> list[int]:
    """Alerts nobody acknowledged in time → the coordinators' phones, in
    batches (the most severe first), each committed and pushed before the
    next. Returns the push deliveries queued."""
    deliveries: list[int] = []

    def work(session, size):
        escalated, ids = alerts.escalate_overdue(session, now, size)
        if ids:
            outbox.after_commit("push.send_now", ids)
            deliveries.extend(ids)
        return escalated

    in_batches(work)
    return deliveries


def send_delivery(delivery_id: int, now=None) -> str:
    """Send one push. A short transaction takes a lease on the row (so the
    sweep does not send it twice meanwhile), the HTTP call runs outside any
    transaction, and a second short transaction records the answer. A worker
    killed in between leaves the row pending: the sweep sends it again once
    the lease has run out (the Topic makes the device show it once)."""
    now = now or utcnow()

    def take(session):
        return session.execute(update(PushDelivery).where(
            PushDelivery.id == delivery_id, PushDelivery.status == "pending",
            PushDelivery.next_attempt_at <= now,
        ).values(next_attempt_at=now + LEASE)).rowcount

    if not in_transaction(take):
        return "skipped"

    def deliver(session):
        delivery = session.get(PushDelivery, delivery_id)
        return push.send(session, delivery, now)

    outcome = in_transaction(deliver)
    if outcome.status == "retry" and outcome.retry_at is not None:
        send_delivery_task.schedule((delivery_id,), eta=outcome.retry_at)
    return outcome.status


def sweep(now=None) -> dict:
    """Every minute: route what was never routed, escalate what is overdue,
    send what is due, compute the caseload's order where it went stale.
    Nothing committed is lost if an enqueue was missed."""
    now = now or utcnow()
    routed = route_signals(now)
    escalated = escalate(now)
    due = in_transaction(lambda session: push.due_deliveries(session, now))
    sent = [send_delivery(i, now) for i in due]
    beat()  # the alerts' work is done: what /healthz/worker and "Alerts are late" watch
    # The caseload's order of the people written about since, or reached by
    # time (issue #24): after the pushes, which are more urgent, and after
    # the heartbeat, so that its failing never reads as alerts being late.
    ordered = in_batches(lambda session, size: refresh_caseload_order(session, now, size),
                         size=ORDER_BATCH)
    return {"routed": len(routed), "escalated": len(escalated), "sent": sent,
            "ordered": ordered}


@huey.task()
def send_delivery_task(delivery_id: int) -> None:
    send_delivery(delivery_id)


@huey.periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    sweep()


def signal_no_contact(app, now=None) -> int:
    """Signal returnees silent for two check-in periods, once per gap (issue #4).
    `now` is for tests; the worker uses the clock."""
    # Each signal's alert is made with it; in_transaction sends the pushes
    # after each batch's commit.
    return in_batches(lambda session, size: len(record_no_contact(session, now, size)), app)


@huey.periodic_task(crontab(minute="5"))
def no_contact() -> int:
    return signal_no_contact(flask_app())


def send_reminders(app=None, now=None) -> dict:
    """Check-in due and meeting tomorrow, for returnees with a device."""
    return in_transaction(lambda session: {
        "checkin_due": checkin_due(session, now),
        "meeting_tomorrow": meeting_tomorrow(session, now),
    }, app)


@huey.periodic_task(crontab(minute="20"))
def reminders_task() -> None:
    send_reminders()


def signal_overdue_followups(app, now=None) -> int:
    """Schedule the follow-ups of new returnees and signal every follow-up not
    recorded in time, once per follow-up (issue #7). `now` is for tests.
    Both in batches, each its own short transaction (issue #24: one
    transaction over 100,000 people held the database for seconds)."""
    after: int | None = 0
    while after is not None:
        after = in_transaction(lambda session, start=after: schedule_batch(session, start, now),
                               app)
    return in_batches(lambda session, size: len(signal_overdue(session, now, size)), app,
                      OVERDUE_BATCH)


@huey.periodic_task(crontab(minute="35"))
def followups_overdue() -> int:
    return signal_overdue_followups(flask_app())
