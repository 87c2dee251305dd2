"""An organisation: started from the command line with its first coordinator,
and its settings kept by coordinators (emergency line, time zone, currency,
follow-up months, languages)."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from webapp.audit import AuditEvent
from webapp.models import Organisation, Role, User, utcnow
from webapp.monitoring.models import CaseloadSummary, FollowUp
from webapp.monitoring.service import schedule_all

from .conftest import Web, sign_in_staff

GOOD = {"name": "Footing test partner", "emergency_phone": "+232 76 111 222",
        "timezone": "Africa/Freetown", "currency": "SLE", "followup_months": ["1", "3", "6", "12"],
        # The test organisation's languages (tests/conftest.py `new_org`).
        "languages": ["en", "nl", "sr_Latn", "fa_AF"]}


@pytest.fixture()
def coordinator(app, make_staff):
    user = make_staff(Role.COORDINATOR)
    web = Web(app.test_client())
    sign_in_staff(web, user)
    return user, web


def save(web, *, expect: int = 302, **changes):
    """Save the settings form; asserts the answer was `expect` (saved, and
    back on the settings page, by default)."""
    r = web.post("/organisation/", {**GOOD, **changes})
    assert r.status_code == expect, (r.status_code, r.get_data(as_text=True)[:500])
    if expect == 302:
        assert r.headers["Location"].endswith("/organisation/"), r.headers["Location"]
    return r


def test_the_emergency_line_set_here_is_what_returnees_see(session, coordinator, returnee_web,
                                                           web):
    user, staff = coordinator
    org = session.get(Organisation, user.organisation_id)
    page = staff.get("/organisation/").get_data(as_text=True)
    assert f'value="{org.timezone}"' in page and f'value="{org.name}"' in page
    r = save(staff)
    assert r.status_code == 302
    assert "Saved." in staff.get("/organisation/").get_data(as_text=True)
    returnee_web()
    assert "+232 76 111 222" in web.get("/home").get_data(as_text=True)
    session.expire_all()
    org = session.get(Organisation, user.organisation_id)
    assert (org.timezone, org.currency, org.followup_months) == ("Africa/Freetown", "SLE",
                                                                 [1, 3, 6, 12])
    assert session.scalars(select(AuditEvent.action).where(
        AuditEvent.organisation_id == org.id, AuditEvent.actor_id == user.id)).all() == [
        "organisation.settings"]
    # The same again: nothing stored, nothing audited twice.
    assert save(staff).status_code == 302
    assert "Nothing changed." in staff.get("/organisation/").get_data(as_text=True)


@pytest.mark.parametrize("changes,message", [
    ({"timezone": "Mars/Base"}, "Please write a time zone such as Africa/Freetown."),
    ({"currency": "XYZ"}, "Please write a currency code such as SLE or EUR."),
    ({"followup_months": []}, "Please choose at least one month."),
    ({"followup_months": ["5"]}, "Please choose at least one month."),
    ({"emergency_phone": "call me"}, "Please write a phone number"),
    ({"name": ""}, "Please fill this in."),
    ({"languages": []}, "Please choose at least one language."),
    ({"languages": ["en", "xx"]}, "Please choose one from the list."),
    ({"corrections_contact": "ask Fatmata"}, "Please write a link (https://…), an e-mail"),
    ({"corrections_contact": "javascript:alert(1)"}, "Please write a link (https://…), an e-mail"),
    ({"corrections_contact": "https://x.org/" + "a" * 200}, "Please use at most 200 characters."),
])
def test_bad_settings_are_refused_and_change_nothing(session, coordinator, changes, message):
    user, staff = coordinator
    session.expire_all()
    before = session.get(Organisation, user.organisation_id).__dict__.copy()
    r = save(staff, expect=400, **changes)
    assert message in r.get_data(as_text=True)
    session.expire_all()
    org = session.get(Organisation, user.organisation_id)
    for key in ("name", "emergency_phone", "timezone", "currency", "followup_months", "languages",
                "corrections_contact"):
        assert getattr(org, key) == before[key], key


def test_follow_up_months_follow_the_setting(session, coordinator, make_returnee, ctx):
    user, staff = coordinator
    person, _code = make_returnee()
    person = session.get(User, person.id)
    person.return_date = date(2026, 1, 15)
    session.commit()
    with ctx():
        schedule_all(session)
    session.commit()
    first = session.scalar(select(FollowUp).where(FollowUp.returnee_id == person.id,
                                                  FollowUp.month == 1))
    first.done_at, first.contact, first.outcome = utcnow(), "phone", "reached"
    session.commit()

    assert save(staff, followup_months=["6", "24"]).status_code == 302
    session.expire_all()
    months = sorted(session.scalars(
        select(FollowUp.month).where(FollowUp.returnee_id == person.id)))
    # 3 and 12 were not done: dropped; 1 was done: kept; 24 is new.
    assert months == [1, 6, 24]
    # The caseload's summary of the person follows: the next one is now month 6.
    summary = session.get(CaseloadSummary, person.id)
    assert (summary.next_month, summary.next_due) == (6, date(2026, 7, 15))
    # A month dropped with nothing new to schedule (no row written through
    # the ORM): the summary follows all the same.
    assert save(staff, followup_months=["24"]).status_code == 302
    session.expire_all()
    summary = session.get(CaseloadSummary, person.id)
    assert (summary.next_month, summary.next_due) == (24, date(2028, 1, 15))


def options(page: str, select: str) -> set[str]:
    """The values offered by the <select> with id `select`."""
    block = re.search(rf'<select[^>]*id="{select}".*?</select>', page, re.S).group(0)
    return set(re.findall(r'<option[^>]*value="([^"]*)"', block))


def chosen(page: str) -> set[str]:
    """The languages ticked on the settings page."""
    return {re.search(r'value="([^"]*)"', box).group(1)
            for box in re.findall(r'<input[^>]*name="languages"[^>]*>', page) if "checked" in box}


def test_the_languages_chosen_here_are_offered_for_new_accounts_and_groups(
        app, session, coordinator, make_group, make_staff):
    user, staff = coordinator
    facilitator = make_staff(Role.FACILITATOR)
    group = make_group(facilitator=facilitator)
    group.language = "nl"
    session.commit()
    assert save(staff, languages=["en_SL@kri", "en"]).status_code == 302
    session.expire_all()
    assert session.get(Organisation, user.organisation_id).languages == ["en", "en_SL@kri"]
    page = staff.get("/organisation/").get_data(as_text=True)
    assert chosen(page) == {"en", "en_SL@kri"}

    for form_page in ("/people/new/returnee", "/people/new/staff", "/groups/new"):
        page = staff.get(form_page).get_data(as_text=True)
        name = "language" if form_page == "/groups/new" else "locale"
        assert options(page, name) == {"en", "en_SL@kri"}, form_page
    r = staff.post("/people/new/returnee", {"display_name": "Dari speaker", "locale": "fa_AF"})
    assert r.status_code == 400 and "Please choose one from the list." in r.get_data(as_text=True)
    assert session.scalar(select(User.id).where(User.display_name == "Dari speaker")) is None
    # A group keeps its language, even one the organisation no longer chooses.
    leader = Web(app.test_client())
    sign_in_staff(leader, facilitator)
    # (the group's settings are on its members and settings page)
    page = leader.get(f"/groups/{group.id}/manage").get_data(as_text=True)
    assert options(page, "language") == {"en", "en_SL@kri", "nl"}
    # Reading is each person's choice: the switcher offers every language.
    assert 'value="fa_AF"' in staff.get("/language").get_data(as_text=True)


def test_an_organisation_without_languages_offers_every_one(session, coordinator):
    user, staff = coordinator
    session.get(Organisation, user.organisation_id).languages = []
    session.commit()
    page = staff.get("/people/new/returnee").get_data(as_text=True)
    assert {"en", "fa_AF", "so", "nl_SR@srn"} <= options(page, "locale")
    page = staff.get("/organisation/").get_data(as_text=True)
    assert {"en", "fa_AF", "so", "nl_SR@srn"} <= chosen(page)


@pytest.mark.parametrize("role", [Role.CASEWORKER, Role.FACILITATOR])
def test_only_coordinators_keep_the_settings(web, staff_web, role):
    staff_web(role)
    assert web.get("/organisation/").status_code == 404


def test_a_returnee_has_no_such_page(web, returnee_web):
    returnee_web()
    assert web.get("/organisation/").status_code == 404


# --- flask create-organisation ---------------------------------------------------------

ARGS = ["create-organisation", "--name", "Kisima Aftercare", "--country", "SO",
        "--timezone", "Africa/Mogadishu", "--currency", "SOS",
        "--emergency-phone", "+252 61 000 0000", "--coordinator-name", "Hodan Ali",
        "--coordinator-email", "Hodan@Example.org"]


def test_create_organisation_starts_it_with_a_coordinator_who_can_activate(app, connection,
                                                                           session):
    result = app.test_cli_runner().invoke(args=ARGS)
    assert result.exit_code == 0, result.output
    code = re.search(r"shown this once\): (\S+)", result.output).group(1)
    org = session.scalars(select(Organisation).where(Organisation.name == "Kisima Aftercare")).one()
    assert (org.country, org.timezone, org.currency, org.followup_months) == (
        "SO", "Africa/Mogadishu", "SOS", [1, 3, 6, 12])
    coordinator = session.scalars(select(User).where(User.organisation_id == org.id)).one()
    assert (coordinator.role, coordinator.email) == ("coordinator", "hodan@example.org")
    assert coordinator.password_hash is None  # set at activation, by the person
    r = Web(app.test_client()).post("/activate", {"code": code})
    assert r.status_code == 302 and r.headers["Location"].endswith("/activate/staff")
    # The same name again is refused, and nothing more is stored.
    again = app.test_cli_runner().invoke(args=ARGS[:-1] + ["other@example.org"])
    assert again.exit_code != 0 and "exists already" in again.output
    assert len(session.scalars(select(Organisation).where(
        Organisation.name == "Kisima Aftercare")).all()) == 1


@pytest.mark.parametrize("change,message", [
    (("--country", "XX"), "two-letter country code"),
    (("--coordinator-email", "not an address"), "--coordinator-email"),
    (("--followup-months", "1,x"), "--followup-months"),
])
def test_create_organisation_refuses_bad_input(app, connection, session, change, message):
    args = list(ARGS)
    if change[0] in args:
        args[args.index(change[0]) + 1] = change[1]
    else:
        args += list(change)
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert session.scalars(select(Organisation).where(
        Organisation.name == "Kisima Aftercare")).all() == []
