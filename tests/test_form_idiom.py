"""One way to run a form (issue #25): a service's refusal reaches the person
where they look (on its field, above the form, or flashed for a button), with
the refusal's own status, and whatever the service wrote before it refused is
not kept."""
from __future__ import annotations

import re
import uuid

from flask import get_flashed_messages
from sqlalchemy import func, select
from wtforms import StringField

from webapp.audit import AuditEvent
from webapp.auth.models import ActivationCode
from webapp.checkins.models import CheckIn
from webapp.errors import DomainError
from webapp.forms import Form, required, run_form
from webapp.models import Role, User
from webapp.submissions import ClientSubmission
from webapp.support.models import Case, CaseEvent

from .conftest import Web, activate_returnee, sign_in_staff


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def on_field(page: str, field_id: str) -> list[str]:
    """The messages under a field (the `field` macro's error list)."""
    match = re.search(rf'<ul class="errors" id="{field_id}-error">(.*?)</ul>', page, re.S)
    return re.findall(r"<li>(.*?)</li>", match.group(1)) if match else []


def above_form(page: str) -> list[str]:
    """The messages of the `form_errors` macro, above a form."""
    match = re.search(r'<div class="flash flash-error" role="alert">(.*?)</div>', page, re.S)
    return re.findall(r"<p>(.*?)</p>", match.group(1)) if match else []


def flashed(page: str) -> list[str]:
    return re.findall(r'<p class="flash flash-error" role="alert">(.*?)</p>', page)


def test_a_refusal_naming_a_field_shows_on_it_and_stores_nothing(web, session, staff_web,
                                                                   make_staff):
    staff_web(Role.COORDINATOR)
    taken = make_staff(Role.CASEWORKER)
    before = (count(session, User), count(session, ActivationCode), count(session, AuditEvent))
    r = web.post("/people/new/staff", {"display_name": "Fatmata", "email": taken.email.upper(),
                                       "role": "caseworker", "locale": "en"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert on_field(page, "email") == ["This e-mail address is already in use."]
    assert above_form(page) == [] and flashed(page) == []
    assert 'value="Fatmata"' in page  # what was typed stays
    assert (count(session, User), count(session, ActivationCode),
            count(session, AuditEvent)) == before


def test_a_refusal_with_its_own_status_shows_above_the_form_and_stores_nothing(
        web, session, returnee_web):
    me = returnee_web()
    key = str(uuid.uuid4())
    first = web.post("/help/report", {"what": "medicine:ran_out", "urgency": "later",
                                      "client_uuid": key})
    assert first.status_code == 302
    before = (count(session, Case), count(session, ClientSubmission))
    r = web.post("/help/report", {"what": "medicine:too_expensive", "urgency": "later",
                                  "client_uuid": key})
    page = r.get_data(as_text=True)
    assert r.status_code == 409  # the SubmissionConflict's own status, not 400
    [message] = above_form(page)
    assert "already sent with different content" in message
    assert (count(session, Case), count(session, ClientSubmission)) == before
    assert count(session, Case, Case.returnee_id == me.id) == 1


def test_what_a_service_wrote_before_it_refused_is_not_kept(web, session, returnee_web):
    # The device's UUID is claimed (a row written) before the check-in is refused.
    me = returnee_web()
    r = web.post("/checkin/", {"mood": "3", "visibility": "group",
                               "client_uuid": str(uuid.uuid4())})
    assert r.status_code == 400
    assert "You chose not to share check-ins with your group." in r.get_data(as_text=True)
    assert count(session, ClientSubmission, ClientSubmission.user_id == me.id) == 0
    assert count(session, CheckIn) == 0


def test_a_refused_button_flashes_the_message_on_the_page_again(app, session, make_returnee,
                                                                 make_staff):
    cw = make_staff(Role.CASEWORKER)
    person, code = make_returnee(caseworker=cw)
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    sent = phone.post("/help/report", {"what": "medicine:ran_out", "urgency": "soon",
                                       "client_uuid": str(uuid.uuid4())})
    case_id = int(re.search(r"/help/cases/(\d+)/received$", sent.headers["Location"]).group(1))
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    url = f"/help/cases/{case_id}"
    assert staff.post(f"{url}/acknowledge", {}, form_page=url).status_code == 302
    events = count(session, CaseEvent, CaseEvent.case_id == case_id)
    r = staff.post(f"{url}/acknowledge", {}, form_page=url)
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert flashed(page) == ["This was already seen."]  # not on the status form it names
    assert on_field(page, "status") == [] and above_form(page) == []
    assert f'action="{url}/reply"' in page  # the case page, shown again
    assert count(session, CaseEvent, CaseEvent.case_id == case_id) == events


class NoteForm(Form):
    class Meta:
        csrf = False

    note = StringField(validators=[required()])


class Taken(DomainError):
    status = 409


def test_run_form_answers_with_where_the_message_goes_and_which_status(app):
    calls = []

    def refuse(field=None, error=Taken):
        def action():
            calls.append(field)
            raise error("Someone was quicker.", field=field)
        return action

    with app.test_request_context("/", method="GET"):
        run = run_form(NoteForm(), refuse())
        assert (run.done, run.status, run.invalid, calls) == (False, 200, False, [])

    with app.test_request_context("/", method="POST", data={"note": " "}):
        run = run_form(NoteForm(), refuse())
        assert (run.done, run.status, run.invalid, calls) == (False, 400, True, [])

    with app.test_request_context("/", method="POST", data={"note": "hello"}):
        form = NoteForm()
        run = run_form(form, refuse("note"))
        assert (run.done, run.status, run.invalid, run.message) == (
            False, 409, False, "Someone was quicker.")
        assert form.note.errors == ["Someone was quicker."] and form.form_errors == []

    with app.test_request_context("/", method="POST", data={"note": "hello"}):
        form = NoteForm()
        run = run_form(form, refuse(None, DomainError))
        assert run.status == 400 and form.form_errors == ["Someone was quicker."]

    with app.test_request_context("/", method="POST", data={"note": "hello"}):
        form = NoteForm()
        run = run_form(form, refuse("note"), flash_error=True)
        assert run.status == 409 and form.note.errors == [] and form.form_errors == []
        assert get_flashed_messages() == ["Someone was quicker."]

    with app.test_request_context("/", method="POST", data={"note": "hello"}):
        form = NoteForm()
        run = run_form(form, lambda: form.note.data.upper())
        assert (run.done, run.result, run.status, run.error) == (True, "HELLO", 200, None)
