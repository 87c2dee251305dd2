"""The access policy (webapp/access.py), pinned where a mutation test found it
loose (issue #25, docs/mutation.md): every signed-in endpoint is refused
(404) to the roles that must not reach it, staff views of a person's records
are written to the ledger, and scopes hold across people and organisations.

The role table below is written out on purpose instead of read from POLICY:
it is the specification a change of POLICY is checked against.
"""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from webapp.alerts import signals
from webapp.alerts.models import Alert
from webapp.groups.models import GroupFacilitator, GroupMember, GroupPost, Meeting, PeerGroup
from webapp.models import Role, User, utcnow
from webapp.people.service import visible_person, visible_returnee
from webapp.plan.models import Goal, Step
from webapp.plan.service import visible_goal, visible_step
from webapp.privacy.models import AccessLedgerEntry
from webapp.support import service as support

from .conftest import Web, activate_returnee, sign_in_staff

R, F, W, C = "returnee", "facilitator", "caseworker", "coordinator"
# (method, url with {names} of the world below, the roles that may call it)
ENDPOINTS = [
    ("GET", "/me/pin", {R}), ("GET", "/me/password", {F, W, C}),
    ("GET", "/me/ledger", {R}),
    ("GET", "/people/", {W, C}), ("GET", "/people/new/returnee", {W, C}),
    ("GET", "/people/new/staff", {C}), ("GET", "/people/{person}", {W, C}),
    ("POST", "/people/{person}/activation", {W, C}), ("POST", "/people/{person}/assign", {C}),
    ("POST", "/people/{person}/disable", {C}), ("POST", "/people/{person}/delete", {W, C}),
    ("GET", "/plan/", {R}), ("GET", "/plan/print", {R}), ("GET", "/plan/goals/new", {R}),
    ("GET", "/plan/of/{person}", {W, C}), ("GET", "/plan/of/{person}/print", {W, C}),
    ("GET", "/plan/of/{person}/suggest", {W, C}),
    ("GET", "/plan/goals/{goal}", {R, W, C}), ("GET", "/plan/goals/{goal}/edit", {R, W}),
    ("POST", "/plan/goals/{goal}/status", {R, W}), ("POST", "/plan/goals/{goal}/steps", {R, W}),
    ("POST", "/plan/goals/{goal}/comments", {R, W, C}),
    ("POST", "/plan/goals/{goal}/answer", {R}), ("POST", "/plan/goals/{goal}/in-plan", {R, W}),
    ("POST", "/plan/steps/{step}/tick", {R, W}), ("POST", "/plan/steps/{step}/remove", {R, W}),
    ("GET", "/alerts/", {W, C}), ("GET", "/alerts/{alert}", {W, C}),
    ("POST", "/alerts/{alert}/ack", {W, C}), ("POST", "/alerts/{alert}/resolve", {W, C}),
    ("GET", "/help/", {R}), ("GET", "/help/ask", {R}), ("GET", "/help/report", {R}),
    ("GET", "/help/now", {R}), ("GET", "/help/cases/{case}/received", {R}),
    ("GET", "/help/cases/{case}", {R, W, C}), ("POST", "/help/cases/{case}/reply", {R, W, C}),
    ("POST", "/help/cases/{case}/note", {W, C}),
    ("POST", "/help/cases/{case}/acknowledge", {W, C}),
    ("POST", "/help/cases/{case}/status", {W, C}), ("POST", "/help/cases/{case}/reassign", {C}),
    ("GET", "/help/inbox", {W, C}), ("GET", "/help/medicine", {C}),
    ("GET", "/checkin/", {R}), ("GET", "/checkin/history", {R}),
    ("GET", "/groups/", {R, F, C}), ("GET", "/groups/new", {C}),
    ("GET", "/groups/{group}", {R, F, C}), ("POST", "/groups/{group}/facilitators", {C}),
    ("POST", "/groups/{group}/settings", {F}), ("POST", "/groups/{group}/members", {F}),
    ("POST", "/groups/{group}/members/remove", {F}), ("POST", "/groups/{group}/buddies", {F}),
    ("POST", "/groups/{group}/posts", {R, F}),
    ("POST", "/groups/{group}/posts/{post}/hide", {F}),
    ("POST", "/groups/{group}/posts/{post}/report", {R, F}),
    ("GET", "/groups/{group}/meetings/new", {F}),
    ("GET", "/groups/{group}/meetings/{meeting}", {R, F, C}),
    ("POST", "/groups/{group}/meetings/{meeting}/rsvp", {R}),
    ("POST", "/groups/{group}/meetings/{meeting}/attendance", {F}),
    ("POST", "/groups/{group}/meetings/{meeting}/cancel", {F}),
    ("GET", "/groups/{group}/overview", {F}), ("POST", "/groups/{group}/raise", {F}),
    ("GET", "/caseload/", {W, C}), ("GET", "/caseload/due", {W, C}),
    ("GET", "/caseload/{person}", {W, C}), ("GET", "/caseload/{person}/followups", {W, C}),
    ("GET", "/overview", {C}), ("GET", "/export/", {C}), ("POST", "/export/checkins.csv", {C}),
    ("GET", "/me/progress", {R}), ("GET", "/organisation/", {C}),
    ("GET", "/me/choices", {R}), ("GET", "/me/data", {R}), ("GET", "/me/data.json", {R}),
    ("GET", "/me/delete", {R}), ("POST", "/me/delete/cancel", {R}),
]


