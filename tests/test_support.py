"""Support requests, concerns, "I need help now", the caseworker's inbox and
triage, the thread, the history and medicine gaps (issue #5)."""
from __future__ import annotations

import logging
import re
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from webapp.alerts.models import Signal
from webapp.models import Role
from webapp.people.service import current_caseworker_id
from webapp.privacy.models import AccessLedgerEntry
from webapp.submissions import ClientSubmission
from webapp.support import service
from webapp.support.models import Case, CaseEvent, CaseMessage

from .conftest import Web, activate_returnee, sign_in_staff

TABLES = (Case, CaseEvent, CaseMessage, Signal, ClientSubmission)


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {t.__name__: session.scalar(select(func.count()).select_from(t)) for t in TABLES}


def report(web: Web, kind: str = "medicine", sub_type: str | None = None, *,
           expect: int = 302, **data):
    """Report a concern the way the page does: one value for what (kind and
    sub-type), the urgency from the button pressed. Asserts the answer was
    `expect`: stored, and sent on to its "received" page, by default."""
    data.setdefault("client_uuid", str(uuid.uuid4()))
    if sub_type is not None:
        data["what"] = f"{kind}:{sub_type}"
    return _answered(web.post("/help/report", data), expect)


def ask(web: Web, *, expect: int = 302, **data):
    """Ask for help; asserts the answer was `expect` (stored by default)."""
    data.setdefault("client_uuid", str(uuid.uuid4()))
    return _answered(web.post("/help/ask", data), expect)


def _answered(r, expect: int):
    assert r.status_code == expect, (r.status_code, r.get_data(as_text=True)[:500])
    if expect == 302:
        case_id_of(r)  # sent on to the case's "received" page
    return r


def case_id_of(response) -> int:
    match = re.search(r"/help/cases/(\d+)/received$", response.headers.get("Location", ""))
    assert match, (response.status_code, response.headers.get("Location"),
                   response.get_data(as_text=True)[:500])
    return int(match.group(1))


def staff_client(app, user) -> Web:
    other = Web(app.test_client())
    sign_in_staff(other, user)
    return other


def returnee_client(app, make_returnee, **kw):
    user, code = make_returnee(**kw)
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    return user, phone


# --- Reporting -------------------------------------------------------------------

def test_medicine_ran_out_is_two_choices_and_says_what_happens_next(web, session, returnee_web):
    me = returnee_web()
    page = web.get("/help/report").get_data(as_text=True)
    assert 'value="medicine:ran_out"' in page and 'name="urgency" value="soon"' in page
    r = report(web, sub_type="ran_out", urgency="soon")
    case = session.get(Case, case_id_of(r))
    assert (case.returnee_id, case.kind, case.sub_type, case.urgency, case.status) == (
        me.id, "medicine", "ran_out", "soon", "new")
    received = web.get(r.headers["Location"]).get_data(as_text=True)
    assert "We got it" in received and "within one day" in received
    assert "Medicine: I ran out" in received
    assert [s.kind for s in session.scalars(select(Signal))] == ["concern.serious"]


@pytest.mark.parametrize("kind,sub_type,urgency,signal,priority", [
    ("safety", "threatened", "now", "concern.safety_now", 0),
    ("health", "injured", "now", "concern.urgent", 1),
    ("medicine", "too_expensive", "now", "concern.urgent", 1),
    ("safety", "debt", "soon", "concern.serious", 2),
    ("health", "sick", "later", None, 3),
])
def test_urgent_and_serious_concerns_raise_a_signal_in_the_same_commit(
        web, session, returnee_web, kind, sub_type, urgency, signal, priority):
    me = returnee_web()
    case_id = case_id_of(report(web, kind, sub_type=sub_type, urgency=urgency))
    signals = session.scalars(select(Signal)).all()
    assert [(s.kind, s.returnee_id, s.source_id) for s in signals] == (
        [(signal, me.id, case_id)] if signal else [])
    assert session.get(Case, case_id).priority == priority


def test_ask_for_help_stores_the_request_and_signals_it(web, session, returnee_web):
    me = returnee_web()
    r = ask(web, category="business", contact_way="phone", details="A loan for a shop",
            callback_phone="+232 76 555 111", district=" Bo ")
    case = session.get(Case, case_id_of(r))
    assert (case.type, case.category, case.contact_way, case.text, case.callback_phone,
            case.district) == ("request", "business", "phone", "A loan for a shop",
                               "+232 76 555 111", "Bo")
    assert [(s.kind, s.source_id) for s in session.scalars(select(Signal))] == [
        ("support.new", case.id)]
    history = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).all()
    assert [(e.actor_id, e.from_status, e.to_status) for e in history] == [(me.id, None, "new")]
    page = web.get(r.headers["Location"]).get_data(as_text=True)
    assert "A phone call" in page and "within a few days" in page


