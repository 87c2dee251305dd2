"""Logs: JSON lines a log store can index, each with the id of its request,
and nothing a person wrote (issue #20)."""
from __future__ import annotations

import json
import logging
import uuid

import pytest
from sqlalchemy import select, text

from webapp.checkins.models import CheckIn
from webapp.db import make_engine


def _footing_handler() -> logging.Handler:
    return next(h for h in logging.getLogger().handlers if getattr(h, "footing", False))


def test_each_request_is_one_json_line_with_its_id_route_status_and_user(
        session, web, returnee_web, caplog):
    me = returnee_web()
    note = "my neighbour Fatmata threatened me"
    sent = {"mood": "2", "visibility": "caseworker", "note": note,
            "client_uuid": str(uuid.uuid4())}
    with caplog.at_level(logging.INFO):
        answer = web.post("/checkin/", sent)
    assert answer.status_code in (302, 303)
    request_id = answer.headers["X-Request-ID"]
    lines = [json.loads(_footing_handler().format(r)) for r in caplog.records]
    mine = [line for line in lines if line.get("request_id") == request_id]
    summary = next(line for line in mine if line["message"] == "request")
    assert summary["route"] == "checkins.new" and summary["method"] == "POST"
    assert summary["status"] == answer.status_code and summary["user"] == me.id
    assert summary["ms"] >= 0 and summary["level"] == "INFO" and "time" in summary
    # The request's own line says which check-in it stored: one line, not two.
    stored = session.scalar(select(CheckIn.id).where(CheckIn.client_uuid == sent["client_uuid"]))
    assert summary["checkin"] == stored and len(mine) == 1
    assert not any(note in json.dumps(line) or "Fatmata" in json.dumps(line) for line in lines)


def test_a_request_names_only_what_it_committed(web, returnee_web, caplog):
    """The check-in's id is in the line only when it was stored by this
    request: not for a form sent again (the phone's queue replaying it), not
    for one refused."""
    returnee_web()
    sent = {"mood": "3", "visibility": "caseworker", "note": "", "client_uuid": str(uuid.uuid4())}
    assert web.post("/checkin/", sent).status_code in (302, 303)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        again = web.post("/checkin/", sent)
        refused = web.post("/checkin/", {**sent, "mood": "9", "client_uuid": str(uuid.uuid4())})
    assert again.status_code in (302, 303) and refused.status_code == 400
    lines = [json.loads(_footing_handler().format(r)) for r in caplog.records]
    posts = [line for line in lines if line["message"] == "request"
             and line["route"] == "checkins.new" and line["method"] == "POST"]
    assert [line["status"] for line in posts] == [302, 400]
    assert not any("checkin" in line for line in posts)


def test_what_a_job_notes_is_logged_as_a_line_of_its_own(app, caplog):
    """Outside a request (the worker, a command) there is no request line to
    add to: the fields are not lost."""
    from webapp import logs

    with caplog.at_level(logging.INFO), app.app_context():
        logs.note(followups=3)
    assert "followups=3" in caplog.text


def test_requests_get_ids_of_their_own(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first and second and first != second


def test_a_postgresql_restart_costs_no_failed_request(database_url):
    """A pooled connection the server ended (a restart, a failover) is noticed
    on checkout and replaced, instead of failing the request that gets it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a pool of server connections is PostgreSQL's; SQLite opens a file")
    engine, admin = make_engine(database_url), make_engine(database_url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with admin.connect() as conn:  # back in the pool; the server ends it
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    finally:
        engine.dispose()
        admin.dispose()


def test_an_audit_line_is_written_only_once_its_change_is_committed(app, caplog):
    """`account.delete user=…` lines are replayed after a restore: one for a
    deletion that was rolled back would delete the account then."""
    from webapp import outbox

    audit = logging.getLogger("webapp.people.routes")
    with caplog.at_level(logging.INFO), app.test_request_context():
        outbox.log_after_commit(audit, "account.delete user=%s by=%s", 7, 3)
        assert "account.delete" not in caplog.text  # not before the commit
        outbox.discard()  # the request's changes were rolled back
        outbox.run_after_commit()
        assert "account.delete" not in caplog.text
        outbox.log_after_commit(audit, "account.delete user=%s by=%s", 8, 3)
        outbox.run_after_commit()  # committed
    assert "account.delete user=8 by=3" in caplog.text and "user=7" not in caplog.text
