"""Periodic work run by the Huey worker."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from webapp.auth.models import AuthSession
from webapp.models import utcnow
from webapp.queue import huey
from webapp.tasks import end_expired_sessions


def test_worker_queue_is_configured_for_the_environment():
    # Tests run tasks in-process; the embedded default is Huey on SQLite.
    assert huey.immediate
    assert "housekeeping" in {t.name.split(".")[-1] for t in huey._registry.periodic_tasks}


def test_sessions_past_their_lifetime_are_ended(app, web, session, returnee_web):
    returnee_web()
    live = session.scalars(select(AuthSession)).one()
    live.created_at = utcnow() - timedelta(hours=app.config["SESSION_MAX_HOURS"], minutes=1)
    session.commit()
    assert end_expired_sessions(app) == 1
    session.expire_all()
    assert session.get(AuthSession, live.id).end_reason == "expired"
    assert web.get("/home").status_code == 302