def test_help_now_asks_first_then_shows_the_emergency_line(web, session, returnee_web, org):
    returnee_web()
    home = web.get("/home").get_data(as_text=True)
    assert all(f'href="/help/{way}"' in home for way in ("now", "report", "ask"))
    before = counts(session)
    confirm = web.get("/help/now").get_data(as_text=True)
    assert "Yes, I need help now" in confirm and "No, go back" in confirm
    assert counts(session) == before  # a pocket tap on the home page sends nothing
    r = web.post("/help/now", {"client_uuid": str(uuid.uuid4())})
    case = session.get(Case, case_id_of(r))
    assert (case.kind, case.urgency, case.sub_type, case.priority) == ("safety", "now", None, 0)
    assert [s.kind for s in session.scalars(select(Signal))] == ["concern.safety_now"]
    page = web.get(r.headers["Location"]).get_data(as_text=True)
    assert 'href="tel:+23276123456"' in page and org.emergency_phone in page
    main = page[page.index("<main"):]
    assert main.index("tel:") < main.index("We got it")  # the number comes first


def test_a_repeat_stores_nothing_and_the_same_uuid_with_other_content_is_refused(
        web, session, returnee_web):
    returnee_web()
    uid = str(uuid.uuid4())
    first = report(web, sub_type="ran_out", urgency="later", client_uuid=uid)
    after_first = counts(session)
    again = report(web, sub_type="ran_out", urgency="later", client_uuid=uid)
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert counts(session) == after_first
    other = report(web, sub_type="too_expensive", urgency="later", client_uuid=uid, expect=409)
    assert "already sent with different content" in other.get_data(as_text=True)
    assert counts(session) == after_first


CONCERN_BAD = [
    ("medicine", {"sub_type": "broken_leg", "urgency": "soon"}, "Please choose one from the list."),
    ("medicine", {"sub_type": "threatened", "urgency": "soon"}, "Please choose one from the list."),
    ("medicine", {"sub_type": "ran_out"}, "Please choose one from the list."),
    ("medicine", {"sub_type": "ran_out", "urgency": "whenever"},
     "Please choose one from the list."),
    ("safety", {"sub_type": "debt", "urgency": "now", "callback_phone": "call me"},
     "Please write a phone number"),
    ("safety", {"sub_type": "debt", "urgency": "now", "callback_phone": "12 34"},
     "Please write a phone number"),
    ("safety", {"sub_type": "debt", "urgency": "now", "callback_phone": "1" * 21},
     "Please write a phone number"),
    ("health", {"sub_type": "sick", "urgency": "soon", "note": "x" * 1001},
     "at most 1000 characters"),
    ("medicine", {"sub_type": "ran_out", "urgency": "soon", "medicine_name": "x" * 101},
     "at most 100 characters"),
    ("health", {"sub_type": "sick", "urgency": "soon", "district": "x" * 81},
     "at most 80 characters"),
    ("medicine", {"sub_type": "ran_out", "urgency": "soon", "client_uuid": "not-a-uuid"},
     "This form is damaged"),
    ("spaceship", {"sub_type": "ran_out", "urgency": "soon"}, "Please choose one from the list."),
    ("medicine", {"urgency": "soon"}, "Please choose one from the list."),
]


@pytest.mark.parametrize("kind,data,message", CONCERN_BAD)
def test_bad_concerns_are_refused_in_words_and_store_nothing(web, session, returnee_web,
                                                              kind, data, message):
    returnee_web()
    before = counts(session)
    r = report(web, kind, expect=400, **data)
    assert message in r.get_data(as_text=True)
    assert counts(session) == before


REQUEST_BAD = [
    ({"category": "spaceship", "contact_way": "app"}, "Please choose one from the list."),
    ({"contact_way": "app"}, "Please choose one from the list."),
    ({"category": "housing", "contact_way": "pigeon"}, "Please choose one from the list."),
    ({"category": "housing", "contact_way": "app", "details": "x" * 2001},
     "at most 2000 characters"),
    ({"category": "housing", "contact_way": "phone", "callback_phone": "+232-abc-123"},
     "Please write a phone number"),
]


