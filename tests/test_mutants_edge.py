"""The request edge keeps a request's changes only when its answer is a
success (webapp/__init__.py, `_commit_at_edge`), seen from the people using
the forms: a form refused after it began writing leaves nothing behind, so the
corrected form goes through (issue #25: a mutant committing on a 4xx answer
was caught by one test only)."""
from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from webapp.checkins.models import CheckIn
from webapp.models import Role
from webapp.monitoring.models import FollowUp, ReintegrationCheck

from . import test_monitoring
from .conftest import sign_in_staff
from .test_checkins import checkin
from .test_monitoring import ALL_YES, q

caseworker_and_person = test_monitoring.caseworker_and_person  # the monitoring tests' fixture


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def test_a_check_in_refused_after_its_form_was_claimed_can_be_sent_again(
        web, session, returnee_web):
    """The check-in row, its UUID's claim, is stored before the consent is
    checked: sharing with the group without consent is refused after that. The page comes back with
    the same UUID; choosing "my caseworker" and sending again must store the
    check-in, not answer "already sent with different content"."""
    me = returnee_web()  # no consent to share with the group
    key = str(uuid.uuid4())
    refused = checkin(web, mood="2", note="Hard week", visibility="group", client_uuid=key,
                      expect=400)
    page = refused.get_data(as_text=True)
    assert "You chose not to share check-ins with your group." in page
    assert re.search(rf'name="client_uuid"[^>]*value="{key}"', page), "the form keeps its UUID"
    assert count(session, CheckIn, CheckIn.user_id == me.id) == 0

    checkin(web, mood="2", note="Hard week", visibility="caseworker", client_uuid=key)
    assert "Thank you. Your check-in is sent." in web.get("/checkin/history").get_data(as_text=True)
    assert session.scalars(select(CheckIn.note).where(CheckIn.user_id == me.id)).all() == [
        "Hard week"]
    assert count(session, CheckIn, CheckIn.client_uuid == key) == 1


def test_a_follow_up_refused_for_an_unfinished_check_stays_open(session, caseworker_and_person):
    """The follow-up is written before its check is found incomplete: the
    refusal must leave the month open, so the caseworker can record it with
    the whole check (not be told it is already recorded)."""
    _cw, person, staff = caseworker_and_person
    url = f"/caseload/{person.id}/followups"
    r = staff.post(url, {"month": "3", "contact": "visit", "outcome": "doing_well",
                         "q_eco_income": "yes"})
    assert r.status_code == 400
    assert "Please answer every question of the check." in r.get_data(as_text=True)
    assert count(session, FollowUp, FollowUp.returnee_id == person.id,
                 FollowUp.done_at.is_not(None)) == 0

    r = staff.post(url, {"month": "3", "contact": "visit", "outcome": "doing_well", **q(ALL_YES)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    assert count(session, FollowUp, FollowUp.returnee_id == person.id,
                 FollowUp.done_at.is_not(None)) == 1
    assert count(session, ReintegrationCheck, ReintegrationCheck.returnee_id == person.id) == 1


def test_a_denied_request_changes_nothing(app, web, session, make_staff, make_returnee):
    """A caseworker's post about someone who is not theirs is answered as if
    the person did not exist, and writes nothing: no follow-up, no ledger."""
    from webapp.privacy.models import AccessLedgerEntry

    from .conftest import Web

    theirs, _ = make_returnee(caseworker=make_staff(Role.CASEWORKER), name="Not mine")
    stranger = Web(app.test_client())
    sign_in_staff(stranger, make_staff(Role.CASEWORKER))
    before = (count(session, FollowUp), count(session, AccessLedgerEntry))
    r = stranger.post(f"/caseload/{theirs.id}/followups",
                      {"month": "1", "contact": "none", "outcome": "could_not_reach"},
                      form_page="/home")
    assert r.status_code == 404
    assert stranger.get(f"/caseload/{theirs.id}/followups").status_code == 404
    assert (count(session, FollowUp), count(session, AccessLedgerEntry)) == before
