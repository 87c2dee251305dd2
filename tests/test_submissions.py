"""Exactly-once submissions and signals: the shared pieces the check-in,
concern and support forms build on."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from webapp import submissions
from webapp.alerts import signals
from webapp.alerts.models import Signal
from webapp.errors import DomainError
from webapp.models import Organisation, Role, User
from webapp.submissions import ClientSubmission

from .conftest import new_org, race


def test_first_claim_is_new_and_a_repeat_answers_as_the_first(session, make_returnee):
    user, _ = make_returnee()
    key = str(uuid.uuid4())
    first = submissions.claim(session, user, key, "concern", {"kind": "safety", "urgency": "now"})
    assert not first.repeat
    first.done("/reports/1/received")
    session.commit()
    again = submissions.claim(session, user, key.upper(), "concern",
                              {"urgency": "now", "kind": "safety"})
    assert again.repeat and again.result_url == "/reports/1/received"
    assert session.scalar(select(func.count()).select_from(ClientSubmission)) == 1


def test_same_uuid_with_a_different_body_is_refused(session, make_returnee):
    user, _ = make_returnee()
    key = str(uuid.uuid4())
    submissions.claim(session, user, key, "checkin", {"mood": 3})
    with pytest.raises(submissions.SubmissionConflict):
        submissions.claim(session, user, key, "checkin", {"mood": 4})
    with pytest.raises(submissions.SubmissionConflict):
        submissions.claim(session, user, key, "concern", {"mood": 3})


def test_uuids_belong_to_one_person(session, make_returnee):
    a, _ = make_returnee(name="A")
    b, _ = make_returnee(name="B")
    key = str(uuid.uuid4())
    submissions.claim(session, a, key, "checkin", {"mood": 3})
    assert not submissions.claim(session, b, key, "checkin", {"mood": 3}).repeat


@pytest.mark.parametrize("bad", ["", "not-a-uuid", None, "x" * 500])
def test_a_missing_or_broken_uuid_is_a_form_error(session, make_returnee, bad):
    user, _ = make_returnee()
    with pytest.raises(DomainError):
        submissions.claim(session, user, bad, "checkin", {"mood": 3})
    assert session.scalar(select(func.count()).select_from(ClientSubmission)) == 0


def test_signals_hold_ids_and_a_known_kind(session, make_returnee):
    user, _ = make_returnee()
    s = signals.emit(session, returnee=user, kind="concern.safety_now", source_type="concern",
                     source_id=7)
    assert s.organisation_id == user.organisation_id and s.routed_at is None
    with pytest.raises(ValueError):
        signals.emit(session, returnee=user, kind="made.up")
    assert session.scalar(select(func.count()).select_from(Signal)) == 1


@pytest.fixture()
def racer(app):
    """A returnee committed for real (the racing requests run on connections
    of their own, not in the test's rolled-back transaction): (engine, user id).
    Whatever the test stored for them is deleted afterwards."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from webapp.checkins.models import CheckIn, CheckInSummary

    engine = app.extensions["footing_db"].engine
    with Session(engine) as setup:
        org = new_org(setup, name="Race")
        user = User(organisation_id=org.id, role=Role.RETURNEE.value, display_name="Racer")
        setup.add(user)
        setup.commit()
        org_id, user_id = org.id, user.id
    yield engine, user_id
    with Session(engine) as s:
        for model in (ClientSubmission, CheckInSummary, CheckIn):
            s.execute(delete(model).where(model.user_id == user_id))
        s.execute(delete(User).where(User.id == user_id))
        s.execute(delete(Organisation).where(Organisation.id == org_id))
        s.commit()


def test_two_requests_racing_with_one_uuid_store_it_once(app, racer):
    """Two connections claim the same UUID at once (a double tap that reached
    two workers): the second waits for the first to commit, then answers as a
    repeat. Runs on real, separate connections (SQLite or PostgreSQL)."""
    from sqlalchemy.orm import Session

    engine, user_id = racer
    key = str(uuid.uuid4())

    def first(s):
        c = submissions.claim(s, s.get(User, user_id), key, "checkin", {"mood": 3})
        c.done("/checkin/history")
        return c.repeat

    def second(s):
        c = submissions.claim(s, s.get(User, user_id), key, "checkin", {"mood": 3})
        return c.repeat, c.result_url

    results = race(app, first, second)
    with Session(engine) as s:
        stored = s.scalar(select(func.count()).select_from(ClientSubmission)
                          .where(ClientSubmission.user_id == user_id))
    assert results == {"first": False, "second": (True, "/checkin/history")}
    assert stored == 1


def test_two_check_ins_racing_with_one_uuid_store_it_once(app, racer):
    """The same for a kind whose row is its own claim (`insert_once`): the
    second waits on the row's unique index, then answers as a repeat with
    the first's id; one row, and its summary counts one."""
    from sqlalchemy.orm import Session

    from webapp.checkins.models import CheckIn, CheckInSummary
    from webapp.checkins.service import record_checkin

    engine, user_id = racer
    key = str(uuid.uuid4())

    def send(s):
        return record_checkin(s, s.get(User, user_id), mood=4, answers={"safe": "yes"},
                              note="Same tap", share_with_group=False, client_uuid=key)

    results = race(app, send, send)
    with Session(engine) as s:
        rows = s.scalars(select(CheckIn.id).where(CheckIn.user_id == user_id)).all()
        counted = s.scalar(select(CheckInSummary.count).where(CheckInSummary.user_id == user_id))
    assert results == {"first": (rows[0], False), "second": (rows[0], True)}
    assert len(rows) == 1 and counted == 1
