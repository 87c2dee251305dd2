"""NUL and other control characters never reach the database: one filter on
every form field strips them (a report with a NUL used to get a 500 on
PostgreSQL, and the offline queue retried it for ever). Line breaks and tabs
are what people type, and stay."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from webapp.checkins.models import CheckIn
from webapp.forms import plain_text
from webapp.plan.models import Goal


def test_form_fields_lose_control_characters_but_keep_line_breaks():
    assert plain_text("line one\r\nline\ttwo\x00\x1b[31m\x7f") == "line one\r\nline\ttwo[31m"
    assert plain_text(5) == 5


def test_a_check_in_note_with_a_nul_is_stored_clean(web, session, returnee_web):
    me = returnee_web()
    answer = web.post("/checkin/", {"mood": "3", "visibility": "caseworker",
                                    "note": "no\x00 medicine\x07 this week\nat all",
                                    "client_uuid": str(uuid.uuid4())})
    assert answer.status_code == 302
    note = session.scalars(select(CheckIn.note).where(CheckIn.user_id == me.id)).one()
    assert note == "no medicine this week\nat all"


def test_a_goal_title_with_a_nul_is_stored_clean(web, session, returnee_web):
    me = returnee_web()
    answer = web.post("/plan/goals/new", {"area": "work", "title": "Open a\x00 shop\x1b",
                                          "why": "", "state": "not_started"},
                      form_page="/plan/goals/new?area=work")
    assert answer.status_code == 302
    title = session.scalars(select(Goal.title).where(Goal.returnee_id == me.id)).one()
    assert title == "Open a shop"


def test_a_field_sent_twice_is_refused_and_nothing_is_stored(web, session, returnee_web):
    me = returnee_web()
    token = web.token("/checkin/")
    answer = web.client.post("/checkin/", data=(
        f"csrf_token={token}&mood=3&mood=1&visibility=caseworker&client_uuid={uuid.uuid4()}"),
        content_type="application/x-www-form-urlencoded")
    assert answer.status_code == 400
    assert "This form is damaged" in answer.get_data(as_text=True)
    assert session.scalars(select(CheckIn).where(CheckIn.user_id == me.id)).all() == []