@pytest.mark.parametrize("data,message", REQUEST_BAD)
def test_bad_requests_are_refused_in_words_and_store_nothing(web, session, returnee_web,
                                                              data, message):
    returnee_web()
    before = counts(session)
    r = ask(web, expect=400, **data)
    assert message in r.get_data(as_text=True)
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert counts(session) == before


def test_a_phone_number_in_persian_digits_is_kept_in_latin_ones(web, session, returnee_web):
    """The caseworker dials what the returnee typed on a Dari keyboard."""
    returnee_web(locale="fa_AF")
    r = report(web, "safety", sub_type="family", urgency="now", callback_phone="۰۷۹ ۱۲۳ ۴۵۶۷")
    assert r.status_code == 302
    assert session.scalars(select(Case.callback_phone)).one() == "079 123 4567"


def test_phone_numbers_and_words_stay_out_of_the_logs(web, session, returnee_web, caplog):
    returnee_web()
    with caplog.at_level(logging.DEBUG):
        r = report(web, "safety", sub_type="family", urgency="now",
                   callback_phone="+232 77 987 654", note="My uncle Foday", district="Makeni")
    assert r.status_code == 302
    # The number in any spacing (a bare "987" could be a task's run time).
    for leak in ("987 654", "987654", "77 987", "Foday", "Makeni"):
        assert leak not in caplog.text
    assert "987" not in r.headers["Location"]


# --- Access -------------------------------------------------------------------------

@pytest.fixture()
def a_case(app, session, make_returnee, make_staff, ctx):
    """A concern of a returnee of caseworker `cw`: returns (case, returnee, cw)."""
    cw = make_staff(Role.CASEWORKER)
    person, _code = make_returnee(caseworker=cw, name="Mariama")
    with ctx():
        case = service.create_concern(session, person, kind="medicine", sub_type="ran_out",
                                      urgency="soon", medicine_name="Insulin")
    session.commit()
    return case, person, cw


@pytest.mark.parametrize("who,status", [
    ("assigned caseworker", 200), ("other caseworker", 404), ("coordinator", 200),
    ("coordinator elsewhere", 404), ("facilitator", 404),
])
def test_who_may_open_a_case(app, session, a_case, make_staff, make_org, who, status):
    case, person, cw = a_case
    user = {
        "assigned caseworker": lambda: cw,
        "other caseworker": lambda: make_staff(Role.CASEWORKER),
        "coordinator": lambda: make_staff(Role.COORDINATOR),
        "coordinator elsewhere": lambda: make_staff(Role.COORDINATOR, organisation=make_org()),
        "facilitator": lambda: make_staff(Role.FACILITATOR),
    }[who]()
    staff = staff_client(app, user)
    before = counts(session)
    for url in [f"/help/cases/{case.id}", f"/help/cases/{case.id}/received"]:
        expected = status if not url.endswith("received") else 404
        assert staff.get(url).status_code == expected, url
    token = staff.token("/home")
    for action, data in [("reply", {"reply-body": "Hi"}), ("note", {"note-body": "x"}),
                         ("acknowledge", {}), ("status", {"status": "in_progress"})]:
        r = staff.client.post(f"/help/cases/{case.id}/{action}", data={"csrf_token": token, **data})
        assert (r.status_code == 302) == (status == 200), (action, r.status_code)
        if status == 200:
            break  # the rest are covered elsewhere; one change is enough here
    if status == 404:
        assert counts(session) == before
    ledger = session.scalars(select(AccessLedgerEntry).where(
        AccessLedgerEntry.subject_id == person.id)).all()
    assert [e.viewer_id for e in ledger] == ([user.id] if status == 200 else [])


def test_a_returnee_sees_only_their_own_cases(app, session, a_case, web, returnee_web):
    case, _person, _cw = a_case
    returnee_web(name="Sahr")
    before = counts(session)
    for url in [f"/help/cases/{case.id}", f"/help/cases/{case.id}/received", "/help/inbox",
                "/help/medicine"]:
        assert web.get(url).status_code == 404, url
    token = web.token("/help/ask")
    for action in ("reply", "note", "acknowledge", "status", "reassign"):
        r = web.client.post(f"/help/cases/{case.id}/{action}",
                            data={"csrf_token": token, "reply-body": "mine now",
                                  "status": "closed"})
        assert r.status_code == 404, action
    assert counts(session) == before
    assert "Medicine" not in web.get("/help/").get_data(as_text=True)


