"""Creating accounts and handing over activation codes."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from webapp.audit import AuditEvent
from webapp.auth.models import ActivationCode
from webapp.models import Household, Role, User
from webapp.people.service import current_caseworker_id

from .conftest import Web, activate_returnee

CODE_RE = re.compile(r'class="code-big" dir="ltr">([A-Z0-9-]+)<')


def test_caseworker_creates_a_returnee_who_can_activate(app, web, session, staff_web):
    me = staff_web(Role.CASEWORKER)
    r = web.post("/people/new/returnee", {"display_name": "Sahr", "locale": "nl",
                                          "caseworker": me.id, "household": 0,
                                          "return_date": "2026-10-01"})
    assert r.status_code == 200
    page = r.get_data(as_text=True)
    code = CODE_RE.search(page).group(1)
    assert "<svg" in page and "shown only now" in page
    # The code is never stored in clear, nor put in a URL or cookie.
    hashes = session.scalars(select(ActivationCode.verifier_hash)).all()
    assert code.replace("-", "") not in str(hashes)
    assert code not in r.headers.get("Set-Cookie", "")
    sahr = session.scalars(select(User).where(User.display_name == "Sahr")).one()
    assert current_caseworker_id(session, sahr.id) == me.id
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    # The person's language comes from the profile.
    assert 'lang="nl"' in phone.get("/home").get_data(as_text=True)


def test_new_returnee_form_errors_change_nothing(web, session, staff_web):
    staff_web(Role.CASEWORKER)
    before = session.scalar(select(func.count()).select_from(User))
    for data in [{"display_name": "", "locale": "en"},
                 {"display_name": "x" * 101, "locale": "en"},
                 {"display_name": "Ok", "locale": "xx"},
                 {"display_name": "Ok", "locale": "en", "return_date": "1900-01-01"}]:
        data.setdefault("household", 0)
        r = web.post("/people/new/returnee", data)
        assert r.status_code == 400, data
        assert 'class="errors"' in r.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(User)) == before


def test_caseworker_cannot_assign_to_someone_else(web, session, staff_web, make_staff):
    staff_web(Role.CASEWORKER)
    other = make_staff(Role.CASEWORKER)
    r = web.post("/people/new/returnee", {"display_name": "X", "locale": "en",
                                          "caseworker": other.id, "household": 0})
    assert r.status_code == 400
    assert session.scalar(select(func.count()).select_from(User).where(
        User.display_name == "X")) == 0


def test_coordinator_creates_household_members(web, session, staff_web, make_staff):
    staff_web(Role.COORDINATOR)
    cw = make_staff(Role.CASEWORKER)
    web.post("/people/new/returnee", {"display_name": "Abdul", "locale": "en",
                                      "caseworker": cw.id, "household": -1})
    household = session.scalars(select(Household)).one()
    web.post("/people/new/returnee", {"display_name": "Mariama", "locale": "en",
                                      "caseworker": cw.id, "household": household.id})
    members = session.scalars(select(User.display_name).where(
        User.household_id == household.id)).all()
    assert sorted(members) == ["Abdul", "Mariama"]


def test_duplicate_staff_email_is_refused(web, session, staff_web, make_staff):
    staff_web(Role.COORDINATOR)
    existing = make_staff()
    r = web.post("/people/new/staff", {"display_name": "Dup", "email": existing.email.upper(),
                                       "role": "caseworker", "locale": "en"})
    assert r.status_code == 400 and "already in use" in r.get_data(as_text=True)
    r = web.post("/people/new/staff", {"display_name": "Bad", "email": "x@example.org",
                                       "role": "returnee", "locale": "en"})
    assert r.status_code == 400


def test_reissue_makes_the_old_code_stop_working(app, web, session, staff_web, make_returnee):
    me = staff_web(Role.CASEWORKER)
    person, old_code = make_returnee(caseworker=me)
    r = web.post(f"/people/{person.id}/activation", form_page=f"/people/{person.id}")
    new_code = CODE_RE.search(r.get_data(as_text=True)).group(1)
    phone = Web(app.test_client())
    assert phone.post("/activate", {"code": old_code}).status_code == 400
    activate_returnee(phone, new_code)
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_id == person.id)).all()
    assert actions.count("activation.issue") == 2


def test_people_list_queries_do_not_grow_with_people(web, staff_web, make_returnee, count_queries):
    staff_web(Role.COORDINATOR)
    make_returnee(name="One")
    with count_queries() as few:
        web.get("/people/")
    for i in range(15):
        make_returnee(name=f"Person {i}")
    with count_queries() as many:
        assert web.get("/people/").status_code == 200
    assert many() == few()


def test_the_people_list_goes_page_by_page_and_a_caseworker_sees_their_own(
        web, staff_web, make_staff, make_returnee, monkeypatch):
    """A large organisation's list is in pages, not cut off after its first rows."""
    from webapp import db

    monkeypatch.setattr(db, "PAGE_SIZE", 2)
    me = staff_web(Role.CASEWORKER)
    for name in ("Ama", "Bintu", "Chernor", "Dauda", "Esther"):
        make_returnee(caseworker=me, name=name)
    make_returnee(name="Someone else's")

    def names(page):
        return re.findall(r'/people/\d+"><bdi>([^<]+)</bdi></a>', page)

    first = web.get("/people/").get_data(as_text=True)
    assert names(first) == ["Ama", "Bintu"]
    assert "5 people" in first and "Page 1 of 3" in first
    assert 'href="/people/?page=2">Next' in first and "Previous" not in first
    last = web.get("/people/?page=3").get_data(as_text=True)
    assert names(last) == ["Esther"] and 'href="/people/?page=2">Previous' in last
    # A page out of range or not a number shows the nearest page.
    assert names(web.get("/people/?page=99").get_data(as_text=True)) == ["Esther"]
    assert names(web.get("/people/?page=x").get_data(as_text=True)) == ["Ama", "Bintu"]


def test_choice_and_date_errors_are_in_our_words(web, staff_web):
    staff_web(Role.COORDINATOR)
    web.client.set_cookie("lang", "sr_Latn")
    r = web.post("/people/new/returnee", {"display_name": "Ok", "locale": "en",
                                          "caseworker": "abc", "household": "0",
                                          "return_date": "not a date"})
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "Not a valid" not in page  # WTForms' English fallback never shows
    assert 'class="errors"' in page


def test_follow_ups_are_scheduled_when_the_account_is_made(web, session, staff_web):
    from datetime import date

    from webapp.monitoring.models import FollowUp

    me = staff_web(Role.CASEWORKER)
    web.post("/people/new/returnee", {"display_name": "Sahr", "locale": "en", "caseworker": me.id,
                                      "household": 0, "return_date": "2026-10-01"})
    sahr = session.scalars(select(User).where(User.display_name == "Sahr")).one()
    due = session.scalars(select(FollowUp.due_on).where(FollowUp.returnee_id == sahr.id)
                          .order_by(FollowUp.month)).all()
    assert due == [date(2026, 11, 1), date(2027, 1, 1), date(2027, 4, 1), date(2027, 10, 1)]
