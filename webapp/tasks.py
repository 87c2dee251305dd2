"""Background and periodic work (Huey).

Embedded default: Huey's SQLite storage in the instance folder. With REDIS_URL
set: Redis, for many workers on many machines. Start a worker with
`huey_consumer webapp.tasks.huey`.
"""
from __future__ import annotations

import os
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


def flask_app():
    """The app the worker runs tasks in (created once per worker process)."""
    global _app
    if _app is None:
        from . import create_app

        _app = create_app()
    return _app


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


@huey.periodic_task(crontab(minute="*/15"))
def housekeeping() -> int:
    return end_expired_sessions(flask_app())


def signal_no_contact(app, now=None) -> int:
    """Signal returnees silent for two check-in periods, once per gap (issue #4).
    `now` is for tests; the worker uses the clock."""
    from .checkins.service import record_no_contact
    from .db import db_session

    with app.app_context():
        session = db_session()
        raised = record_no_contact(session, now)
        session.commit()
        return len(raised)


@huey.periodic_task(crontab(minute="5"))
def no_contact() -> int:
    return signal_no_contact(flask_app())