def test_own_case_view_writes_no_ledger_entry(app, session, make_returnee):
    person, phone = returnee_client(app, make_returnee)
    case_id = case_id_of(ask(phone, category="work", contact_way="app"))
    assert phone.get(f"/help/cases/{case_id}").status_code == 200
    assert session.scalar(select(func.count()).select_from(AccessLedgerEntry)) == 0


@pytest.mark.parametrize("role,inbox,medicine", [
    (Role.CASEWORKER, 200, 404), (Role.COORDINATOR, 200, 200), (Role.FACILITATOR, 404, 404),
])
def test_staff_pages_by_role(web, staff_web, role, inbox, medicine):
    staff_web(role)
    assert web.get("/help/inbox").status_code == inbox
    assert web.get("/help/medicine").status_code == medicine
    for url in ("/help/", "/help/ask", "/help/report", "/help/now"):
        assert web.get(url).status_code == 404, url


# --- The inbox and triage ---------------------------------------------------------------

def _concern(session, ctx, person, kind, sub_type, urgency, when=None, **kw):
    with ctx():
        case = service.create_concern(session, person, kind=kind, sub_type=sub_type,
                                      urgency=urgency, **kw)
    if when:
        case.created_at = when
    session.commit()
    return case


def test_inbox_most_urgent_then_oldest_first_and_only_assigned(
        app, session, ctx, web, staff_web, make_returnee, make_staff, make_org):
    me = staff_web(Role.CASEWORKER)
    mine, _ = make_returnee(caseworker=me, name="Aminata")
    theirs, _ = make_returnee(name="Not mine")
    elsewhere, _ = make_returnee(organisation=make_org(), name="Far away")
    t = lambda day: datetime(2026, 11, day, 9, tzinfo=UTC)  # noqa: E731
    later_old = _concern(session, ctx, mine, "health", "sick", "later", t(1))
    soon = _concern(session, ctx, mine, "medicine", "ran_out", "soon", t(3))
    now_health = _concern(session, ctx, mine, "health", "injured", "now", t(2))
    safety_now = _concern(session, ctx, mine, "safety", "attacked", "now", t(4))
    later_new = _concern(session, ctx, mine, "health", "stress", "later", t(5))
    with ctx():
        request = service.create_request(session, mine, category="papers", contact_way="app")
    session.commit()
    hidden = [_concern(session, ctx, p, "safety", "attacked", "now") for p in (theirs, elsewhere)]
    page = web.get("/help/inbox").get_data(as_text=True)
    order = [int(i) for i in re.findall(r'href="/help/cases/(\d+)"', page)]
    assert order == [safety_now.id, now_health.id, soon.id, later_old.id, later_new.id, request.id]
    assert not {h.id for h in hidden} & set(order)


def test_coordinator_sees_the_organisation_and_reassigns(
        app, session, ctx, web, staff_web, a_case, make_staff, make_org):
    case, person, old_cw = a_case
    staff_web(Role.COORDINATOR)
    elsewhere_cw = make_staff(Role.CASEWORKER, organisation=make_org())
    new_cw = make_staff(Role.CASEWORKER, display_name="Fatmata Kamara")
    page = web.get("/help/inbox").get_data(as_text=True)
    assert f'href="/help/cases/{case.id}"' in page and old_cw.display_name in page
    r = web.post(f"/help/cases/{case.id}/reassign", {"caseworker": elsewhere_cw.id},
                 form_page=f"/help/cases/{case.id}")
    assert r.status_code == 400
    assert current_caseworker_id(session, person.id) == old_cw.id
    r = web.post(f"/help/cases/{case.id}/reassign", {"caseworker": new_cw.id},
                 form_page=f"/help/cases/{case.id}")
    assert r.status_code == 302
    assert current_caseworker_id(session, person.id) == new_cw.id
    inbox = staff_client(app, new_cw).get("/help/inbox").get_data(as_text=True)
    assert f'/help/cases/{case.id}"' in inbox
    assert staff_client(app, old_cw).get(f"/help/cases/{case.id}").status_code == 404


