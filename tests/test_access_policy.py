"""The access policy: every endpoint declares who may reach it; outside the
caller's scope is 404."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webapp.access import NESTED, POLICY, SCOPES
from webapp.models import Role, User
from webapp.privacy.models import AccessLedgerEntry

from .conftest import Web, assert_covers_the_url_map


def test_every_endpoint_has_a_declared_policy(app):
    assert_covers_the_url_map(app, POLICY, "the access policy (webapp/access.py)")


# View arguments that name no row: their route checks them against a fixed list.
NOT_IDS = {("static", "filename"), ("monitoring.export", "dataset"),
           # A language and a key of the fixed list of phrases (webapp.voice), and
           # a recording's hash: checked against the recording its rule found.
           ("voice.record", "lang"), ("voice.record", "phrase"),
           ("voice.remove", "lang"), ("voice.remove", "phrase"), ("voice.clip", "name")}


def test_every_object_a_url_names_is_found_by_its_rule(app):
    """No route looks up an id of its URL by hand: the rule's scope finds the
    first object, its nested scopes each further one inside it (issue #25)."""
    unscoped = []
    for url_rule in app.url_map.iter_rules():
        rule = POLICY[url_rule.endpoint]
        assert rule.scope is None or rule.scope in SCOPES, url_rule.endpoint
        assert all(name in NESTED for name, _arg in rule.nested), url_rule.endpoint
        scoped = ({rule.arg} if rule.scope else set()) | {arg for _name, arg in rule.nested}
        unscoped += [f"{url_rule.endpoint}: <{arg}>" for arg in sorted(url_rule.arguments - scoped)
                     if (url_rule.endpoint, arg) not in NOT_IDS]
    assert not unscoped, f"view arguments no rule scopes: {unscoped}"


def test_an_endpoint_without_policy_is_denied(app, client, monkeypatch):
    monkeypatch.delitem(POLICY, "main.healthz")
    assert client.get("/healthz").status_code == 404


SIGNED_IN_PAGES = ["/home", "/me/ledger", "/people/", "/people/new/returnee", "/people/new/staff"]


@pytest.mark.parametrize("url", SIGNED_IN_PAGES)
def test_anonymous_is_sent_to_signin(client, url):
    r = client.get(url)
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")


def test_anonymous_htmx_request_gets_401_with_redirect(client):
    r = client.get("/home", headers={"HX-Request": "true"})
    assert r.status_code == 401 and r.headers["HX-Redirect"].endswith("/signin")


@pytest.mark.parametrize("role,allowed", [
    (Role.COORDINATOR, {"/people/", "/people/new/returnee", "/people/new/staff"}),
    (Role.CASEWORKER, {"/people/", "/people/new/returnee"}),
    (Role.FACILITATOR, set()),
])
def test_staff_roles_reach_only_their_pages(web, staff_web, role, allowed):
    staff_web(role)
    for url in ["/people/", "/people/new/returnee", "/people/new/staff", "/me/ledger"]:
        expected = 200 if url in allowed else 404
        assert web.get(url).status_code == expected, (role, url)


def test_returnee_cannot_reach_staff_pages_or_other_people(web, returnee_web, make_returnee):
    me = returnee_web()
    other, _ = make_returnee(name="Other")
    for url in ["/people/", f"/people/{other.id}", f"/people/{me.id}", "/people/new/returnee"]:
        assert web.get(url).status_code == 404, url


def test_caseworker_sees_only_assigned_returnees(web, staff_web, make_returnee, make_staff):
    me = staff_web(Role.CASEWORKER)
    mine, _ = make_returnee(caseworker=me, name="Mine")
    theirs, _ = make_returnee(caseworker=make_staff(Role.CASEWORKER), name="Theirs")
    assert web.get(f"/people/{mine.id}").status_code == 200
    r = web.get(f"/people/{theirs.id}")
    assert r.status_code == 404 and "Theirs" not in r.get_data(as_text=True)
    listing = web.get("/people/").get_data(as_text=True)
    assert "Mine" in listing and "Theirs" not in listing
    # Acting on someone outside the scope changes nothing and answers 404.
    r = web.post(f"/people/{theirs.id}/activation", form_page=f"/people/{mine.id}")
    assert r.status_code == 404


def test_nothing_crosses_organisations(web, staff_web, make_org, make_returnee, make_staff):
    staff_web(Role.COORDINATOR)
    elsewhere = make_org(name="Other partner")
    foreign, _ = make_returnee(organisation=elsewhere, name="Foreigner")
    foreign_staff = make_staff(Role.CASEWORKER, organisation=elsewhere)
    for url in [f"/people/{foreign.id}", f"/people/{foreign_staff.id}"]:
        assert web.get(url).status_code == 404
    assert "Foreigner" not in web.get("/people/").get_data(as_text=True)
    r = web.post(f"/people/{foreign.id}/disable", form_page="/people/new/staff")
    assert r.status_code == 404


def test_staff_views_are_written_to_the_ledger_the_returnee_reads(
        app, web, session, staff_web, make_returnee):
    cw = staff_web(Role.CASEWORKER)
    person, code = make_returnee(caseworker=cw, name="Hawa")
    assert web.get(f"/people/{person.id}").status_code == 200
    entries = session.scalar(select(func.count()).select_from(AccessLedgerEntry).where(
        AccessLedgerEntry.subject_id == person.id, AccessLedgerEntry.viewer_id == cw.id))
    assert entries == 1
    from .conftest import activate_returnee

    phone = Web(app.test_client())
    activate_returnee(phone, code)
    assert cw.display_name in phone.get("/me/ledger").get_data(as_text=True)


def test_coordinator_actions_disable_and_reassign(web, session, staff_web, make_returnee,
                                                  make_staff):
    staff_web(Role.COORDINATOR)
    cw2 = make_staff(Role.CASEWORKER, display_name="Second")
    person, _ = make_returnee()
    r = web.post(f"/people/{person.id}/assign", {"caseworker": cw2.id},
                 form_page=f"/people/{person.id}")
    assert r.status_code == 302
    assert "Second" in web.get(f"/people/{person.id}").get_data(as_text=True)
    r = web.post(f"/people/{person.id}/assign", {"caseworker": 999999},
                 form_page=f"/people/{person.id}")
    assert r.status_code == 400
    r = web.post(f"/people/{person.id}/disable", form_page=f"/people/{person.id}")
    assert r.status_code == 302
    session.expire_all()
    assert session.get(User, person.id).disabled_at is not None


def test_coordinator_cannot_disable_themselves(web, session, staff_web):
    me = staff_web(Role.COORDINATOR)
    r = web.post(f"/people/{me.id}/disable", form_page=f"/people/{me.id}")
    assert r.status_code == 400
    session.expire_all()
    assert session.get(User, me.id).disabled_at is None


def test_returnee_scope(session, make_returnee, make_staff, make_org, ctx):
    from webapp.people.service import visible_returnee

    cw = make_staff(Role.CASEWORKER)
    coordinator = make_staff(Role.COORDINATOR)
    facilitator = make_staff(Role.FACILITATOR)
    person, _ = make_returnee(caseworker=cw)
    other, _ = make_returnee()
    foreign_coordinator = make_staff(Role.COORDINATOR, organisation=make_org())
    assert visible_returnee(session, person, person.id) is person
    assert visible_returnee(session, person, other.id) is None
    assert visible_returnee(session, cw, person.id) is person
    assert visible_returnee(session, cw, other.id) is None
    assert visible_returnee(session, coordinator, other.id) is other
    assert visible_returnee(session, coordinator, cw.id) is None  # staff are not returnees
    assert visible_returnee(session, facilitator, person.id) is None
    assert visible_returnee(session, foreign_coordinator, person.id) is None