@pytest.fixture()
def world(app, session, ctx, org, make_staff, make_returnee, make_org):
    """One organisation: a coordinator, a caseworker with a returnee, a
    facilitator running the returnee's group; the returnee's goal, step,
    concern, alert, and the group's meeting and post. And the same again for
    a second caseworker's returnee, in a group the facilitator does not run,
    and a coordinator elsewhere."""
    coordinator = make_staff(Role.COORDINATOR)
    facilitator = make_staff(Role.FACILITATOR)
    caseworker = make_staff(Role.CASEWORKER)
    person, code = make_returnee(caseworker=caseworker, name="Mariama")
    other_cw = make_staff(Role.CASEWORKER)
    other, other_code = make_returnee(caseworker=other_cw, name="Other Person")
    far = make_staff(Role.COORDINATOR, organisation=make_org(name="Far away"))

    def things(returnee, lead):
        goal = Goal(organisation_id=org.id, returnee_id=returnee.id, area="work",
                    title="Work at the port", created_by_id=returnee.id)
        session.add(goal)
        session.flush()
        step = Step(organisation_id=org.id, goal_id=goal.id, text="Ask the foreman")
        group = PeerGroup(organisation_id=org.id, name=f"Group of {returnee.display_name}",
                          language="en", checkin_period_days=7)
        session.add_all([step, group])
        session.flush()
        session.add_all([GroupMember(organisation_id=org.id, group_id=group.id,
                                     user_id=returnee.id)]
                        + ([GroupFacilitator(organisation_id=org.id, group_id=group.id,
                                             user_id=lead.id)] if lead else []))
        meeting = Meeting(organisation_id=org.id, group_id=group.id,
                          starts_at=utcnow() + timedelta(days=3), place="Hall")
        post = GroupPost(organisation_id=org.id, group_id=group.id, author_id=returnee.id,
                         body="Hello all")
        session.add_all([meeting, post])
        with ctx():
            case = support.create_concern(session, returnee, kind="medicine", sub_type="ran_out",
                                          urgency="soon")
            signal = signals.emit(session, returnee=returnee, kind="checkin.unsafe")
        session.commit()
        alert = session.scalars(select(Alert).where(Alert.signal_id == signal.id)).one()
        return dict(person=returnee.id, goal=goal.id, step=step.id, group=group.id,
                    meeting=meeting.id, post=post.id, case=case.id, alert=alert.id)

    return SimpleNamespace(
        coordinator=coordinator, facilitator=facilitator, caseworker=caseworker, person=person,
        code=code, other=other, other_code=other_code, other_cw=other_cw, far=far,
        mine=things(person, facilitator), theirs=things(other, None))


def client_for(app, world, role):
    web = Web(app.test_client())
    if role == R:
        activate_returnee(web, world.code)
    else:
        sign_in_staff(web, {F: world.facilitator, W: world.caseworker,
                            C: world.coordinator}[role])
    return web


def answer(web, method, url):
    if method == "GET":
        return web.get(url).status_code
    return web.post(url, {}, form_page="/home").status_code


@pytest.mark.parametrize("role", [R, F, W, C])
def test_every_endpoint_is_refused_to_the_roles_it_is_not_for(app, session, world, role):
    """Each role calls every endpoint about its own world (its returnee, goal,
    group, …): the ones it is not for answer 404, the others do not (they may
    still refuse an empty form)."""
    web = client_for(app, world, role)
    wrong = {}
    for method, template, roles in ENDPOINTS:
        url = template.format(**world.mine)
        status = answer(web, method, url)
        if (status == 404) != (role not in roles):
            wrong[f"{method} {url}"] = status
    assert wrong == {}, f"as a {role}"


@pytest.mark.parametrize("method,template", [
    ("GET", "/people/{person}"), ("GET", "/plan/of/{person}"), ("GET", "/plan/goals/{goal}"),
    ("POST", "/plan/steps/{step}/tick"), ("GET", "/alerts/{alert}"),
    ("GET", "/help/cases/{case}"), ("GET", "/caseload/{person}"),
    ("GET", "/caseload/{person}/followups"),
])
def test_a_caseworker_reaches_none_of_another_caseworkers_people(app, session, world, method,
                                                                 template):
    web = client_for(app, world, W)
    assert answer(web, method, template.format(**world.theirs)) == 404
    assert answer(web, method, template.format(**world.mine)) != 404  # refused at most as a form