def test_acknowledge_reply_and_the_returnee_reads_it_but_never_a_note(
        app, session, make_returnee, make_staff):
    cw = make_staff(Role.CASEWORKER, display_name="Mohamed")
    person, phone = returnee_client(app, make_returnee, caseworker=cw)
    case_id = case_id_of(report(phone, sub_type="ran_out", urgency="soon"))
    staff = staff_client(app, cw)
    url = f"/help/cases/{case_id}"
    assert staff.post(f"{url}/acknowledge", {}, form_page=url).status_code == 302
    assert staff.post(f"{url}/acknowledge", {}, form_page=url).status_code == 400  # only once
    assert staff.post(f"{url}/reply", {"reply-body": "I will bring insulin tomorrow."},
                      form_page=url).status_code == 302
    assert staff.post(f"{url}/note", {"note-body": "Check the clinic stock in Bo secretly"},
                      form_page=url).status_code == 302
    staff_page = staff.get(url).get_data(as_text=True)
    assert "Check the clinic stock" in staff_page and "Internal note" in staff_page
    mine = phone.get(url).get_data(as_text=True)
    assert "I will bring insulin tomorrow." in mine
    assert "Seen" in mine  # the status the returnee reads
    assert "Check the clinic stock" not in mine and "Internal note" not in mine
    # The returnee answers in the same thread.
    assert phone.post(f"{url}/reply", {"reply-body": "Thank you"}, form_page=url).status_code == 302
    assert "Thank you" in staff.get(url).get_data(as_text=True)
    note = phone.client.post(f"{url}/note",
                             data={"note-body": "x", "csrf_token": phone.token(url)})
    assert note.status_code == 404


def test_status_changes_are_history_and_a_decline_needs_a_reason_the_returnee_reads(
        app, session, make_returnee, make_staff):
    cw = make_staff(Role.CASEWORKER, display_name="Mohamed")
    person, phone = returnee_client(app, make_returnee, caseworker=cw)
    case_id = case_id_of(ask(phone, category="housing", contact_way="visit"))
    staff = staff_client(app, cw)
    url = f"/help/cases/{case_id}"
    before = counts(session)
    for bad in [{"status": "declined"}, {"status": "declined", "reason": "  "},
                {"status": "closed", "outcome": "solved"}, {"status": "teleported"},
                {"status": "in_progress", "reason": "x" * 1001}]:
        r = staff.post(f"{url}/status", bad, form_page=url)
        assert r.status_code == 400, bad
        assert 'class="errors"' in r.get_data(as_text=True)
    assert counts(session) == before
    staff.post(f"{url}/status", {"status": "in_progress"}, form_page=url)
    r = staff.post(f"{url}/status", {"status": "declined",
                                     "reason": "We do not pay rent, but the city office can help."},
                   form_page=url)
    assert r.status_code == 302
    history = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id)
                              .order_by(CaseEvent.id)).all()
    assert [(e.actor_id, e.from_status, e.to_status) for e in history] == [
        (person.id, None, "new"), (cw.id, "new", "in_progress"), (cw.id, "in_progress", "declined")]
    mine = phone.get(url).get_data(as_text=True)
    assert "Not possible" in mine and "the city office can help" in mine
    assert phone.post(f"{url}/reply", {"reply-body": "Where is that office?"},
                      form_page=url).status_code == 302


def test_closing_a_concern_needs_an_outcome(app, session, a_case):
    case, _person, cw = a_case
    staff = staff_client(app, cw)
    url = f"/help/cases/{case.id}"
    assert staff.post(f"{url}/status", {"status": "closed"}, form_page=url).status_code == 400
    assert staff.post(f"{url}/status", {"status": "declined", "reason": "no"},
                      form_page=url).status_code == 400  # a concern is closed, not declined
    assert staff.post(f"{url}/status", {"status": "closed", "outcome": "medicine_obtained",
                                        "reason": "Got it at the clinic"},
                      form_page=url).status_code == 302
    session.expire_all()
    assert (session.get(Case, case.id).status, session.get(Case, case.id).outcome) == (
        "closed", "medicine_obtained")
    assert f'/help/cases/{case.id}"' not in staff.get("/help/inbox").get_data(as_text=True)
    assert f'/help/cases/{case.id}"' in staff.get("/help/inbox?show=closed").get_data(as_text=True)


