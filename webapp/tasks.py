"""Background and periodic work (Huey).

Embedded default: Huey's SQLite storage in the instance folder. With REDIS_URL
set: Redis, for many workers on many machines. Start a worker with
`huey_consumer webapp.tasks.huey`.
"""
from __future__ import annotations

import logging
import os
import time
from datetime import timedelta
from pathlib import Path

from huey import RedisHuey, SqliteHuey, crontab
from sqlalchemy import update


def _make_huey():
    redis_url = os.environ.get("REDIS_URL")
    immediate = os.environ.get("FOOTING_ENV") == "testing"
    if redis_url:
        return RedisHuey("footing", url=redis_url, immediate=immediate)
    instance = Path(os.environ.get("FOOTING_INSTANCE", Path(__file__).resolve().parent.parent / "instance"))
    instance.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("footing", filename=str(instance / "huey.db"), immediate=immediate)


huey = _make_huey()
_app = None
log = logging.getLogger(__name__)


def flask_app():
    """The app tasks run in: the current one (tests, immediate mode) or one
    created once per worker process."""
    global _app
    from flask import current_app, has_app_context

    if has_app_context():
        return current_app._get_current_object()
    if _app is None:
        from . import create_app

        _app = create_app()
    return _app


def in_transaction(work, app=None):
    """Run `work(session)` in a fresh app context, commit, then run what it
    queued for after the commit (like a request does)."""
    from . import outbox
    from .db import db_session

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


def in_batches(work, app=None) -> int:
    """Run `work(session, BATCH)` in transactions of its own (`in_transaction`)
    until it does fewer than BATCH things; `work` must mark what it did, so
    that the next call goes on with the rest. Returns how many it did."""
    size = BATCH
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
    from .db import db_session
    from .models import AuthSession, utcnow

    cutoff = utcnow() - timedelta(hours=app.config["SESSION_MAX_HOURS"])
    with app.app_context():
        session = db_session()
        result = session.execute(update(AuthSession).where(
            AuthSession.ended_at.is_(None), AuthSession.created_at < cutoff
        ).values(ended_at=utcnow(), end_reason="expired"))
        session.commit()
        return result.rowcount or 0


def erase_late_arrivals(app=None, now=None, within=timedelta(days=1)) -> dict:
    """Rows stored for an account after it was deleted (see
    `privacy.service.erase_late_arrivals`), for accounts deleted `within`."""
    from .models import utcnow
    from .privacy.service import erase_late_arrivals as erase

    since = (now or utcnow()) - within
    return in_transaction(lambda session: erase(session, since), app)


@huey.task()
def erase_late_arrivals_task() -> None:
    erase_late_arrivals(within=timedelta(hours=1))


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


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        send_delivery_task(delivery_id)


def send_deliveries_now(delivery_ids: list[int]) -> None:
    """Inside a worker: send at once instead of queueing another hop (an urgent
    alert should not wait for a second poll of the queue)."""
    for delivery_id in delivery_ids:
        send_delivery(delivery_id)


def route_signals(now=None) -> list[int]:
    """Signals whose alert could not be made with them (see signals._route)
    → alerts → push deliveries, in one transaction, the pushes sent right
    after its commit."""
    from . import outbox
    from .alerts import service as alerts

    def work(session):
        ids = alerts.route_pending(session, now)
        if ids:
            outbox.after_commit(send_deliveries_now, ids)
        return ids

    return in_transaction(work)


def escalate(now=None) -> list[int]:
    """Alerts nobody acknowledged in time → the coordinators' phones, in
    batches (the most severe first), each committed and pushed before the
    next. Returns the push deliveries queued."""
    from . import outbox
    from .alerts import service as alerts

    deliveries: list[int] = []

    def work(session, size):
        escalated, ids = alerts.escalate_overdue(session, now, size)
        if ids:
            outbox.after_commit(send_deliveries_now, ids)
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
    from sqlalchemy import update

    from .models import utcnow
    from .push import service as push
    from .push.models import PushDelivery

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
    send what is due. Nothing committed is lost if an enqueue was missed."""
    from .models import utcnow
    from .push import service as push

    now = now or utcnow()
    routed = route_signals(now)
    escalated = escalate(now)
    due = in_transaction(lambda session: push.due_deliveries(session, now))
    sent = [send_delivery(i, now) for i in due]
    huey.put(HEARTBEAT, time.time())
    return {"routed": len(routed), "escalated": len(escalated), "sent": sent}


# --- Is the worker running? -------------------------------------------------------
# The sweep writes the time it last finished into Huey's own storage, which
# the web app already reaches (it enqueues there). Without a worker, alerts
# still reach the inbox but no push is sent and nothing escalates:
# /healthz/worker is what to monitor for that.

HEARTBEAT = "footing:sweep-finished-at"


def worker_state(late_after: float) -> str:
    """The worker as its sweeps show it: "ok", "late" (none finished in the
    last `late_after` seconds), "not seen" (never, on this queue) or
    "unreachable" (the queue's storage failed)."""
    try:
        finished = huey.get(HEARTBEAT, peek=True)
    except Exception:  # Redis down, a locked file: say so, do not fail the caller
        log.exception("worker heartbeat: queue storage unreachable")
        return "unreachable"
    if finished is None:
        return "not seen"
    return "ok" if time.time() - finished <= late_after else "late"


@huey.task()
def send_delivery_task(delivery_id: int) -> None:
    send_delivery(delivery_id)


@huey.periodic_task(crontab(minute="*"))
def sweep_task() -> None:
    sweep()


def signal_no_contact(app, now=None) -> int:
    """Signal returnees silent for two check-in periods, once per gap (issue #4).
    `now` is for tests; the worker uses the clock."""
    from .checkins.service import record_no_contact

    # Each signal's alert is made with it; in_transaction sends the pushes
    # after each batch's commit.
    return in_batches(lambda session, size: len(record_no_contact(session, now, size)), app)


@huey.periodic_task(crontab(minute="5"))
def no_contact() -> int:
    return signal_no_contact(flask_app())


def send_reminders(app=None, now=None) -> dict:
    """Check-in due and meeting tomorrow, for returnees with a device."""
    from .push import reminders

    return in_transaction(lambda session: {
        "checkin_due": reminders.checkin_due(session, now),
        "meeting_tomorrow": reminders.meeting_tomorrow(session, now),
    }, app)


@huey.periodic_task(crontab(minute="20"))
def reminders_task() -> None:
    send_reminders()


def signal_overdue_followups(app, now=None) -> int:
    """Schedule the follow-ups of new returnees and signal every follow-up not
    recorded in time, once per follow-up (issue #7). `now` is for tests."""
    from .monitoring.service import schedule_all, signal_overdue

    in_transaction(lambda session: schedule_all(session, now), app)
    return in_batches(lambda session, size: len(signal_overdue(session, now, size)), app)


@huey.periodic_task(crontab(minute="35"))
def followups_overdue() -> int:
    return signal_overdue_followups(flask_app())