def test_a_facilitator_runs_only_their_own_group(app, session, world):
    web = client_for(app, world, F)
    for method, template in [("GET", "/groups/{group}"), ("GET", "/groups/{group}/overview"),
                             ("GET", "/groups/{group}/meetings/{meeting}"),
                             ("POST", "/groups/{group}/posts/{post}/hide")]:
        assert answer(web, method, template.format(**world.theirs)) == 404, template
        assert answer(web, method, template.format(**world.mine)) != 404, template


def test_a_returnee_reaches_only_their_own_records(app, session, world):
    web = client_for(app, world, R)
    for method, template in [("GET", "/plan/goals/{goal}"), ("GET", "/help/cases/{case}"),
                             ("GET", "/help/cases/{case}/received"),
                             ("POST", "/plan/steps/{step}/tick"), ("GET", "/groups/{group}"),
                             ("POST", "/groups/{group}/meetings/{meeting}/rsvp")]:
        assert answer(web, method, template.format(**world.theirs)) == 404, template


@pytest.mark.parametrize("template,what", [
    ("/people/{person}", "profile"), ("/plan/of/{person}", "plan"),
    ("/plan/of/{person}/print", "plan"), ("/plan/goals/{goal}", "plan"),
    ("/alerts/{alert}", "alert"), ("/help/cases/{case}", "support"),
    ("/caseload/{person}", "timeline"), ("/caseload/{person}/followups", "followups"),
])
def test_a_staff_view_of_a_persons_records_is_in_their_ledger(app, session, world, template,
                                                              what):
    web = client_for(app, world, W)
    assert web.get(template.format(**world.mine)).status_code == 200
    session.expire_all()
    entries = session.execute(select(AccessLedgerEntry.viewer_id, AccessLedgerEntry.what).where(
        AccessLedgerEntry.subject_id == world.person.id)).all()
    assert entries == [(world.caseworker.id, what)]


def test_the_returnee_reading_their_own_records_writes_no_ledger(app, session, world):
    web = client_for(app, world, R)
    for template in ("/plan/goals/{goal}", "/help/cases/{case}"):
        assert web.get(template.format(**world.mine)).status_code == 200
    session.expire_all()
    assert session.scalars(select(AccessLedgerEntry)).all() == []


def test_the_scopes_themselves(session, ctx, world):
    """The scope functions, for each kind of viewer (as the views use them)."""
    cw, coordinator, facilitator = world.caseworker, world.coordinator, world.facilitator
    person, other, far = world.person, world.other, world.far
    mine, theirs = world.mine, world.theirs
    with ctx():
        assert visible_person(session, cw, person.id) is person
        assert visible_person(session, cw, other.id) is None
        assert visible_person(session, cw, world.other_cw.id) is None  # staff: coordinators only
        assert visible_person(session, coordinator, world.other_cw.id) is not None
        assert visible_person(session, coordinator, far.id) is None
        assert visible_person(session, far, person.id) is None
        assert visible_person(session, facilitator, person.id) is None
        assert visible_person(session, person, person.id) is None  # returnees manage nobody
        assert visible_returnee(session, person, person.id) is person
        assert visible_returnee(session, cw, cw.id) is None
        assert visible_goal(session, person, mine["goal"]) is not None
        assert visible_goal(session, person, theirs["goal"]) is None
        assert visible_goal(session, far, mine["goal"]) is None
        assert visible_step(session, cw, mine["step"]) is not None
        assert visible_step(session, cw, theirs["step"]) is None
        assert visible_step(session, far, mine["step"]) is None
        # A deleted account is nobody's any more.
        person.deleted_at = utcnow()
        assert visible_person(session, coordinator, person.id) is None
        assert visible_returnee(session, cw, person.id) is None
        person.deleted_at = None
        # An ended assignment ends the caseworker's reach.
        from webapp.people.models import CaseworkerAssignment

        for a in session.scalars(select(CaseworkerAssignment).where(
                CaseworkerAssignment.returnee_id == person.id)):
            a.ended_at = utcnow()
        session.flush()
        assert visible_person(session, cw, person.id) is None
    session.rollback()


def test_a_disabled_or_other_organisations_staff_member_is_not_a_person_to_manage(
        session, ctx, world):
    with ctx():
        assert visible_person(session, world.coordinator, world.facilitator.id) is not None
        assert visible_person(session, world.coordinator,
                              session.get(User, world.far.id).id) is None


@pytest.mark.parametrize("role", [R, F, W, C])
def test_what_does_not_exist_is_not_found_for_anyone(app, session, world, role):
    web = client_for(app, world, role)
    missing = {k: 999_999 for k in world.mine}
    wrong = {}
    for method, template, roles in ENDPOINTS:
        if "{" not in template or role not in roles:
            continue
        url = template.format(**missing)
        status = answer(web, method, url)
        if status != 404:
            wrong[f"{method} {url}"] = status
    assert wrong == {}


def test_anonymous_pages_lead_to_sign_in(client):
    for method in ("GET", "HEAD"):
        r = client.open("/home", method=method)
        assert r.status_code == 302 and r.headers["Location"].endswith("/signin"), method