def test_inbox_htmx_gets_only_the_rows(web, staff_web, a_case):
    staff_web(Role.COORDINATOR)
    full = web.get("/help/inbox").get_data(as_text=True)
    part = web.get("/help/inbox?show=closed", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" in full and 'id="inbox-rows"' in full
    assert "<html" not in part and part.lstrip().startswith('<div id="inbox-rows">')


def test_list_pages_do_not_grow_queries_with_cases(app, session, ctx, web, staff_web,
                                                   make_returnee, count_queries):
    me = staff_web(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=me)
    _concern(session, ctx, person, "health", "sick", "soon")
    with count_queries() as few:
        assert web.get("/help/inbox").status_code == 200
    for i in range(12):
        other, _ = make_returnee(caseworker=me, name=f"P{i}")
        _concern(session, ctx, other, "safety", "debt", "later")
        with ctx():
            service.create_request(session, other, category="work", contact_way="app")
        session.commit()
    with count_queries() as many:
        assert web.get("/help/inbox").status_code == 200
    assert many() == few()


def test_case_page_queries_do_not_grow_with_messages(app, session, a_case, count_queries):
    case, _person, cw = a_case
    staff = staff_client(app, cw)
    url = f"/help/cases/{case.id}"
    with count_queries() as few:
        staff.get(url)
    for i in range(8):
        staff.post(f"{url}/reply", {"reply-body": f"message {i}"}, form_page=url)
        staff.post(f"{url}/note", {"note-body": f"note {i}"}, form_page=url)
    with count_queries() as many:
        assert "message 7" in staff.get(url).get_data(as_text=True)
    assert many() == few()


# --- Medicine gaps ---------------------------------------------------------------------

def test_medicine_gaps_count_a_medicine_once_per_district_and_month(
        app, session, ctx, web, staff_web, make_returnee, make_org):
    staff_web(Role.COORDINATOR)
    person, _ = make_returnee()
    far, _ = make_returnee(organisation=make_org())
    nov = datetime(2026, 11, 10, tzinfo=UTC)
    oct_ = datetime(2026, 10, 10, tzinfo=UTC)
    for name, district, when in [("Insulin", "Bo", nov), ("  insulin ", "bo", nov),
                                 ("INSULIN", "Bo ", nov), ("Insulin", "Kenema", nov),
                                 ("Metformin", "Bo", nov), ("Insulin", "Bo", oct_), ("", "", nov)]:
        _concern(session, ctx, person, "medicine", "not_available", "later", when,
                 medicine_name=name, district=district)
    _concern(session, ctx, far, "medicine", "ran_out", "soon", nov, medicine_name="Insulin",
             district="Bo")
    _concern(session, ctx, person, "health", "sick", "soon", nov, district="Bo")
    with ctx():
        gaps = service.medicine_gaps(session, person.organisation,
                                     now=datetime(2026, 11, 30, tzinfo=UTC))
    assert [(g.month.isoformat(), g.medicine, g.district, g.reports) for g in gaps] == [
        ("2026-11-01", "Insulin", "Bo", 3),
        ("2026-11-01", "", "", 1),
        ("2026-11-01", "Insulin", "Kenema", 1),
        ("2026-11-01", "Metformin", "Bo", 1),
        ("2026-10-01", "Insulin", "Bo", 1),
    ]
    page = web.get("/help/medicine").get_data(as_text=True)
    assert "Insulin" in page and "name not given" in page


def test_medicine_months_follow_the_organisation_time_zone(session, ctx, make_org, make_returnee):
    kabul = make_org(timezone="Asia/Kabul")
    person, _ = make_returnee(organisation=kabul)
    late_october_utc = datetime(2026, 10, 31, 21, 0, tzinfo=UTC)  # 1 Nov 01:30 in Kabul
    _concern(session, ctx, person, "medicine", "ran_out", "soon", late_october_utc,
             medicine_name="Insulin")
    with ctx():
        gaps = service.medicine_gaps(session, kabul, now=datetime(2026, 11, 5, tzinfo=UTC))
    assert [g.month.isoformat() for g in gaps] == ["2026-11-01"]


def test_fold_and_phone_rules():
    assert service.fold("  Amoxi  CILLIN ") == "amoxi cillin"
    assert service.clean_phone(" +232  76-123 456 ") == "+232 76-123 456"
    assert service.clean_phone("") == ""
    for bad in ("12345", "+" + "1" * 21, "076 12x 456", "0761234567; drop"):
        with pytest.raises(service.DomainError):
            service.clean_phone(bad)


def test_returnee_pages_stay_small(web, returnee_web):
    """DESIGN §5: a later page is at most 10 KB compressed."""
    import gzip

    returnee_web()
    case_id = case_id_of(report(web, sub_type="ran_out", urgency="now"))
    for url in ["/help/", "/help/ask", "/help/report", "/help/now", f"/help/cases/{case_id}",
                f"/help/cases/{case_id}/received"]:
        body = web.get(url).get_data()
        assert len(gzip.compress(body, 6)) <= 10_000, (url, len(gzip.compress(body, 6)))
