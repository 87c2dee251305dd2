"""Organisations in a network (issue #21): relations set by an operator,
preparation before return, and the handover of a case with the person's
consent: nothing crosses without their agreement, a refusal leaves nothing
on the other side, withdrawing stops the sending side's summary."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp.audit import AuditEvent
from webapp.directory import service as directory
from webapp.errors import DomainError
from webapp.groups.models import GroupMember
from webapp.models import Organisation, Role, User
from webapp.network import service as network
from webapp.network.models import (
    AGREED,
    Handover,
    LeftBehindNote,
    OrganisationRelation,
    Referral,
)
from webapp.people.models import CaseworkerAssignment
from webapp.plan import service as plan
from webapp.plan.models import Goal
from webapp.privacy.models import AccessLedgerEntry
from webapp.support import service as support
from webapp.support.models import Case, CaseMessage

from .conftest import Web, activate_returnee, new_org, race, sign_in_staff

GOAL = "Open a tailoring workshop"
NOTE = "Worried about the family debt"
WORDS = "I need tools for my workshop"


@dataclass
class Line:
    sender: Organisation
    receiver: Organisation
    outsider: Organisation
    counsellor: User
    receiving_coordinator: User
    receiving_caseworker: User
    person: User
    phone: Web  # the person's phone, activated
    staff: Web  # the counsellor, signed in
    partner: Web  # the receiving coordinator, signed in
    goal_id: int
    case_id: int


@pytest.fixture()
def line(app, session, make_org, make_staff, make_returnee, ctx) -> Line:
    sender = make_org(name="Counselling Utrecht", country="NL")
    receiver = make_org(name="Partner Freetown")
    outsider = make_org(name="Unrelated partner")
    with ctx():
        network.set_kind(session, sender, "sending")
        network.set_kind(session, receiver, "receiving")
        network.set_kind(session, outsider, "receiving")
        network.relate(session, sender, receiver)
    session.commit()
    counsellor = make_staff(Role.CASEWORKER, organisation=sender)
    coordinator = make_staff(Role.COORDINATOR, organisation=receiver)
    caseworker = make_staff(Role.CASEWORKER, organisation=receiver)
    person, code = make_returnee(caseworker=counsellor, organisation=sender, name="Ousman")
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    with ctx():
        goal = plan.add_goal(session, person, person, area="work", title=GOAL)
        case = support.create_request(session, person, category="work", contact_way="app",
                                      details=WORDS)
        support.add_message(session, case, counsellor, NOTE, internal=True)
    session.commit()
    staff, partner = Web(app.test_client()), Web(app.test_client())
    sign_in_staff(staff, counsellor)
    sign_in_staff(partner, coordinator)
    return Line(sender, receiver, outsider, counsellor, coordinator, caseworker, person,
                phone, staff, partner, goal.id, case.id)


def propose(line: Line) -> Handover:
    r = line.staff.post(f"/network/people/{line.person.id}/handover",
                        {"organisation": line.receiver.id})
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    return the_handover(line)


def the_handover(line: Line) -> Handover:
    session = line_session(line)
    session.expire_all()
    return session.scalars(select(Handover).where(
        Handover.returnee_id == line.person.id)).one()


_SESSIONS: dict[int, object] = {}


def line_session(line: Line):
    return _SESSIONS[id(line)]


@pytest.fixture(autouse=True)
def _remember_session(request):
    # Asked for only with `line`: a race test's own connections must not wait
    # behind the rolled-back transaction (on SQLite, the write lock).
    if "line" in request.fixturenames:
        _SESSIONS[id(request.getfixturevalue("line"))] = request.getfixturevalue("session")
    yield
    _SESSIONS.clear()


def line_ctx(line: Line):
    """A request context for calling the services directly (their messages)."""
    return line.staff.client.application.test_request_context()


def answer(line: Line, decision: str, **choices: bool):
    data = {"decision": decision, **{k: "y" for k, v in choices.items() if v}}
    r = line.phone.post("/network/handover", data)
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    return r


def accept(line: Line, handover: Handover):
    return line.partner.post(f"/network/in/{handover.id}/accept",
                             {"caseworker": line.receiving_caseworker.id},
                             form_page=f"/network/in/{handover.id}")


# --- Preparation -----------------------------------------------------------------

def test_in_preparation_check_ins_are_off_and_the_plan_is_made_before_return(line):
    home = line.phone.get("/home").get_data(as_text=True)
    assert "Check-ins start after it" in home and "href=\"/checkin/\"" not in home
    r = line.phone.get("/checkin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/home")
    assert "Made before return" in line.phone.get("/plan/").get_data(as_text=True)
    # Support requests work in this phase.
    assert line.phone.get("/help/ask").status_code == 200


# --- Handover ----------------------------------------------------------------------

def test_a_proposal_shows_the_receiving_side_nothing(line):
    handover = propose(line)
    assert handover.status == "proposed"
    assert line.partner.get(f"/network/in/{handover.id}").status_code == 404
    assert "Ousman" not in line.partner.get("/network/").get_data(as_text=True)
    r = line.partner.client.post(f"/network/in/{handover.id}/accept",
                                 data={"caseworker": line.receiving_caseworker.id,
                                       "csrf_token": line.partner.token("/network/")})
    assert r.status_code == 404
    assert the_handover(line).status == "proposed"
    # The person sees in plain words what would move, and what never does.
    page = line.phone.get("/network/handover").get_data(as_text=True)
    assert "Partner Freetown" in page and "Notes the staff wrote for themselves" in page
    assert "A partner organisation would like to follow you" in line.phone.get(
        "/home").get_data(as_text=True)


def test_a_refused_handover_leaves_nothing_on_the_other_side(line):
    handover = propose(line)
    answer(line, "refuse", share_history=True)
    session = line_session(line)
    session.expire_all()
    assert the_handover(line).status == "refused"
    assert line.partner.get(f"/network/in/{handover.id}").status_code == 404
    assert "Ousman" not in line.partner.get("/network/").get_data(as_text=True)
    assert session.get(User, line.person.id).organisation_id == line.sender.id
    assert session.get(Goal, line.goal_id).organisation_id == line.sender.id
    assert not session.scalars(select(AccessLedgerEntry).where(
        AccessLedgerEntry.organisation_id == line.receiver.id)).all()
    # The counsellor still follows the person.
    assert line.staff.get(f"/people/{line.person.id}").status_code == 200


def test_agreed_and_accepted_the_case_moves_and_staff_notes_stay_behind(line, make_group):
    group = make_group(organisation=line.sender, members=[line.person])
    handover = propose(line)
    answer(line, "agree", share_history=True, share_milestones=False)
    page = line.partner.get(f"/network/in/{handover.id}")
    assert page.status_code == 200 and "Ousman" in page.get_data(as_text=True)
    r = accept(line, handover)
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    session = line_session(line)
    session.expire_all()
    person = session.get(User, line.person.id)
    assert person.organisation_id == line.receiver.id
    assert session.get(Goal, line.goal_id).organisation_id == line.receiver.id
    assert session.get(Case, line.case_id).organisation_id == line.receiver.id
    # The staff note did not move: it is kept with the sending side only.
    assert not session.scalars(select(CaseMessage).where(CaseMessage.body == NOTE)).all()
    kept = session.scalars(select(LeftBehindNote)).one()
    assert kept.organisation_id == line.sender.id and kept.body == NOTE
    assert NOTE not in line.partner.get(f"/help/cases/{line.case_id}").get_data(as_text=True)
    # The receiving caseworker follows the person now; the counsellor no more.
    current = session.scalars(select(CaseworkerAssignment).where(
        CaseworkerAssignment.returnee_id == person.id,
        CaseworkerAssignment.ended_at.is_(None))).one()
    assert current.caseworker_id == line.receiving_caseworker.id
    assert line.staff.get(f"/people/{person.id}").status_code == 404
    # The sending side's peer group is left behind too.
    assert not session.scalars(select(GroupMember).where(
        GroupMember.group_id == group.id, GroupMember.user_id == person.id)).all()
    assert line.staff.get(f"/plan/goals/{line.goal_id}").status_code == 404
    # Same phone, same PIN: the person is still signed in and sees the plan,
    # marked as made before return; check-ins work now.
    plan_page = line.phone.get("/plan/").get_data(as_text=True)
    assert GOAL in plan_page and "Made before return" in plan_page
    assert line.phone.get("/checkin/").status_code == 200
    # The sending side keeps a read-only summary, without the milestones.
    sent = line.staff.get(f"/network/out/{handover.id}").get_data(as_text=True)
    assert GOAL in sent and "did not agree to share these" in sent
    # Each side's views are in the person's ledger.
    ledger = {(e.organisation_id, e.what) for e in session.scalars(select(AccessLedgerEntry)
              .where(AccessLedgerEntry.subject_id == person.id))}
    assert {(line.receiver.id, "handover"), (line.sender.id, "handover_summary")} <= ledger
    mine = line.phone.get("/me/ledger").get_data(as_text=True)
    assert "Counselling Utrecht" in mine


def test_history_the_person_did_not_choose_stays_behind(line):
    handover = propose(line)
    answer(line, "agree")
    accept(line, handover)
    session = line_session(line)
    session.expire_all()
    assert session.get(Goal, line.goal_id).organisation_id == line.receiver.id
    assert session.get(Case, line.case_id).organisation_id == line.sender.id
    assert line.partner.get(f"/help/cases/{line.case_id}").status_code == 404


def test_accepting_twice_makes_one_case(line):
    handover = propose(line)
    answer(line, "agree")
    assert accept(line, handover).status_code == 302
    other = line.receiving_coordinator  # a second accept, with another caseworker
    r = line.partner.client.post(f"/network/in/{handover.id}/accept", data={
        "caseworker": line.receiving_caseworker.id, "csrf_token": line.partner.token("/network/")})
    assert r.status_code == 302
    session = line_session(line)
    session.expire_all()
    assert len(session.scalars(select(CaseworkerAssignment).where(
        CaseworkerAssignment.returnee_id == line.person.id,
        CaseworkerAssignment.ended_at.is_(None))).all()) == 1
    assert len(session.scalars(select(Goal).where(Goal.returnee_id == line.person.id)).all()) == 1
    assert other.organisation_id == line.receiver.id


def test_withdrawing_the_agreement_stops_the_summary(line, session):
    person = session.get(User, line.person.id)
    person.return_date = date(2026, 1, 10)
    session.commit()
    handover = propose(line)
    answer(line, "agree", share_milestones=True)
    accept(line, handover)
    sent = line.staff.get(f"/network/out/{handover.id}").get_data(as_text=True)
    assert GOAL in sent and "Ousman" in sent
    # The milestones the person agreed to: dates and done, not what was said.
    assert "After 1 month:" in sent and "not yet" in sent
    r = line.phone.post(f"/network/handover/{handover.id}/withdraw", form_page="/network/handover")
    assert r.status_code == 302
    sent = line.staff.get(f"/network/out/{handover.id}").get_data(as_text=True)
    assert GOAL not in sent and "Ousman" not in sent
    assert "withdrew their agreement" in sent
    assert the_handover(line).summary is None
    assert "Ousman" not in line.staff.get("/network/").get_data(as_text=True)


def test_a_handover_outside_the_relations_is_refused(line, session, ctx):
    r = line.staff.post(f"/network/people/{line.person.id}/handover",
                        {"organisation": line.outsider.id})
    assert r.status_code == 400 and "Please choose one from the list" in r.get_data(as_text=True)
    with ctx(), pytest.raises(network.NotRelated):
        network.propose(session, line.counsellor, line.person, line.outsider.id)
    session.rollback()
    assert not session.scalars(select(Handover)).all()


def test_the_person_answers_once(line):
    propose(line)
    answer(line, "refuse")
    r = line.phone.post("/network/handover", {"decision": "agree"})
    assert r.status_code == 400 and "There is nothing to answer" in r.get_data(as_text=True)
    assert the_handover(line).status == "refused"


# --- Referrals ------------------------------------------------------------------------

def refer(line: Line) -> Referral:
    r = line.staff.post(f"/network/cases/{line.case_id}/refer",
                        {"organisation": line.receiver.id})
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    session = line_session(line)
    session.expire_all()
    return session.scalars(select(Referral)).one()


def test_a_referral_crosses_only_with_the_persons_agreement(line):
    referral = refer(line)
    assert line.partner.get(f"/network/referrals/in/{referral.id}").status_code == 404
    assert WORDS not in line.partner.get("/network/").get_data(as_text=True)
    page = line.phone.get(f"/network/referrals/{referral.id}").get_data(as_text=True)
    assert "waiting for your answer" in page and "Partner Freetown" in page
    r = line.phone.post(f"/network/referrals/{referral.id}", {"decision": "agree"})
    assert r.status_code == 302
    page = line.partner.get(f"/network/referrals/in/{referral.id}").get_data(as_text=True)
    assert WORDS in page and NOTE not in page
    # Declining needs a reason, which the person then reads.
    url = f"/network/referrals/in/{referral.id}/step"
    r = line.partner.post(url, {"step": "declined", "text": ""},
                          form_page=f"/network/referrals/in/{referral.id}")
    assert r.status_code == 400 and "Please say why" in r.get_data(as_text=True)
    r = line.partner.post(url, {"step": "declined", "text": "No tools budget this year"},
                          form_page=f"/network/referrals/in/{referral.id}")
    assert r.status_code == 302
    mine = line.phone.get(f"/network/referrals/{referral.id}").get_data(as_text=True)
    assert "the partner cannot take it on" in mine and "No tools budget this year" in mine
    # A declined referral takes no further step.
    r = line.partner.post(url, {"step": "done", "text": "x"},
                          form_page=f"/network/referrals/in/{referral.id}")
    assert r.status_code == 400


def test_the_home_page_asks_for_the_answer_a_referral_waits_for(line):
    """Nothing is sent without the person's answer, so their home page asks
    for it (in words that name neither the partner nor the need: the phone
    may be shared), until they have answered."""
    home = line.phone.get("/home").get_data(as_text=True)
    assert "asks for your answer" not in home
    referral = refer(line)
    home = line.phone.get("/home").get_data(as_text=True)
    assert "asks for your answer about one of your requests" in home
    assert f'href="/network/referrals/{referral.id}"' in home
    assert "Partner Freetown" not in home
    assert line.phone.post(f"/network/referrals/{referral.id}",
                           {"decision": "agree"}).status_code == 302
    assert "asks for your answer" not in line.phone.get("/home").get_data(as_text=True)


def test_a_referral_is_accepted_then_its_outcome_reported(line):
    referral = refer(line)
    line.phone.post(f"/network/referrals/{referral.id}", {"decision": "agree"})
    page = f"/network/referrals/in/{referral.id}"
    assert line.partner.post(page + "/step", {"step": "accepted"}, form_page=page
                             ).status_code == 302
    assert line.partner.post(page + "/step", {"step": "done", "text": "Tools given"},
                             form_page=page).status_code == 302
    mine = line.phone.get("/network/handover").get_data(as_text=True)
    assert "Partner Freetown" in mine and "done" in mine
    assert "Tools given" in line.phone.get(f"/network/referrals/{referral.id}").get_data(
        as_text=True)


def test_a_refused_referral_shows_the_partner_nothing(line):
    referral = refer(line)
    line.phone.post(f"/network/referrals/{referral.id}", {"decision": "refuse"})
    assert line.partner.get(f"/network/referrals/in/{referral.id}").status_code == 404
    session = line_session(line)
    session.expire_all()
    assert session.get(Referral, referral.id).text == ""


def test_a_referral_outside_the_relations_is_refused(line, session):
    r = line.staff.post(f"/network/cases/{line.case_id}/refer",
                        {"organisation": line.outsider.id})
    assert r.status_code == 400
    assert not session.scalars(select(Referral)).all()


# --- Transfer between organisations ----------------------------------------------------

def test_a_case_moves_on_to_another_related_partner_with_consent(line, session, ctx, make_staff,
                                                                 make_org):
    """After return, the person moves to another region: the partner hands
    the case on, with the same consent (the handover)."""
    handover = propose(line)
    answer(line, "agree", share_history=True)
    accept(line, handover)
    other = make_org(name="Partner Bo")
    with ctx():
        network.set_kind(session, other, "receiving")
        network.relate(session, line.receiver, other)
    session.commit()
    caseworker = make_staff(Role.CASEWORKER, organisation=other)
    with ctx():
        person = session.get(User, line.person.id)
        onward = network.propose(session, line.receiving_caseworker, person, other.id)
        network.answer(session, person, agree=True, share_history=True)
        coordinator = make_staff(Role.COORDINATOR, organisation=other)
        network.accept(session, coordinator, onward, caseworker.id)
    session.commit()
    session.expire_all()
    assert session.get(User, line.person.id).organisation_id == other.id
    assert session.get(Goal, line.goal_id).organisation_id == other.id
    assert line.phone.get("/plan/").status_code == 200
    assert line.staff.get(f"/network/out/{handover.id}").status_code == 200


# --- The operator's commands ---------------------------------------------------------

def test_the_operator_relates_organisations(app, session, make_org):
    a, b = make_org(name="Sender A"), make_org(name="Receiver B")
    run = app.test_cli_runner().invoke
    assert run(args=["network", "kind", str(a.id), "sending"]).exit_code == 0
    result = run(args=["network", "relate", "Sender A", "Receiver B"])
    assert result.exit_code == 0 and "related" in result.output
    assert "already related" in run(args=["network", "relate", str(a.id), str(b.id)]).output
    assert run(args=["network", "relate", str(a.id), "99999"]).exit_code != 0
    assert run(args=["network", "relate", str(a.id), str(a.id)]).exit_code != 0
    session.expire_all()
    assert network.is_related(session, a.id, b.id) and not network.is_related(session, b.id, a.id)
    assert session.get(Organisation, a.id).network_kind == "sending"
    assert "removed" in run(args=["network", "unrelate", str(a.id), str(b.id)]).output
    session.expire_all()
    assert not network.is_related(session, a.id, b.id)


def test_seed_demo_adds_a_sending_organisation_with_a_person_in_preparation(app, session):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    counsellor, person = data["sending_accounts"]
    assert counsellor["role"] == "caseworker" and counsellor["totp_secret"]
    assert person["role"] == "returnee" and person["activation_code"]
    session.expire_all()
    user = session.get(User, person["user_id"])
    receiver = session.scalars(select(Organisation).where(
        Organisation.name == data["organisation"])).one()
    assert network.in_preparation(session, user)
    assert network.is_related(session, user.organisation_id, receiver.id)
    assert [g.title for g in session.scalars(select(Goal).where(
        Goal.returnee_id == user.id))] == ["Open a tailoring workshop"]


# --- Referral to a listed service (the directory) ---------------------------------------

def a_place(session, org, **kw) -> int:
    from webapp.directory.models import Place
    place = Place(**{"organisation_id": org.id, "kind": "training", "name": "Tailoring school",
                     "town": "Utrecht", "address": "12 Canal Street",
                     "directions": "Behind the market", "phone": "+31 30 123 4567", **kw})
    session.add(place)
    session.commit()
    return place.id


def refer_to_place(line: Line, place_id: int) -> Referral:
    r = line.staff.post(f"/network/cases/{line.case_id}/refer/place", {"place": place_id},
                        form_page=f"/network/cases/{line.case_id}/refer")
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    session = line_session(line)
    session.expire_all()
    referral = session.scalars(select(Referral)).one()
    assert r.headers["Location"].endswith(f"/network/referrals/out/{referral.id}")
    return referral


def test_a_request_is_referred_to_a_listed_service_and_the_caseworker_records_the_outcome(
        line, session):
    place_id = a_place(session, line.sender)
    page = line.staff.get(f"/network/cases/{line.case_id}/refer").get_data(as_text=True)
    assert "Tailoring school, Utrecht" in page
    referral = refer_to_place(line, place_id)
    assert (referral.place_id, referral.to_organisation_id, referral.status) == (
        place_id, None, "asked")
    # The person agrees first; until then nothing can be recorded.
    mine = line.phone.get(f"/network/referrals/{referral.id}").get_data(as_text=True)
    assert "Tailoring school" in mine and "waiting for your answer" in mine
    out = f"/network/referrals/out/{referral.id}"
    r = line.staff.post(out + "/outcome", {"outcome": "helped"}, form_page=out)
    assert r.status_code == 400 and "This step is not possible now" in r.get_data(as_text=True)
    assert line.phone.post(f"/network/referrals/{referral.id}",
                           {"decision": "agree"}).status_code == 302
    # Nobody in Footing receives it: no words are copied, no partner sees it.
    session.expire_all()
    assert session.get(Referral, referral.id).text == ""
    assert line.partner.get(f"/network/referrals/in/{referral.id}").status_code == 404
    assert line.partner.post(f"/network/referrals/in/{referral.id}/step",
                             {"step": "accepted"}, form_page="/network/").status_code == 404
    # The person sees the place's details: name, phone to dial, address in words.
    mine = line.phone.get(f"/network/referrals/{referral.id}").get_data(as_text=True)
    assert 'href="tel:+31301234567"' in mine
    assert "12 Canal Street" in mine and "Behind the market" in mine
    assert "you can go there or call them" in mine
    # The caseworker records the outcome: a choice is needed; the note is short.
    r = line.staff.post(out + "/outcome", {"outcome": "", "note": "x"}, form_page=out)
    assert r.status_code == 400 and "Please choose one from the list" in r.get_data(as_text=True)
    r = line.staff.post(out + "/outcome", {"outcome": "helped", "note": "x" * 1001},
                        form_page=out)
    assert r.status_code == 400
    session.expire_all()
    assert session.get(Referral, referral.id).status == "open"
    r = line.staff.post(out + "/outcome", {"outcome": "reached", "note": "Called them"},
                        form_page=out)
    assert r.status_code == 302
    r = line.staff.post(out + "/outcome", {"outcome": "helped", "note": "Got a place in class"},
                        form_page=out)
    assert r.status_code == 302
    session.expire_all()
    done = session.get(Referral, referral.id)
    assert (done.status, done.outcome_kind, done.outcome) == (
        "done", "helped", "Got a place in class")
    mine = line.phone.get(f"/network/referrals/{referral.id}").get_data(as_text=True)
    assert "What came of it: Helped" in mine and "Got a place in class" in mine
    listed = line.phone.get("/network/handover").get_data(as_text=True)
    assert "Tailoring school" in listed
    staff_list = line.staff.get("/network/").get_data(as_text=True)
    assert "Tailoring school" in staff_list and "Helped" in staff_list


@pytest.mark.parametrize("which", ["other organisation", "retired", "no such place"])
def test_a_referral_to_a_place_not_in_the_directory_is_refused(line, session, which):
    from webapp.models import utcnow
    if which == "other organisation":
        place_id = a_place(session, line.receiver)
    elif which == "retired":
        place_id = a_place(session, line.sender, retired_at=utcnow())
    else:
        place_id = 99999
    r = line.staff.post(f"/network/cases/{line.case_id}/refer/place", {"place": place_id},
                        form_page=f"/network/cases/{line.case_id}/refer")
    assert r.status_code == 400 and "Please choose one from the list" in r.get_data(as_text=True)
    with pytest.raises(DomainError), line_ctx(line):
        network.refer_to_place(session, line.counsellor, session.get(Case, line.case_id),
                               place_id)
    session.rollback()
    assert not session.scalars(select(Referral)).all()


def test_a_refused_referral_to_a_place_takes_no_outcome(line, session):
    referral = refer_to_place(line, a_place(session, line.sender))
    line.phone.post(f"/network/referrals/{referral.id}", {"decision": "refuse"})
    out = f"/network/referrals/out/{referral.id}"
    assert "Save" not in line.staff.get(out).get_data(as_text=True).split("</main>")[0][-400:]
    r = line.staff.post(out + "/outcome", {"outcome": "helped"}, form_page=out)
    assert r.status_code == 400
    session.expire_all()
    assert session.get(Referral, referral.id).status == "refused"


def test_a_referral_names_exactly_one_organisation_or_place(line, session):
    from sqlalchemy.exc import IntegrityError
    place_id = a_place(session, line.sender)
    for to_org, place in ((line.receiver.id, place_id), (None, None)):
        session.add(Referral(case_id=line.case_id, returnee_id=line.person.id,
                             from_organisation_id=line.sender.id, to_organisation_id=to_org,
                             place_id=place))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_only_the_referring_side_sees_its_referral(line, session, make_staff):
    referral = refer_to_place(line, a_place(session, line.sender))
    out = f"/network/referrals/out/{referral.id}"
    assert line.staff.get(out).status_code == 200
    assert line.partner.get(out).status_code == 404
    other = Web(line.staff.client.application.test_client())
    sign_in_staff(other, make_staff(Role.CASEWORKER, organisation=line.sender))
    assert other.get(out).status_code == 404  # not the person's caseworker
    assert line.phone.get(out).status_code == 404


# --- What stays behind at a handover: open requests and alerts -----------------------------

def _urgent_concern(line: Line) -> int:
    session = line_session(line)
    from flask import current_app
    with current_app.test_request_context():
        case = support.create_concern(session, session.get(User, line.person.id),
                                      kind="safety", sub_type="threatened", urgency="now")
    session.commit()
    return case.id


def _open_alerts(session, org_id: int, person_id: int) -> list:
    from webapp.alerts.models import Alert
    session.expire_all()
    # In the order raised: without ORDER BY, PostgreSQL returns rows in no
    # given order (an updated row's new version may come last).
    return session.scalars(select(Alert).where(Alert.organisation_id == org_id,
                                               Alert.returnee_id == person_id,
                                               Alert.resolved_at.is_(None))
                           .order_by(Alert.id)).all()


def test_without_the_history_open_requests_and_alerts_are_closed_as_handed_over(line, app):
    session = line_session(line)
    with app.app_context():
        concern_id = _urgent_concern(line)
    assert _open_alerts(session, line.sender.id, line.person.id)
    alerts_before = line.staff.get("/alerts/").get_data(as_text=True)
    handover = propose(line)
    page = line.phone.get("/network/handover").get_data(as_text=True)
    assert "You have 2 open requests" in page and "closed at the handover" in page
    answer(line, "agree")  # the history stays behind
    assert accept(line, handover).status_code == 302
    # Nobody on the sending side is alerted about her any more.
    assert not _open_alerts(session, line.sender.id, line.person.id)
    from webapp.alerts.models import Alert
    closed = session.scalars(select(Alert).where(Alert.returnee_id == line.person.id)).all()
    assert closed and all("Handed over to Partner Freetown" in a.resolution_note for a in closed)
    assert alerts_before != line.staff.get("/alerts/").get_data(as_text=True)
    for case_id in (line.case_id, concern_id):
        case = session.get(Case, case_id)
        assert (case.organisation_id, case.status) == (line.sender.id, "closed")
    from webapp.support.models import CaseEvent
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == line.case_id,
                                                    CaseEvent.to_status == "closed")).one()
    assert event.actor_id == line.counsellor.id and "Handed over" in event.reason
    # The receiving side learns nothing of them.
    assert not _open_alerts(session, line.receiver.id, line.person.id)
    page = line.partner.get(f"/network/in/{handover.id}").get_data(as_text=True)
    assert "Open requests at handover" not in page
    assert line.partner.get(f"/help/cases/{concern_id}").status_code == 404
    # The person's list of requests links none of those left behind (they are
    # closed there, and in the data download): no link that answers 404.
    mine = line.phone.get("/help/").get_data(as_text=True)
    for case_id in (line.case_id, concern_id):
        assert f"/help/cases/{case_id}" not in mine
        assert line.phone.get(f"/help/cases/{case_id}").status_code == 404


def test_with_the_history_open_requests_move_and_the_receiving_side_sees_them(line, app):
    session = line_session(line)
    with app.app_context():
        concern_id = _urgent_concern(line)
    handover = propose(line)
    answer(line, "agree", share_history=True)
    assert accept(line, handover).status_code == 302
    assert not _open_alerts(session, line.sender.id, line.person.id)
    for case_id in (line.case_id, concern_id):
        case = session.get(Case, case_id)
        assert case.organisation_id == line.receiver.id and case.status == "new"
    # An open alert about a request that moved is raised again on the receiving side.
    again = _open_alerts(session, line.receiver.id, line.person.id)
    assert {(a.source_type, a.source_id) for a in again} == {
        ("support_case", line.case_id), ("support_case", concern_id)}
    page = line.partner.get(f"/network/in/{handover.id}").get_data(as_text=True)
    assert "Open requests at handover" in page
    assert f'href="/help/cases/{line.case_id}"' in page
    assert f'href="/help/cases/{concern_id}"' in page
    assert line.partner.get(f"/help/cases/{concern_id}").status_code == 200
    # The receiving caseworker has them in the inbox.
    inbox = Web(line.partner.client.application.test_client())
    sign_in_staff(inbox, line.receiving_caseworker)
    assert f'href="/help/cases/{line.case_id}"' in inbox.get("/help/inbox").get_data(as_text=True)


# --- My information: handovers and referrals ------------------------------------------------

def test_my_information_lists_handovers_and_referrals_in_plain_words(line, session):
    handover = propose(line)
    answer(line, "agree", share_milestones=True)
    accept(line, handover)
    session.expire_all()
    place_id = a_place(session, line.receiver, name="Bo clinic")
    # After the handover: the new caseworker refers her request to a place.
    with line_ctx(line):
        person = session.get(User, line.person.id)
        case = support.create_request(session, person, category="health", contact_way="app",
                                      details="Back pain")
        referral = network.refer_to_place(session, line.receiving_caseworker, case, place_id)
        network.answer_referral(session, person, referral, agree=True)
        network.record_place_outcome(session, line.receiving_caseworker, referral,
                                     "could_not_reach", "No answer on the phone")
    session.commit()
    page = line.phone.get("/me/data").get_data(as_text=True)
    assert "From Counselling Utrecht to Partner Freetown" in page
    assert "Done: the new organisation follows you" in page
    assert "What moved: your plan, your follow-ups" in page
    assert "a short summary, and your follow-ups&#39; dates" in page
    assert "Bo clinic" in page and "Could not reach the place" in page
    data = json.loads(line.phone.get("/me/data.json").get_data(as_text=True))
    (h,) = data["handovers"]
    assert (h["from_organisation"], h["to_organisation"]) == ("Counselling Utrecht",
                                                              "Partner Freetown")
    assert h["status"] == "Done: the new organisation follows you" and h["accepted_at"]
    (r,) = data["referrals"]
    assert (r["to"], r["listed_service"], r["what_came_of_it"], r["note"]) == (
        "Bo clinic", True, "Could not reach the place", "No answer on the phone")
    # Withdrawn: the file says so.
    line.phone.post(f"/network/handover/{handover.id}/withdraw", form_page="/network/handover")
    data = json.loads(line.phone.get("/me/data.json").get_data(as_text=True))
    assert data["handovers"][0]["sending_side_still_sees"] == (
        "nothing: you withdrew your agreement")


def test_a_refused_handover_is_in_my_information_and_nothing_moved(line):
    propose(line)
    answer(line, "refuse")
    page = line.phone.get("/me/data").get_data(as_text=True)
    assert "You said no: nothing was sent" in page and "Nothing moved." in page


def test_deleting_the_account_erases_handovers_referrals_and_notes_kept_behind(line, session):
    handover = propose(line)
    answer(line, "agree", share_history=True)
    accept(line, handover)
    session.expire_all()
    with line_ctx(line):
        person = session.get(User, line.person.id)
        place_id = a_place(session, line.receiver)
        case = support.create_request(session, person, category="health", contact_way="app",
                                      details="Back pain")
        referral_id = network.refer_to_place(session, line.receiving_caseworker, case,
                                             place_id).id
    session.commit()
    assert session.scalars(select(LeftBehindNote)).all()
    from webapp.privacy import service as privacy
    with line_ctx(line):
        person = session.get(User, line.person.id)
        person.deletion_requested_at = person.created_at
        privacy.delete_account(session, line.receiving_coordinator, person)
    session.commit()
    session.expire_all()
    assert session.get(Referral, referral_id) is None
    assert not session.scalars(select(Handover)).all()
    assert not session.scalars(select(LeftBehindNote)).all()


def test_a_relation_removed_after_the_agreement_refuses_the_acceptance(line, session, ctx):
    """Bad input: the operator took the relation away while the handover
    waited for the partner; accepting it is refused and nothing moves."""
    handover = propose(line)
    answer(line, "agree", share_history=True)
    with ctx():
        network.unrelate(session, line.sender, line.receiver)
    session.commit()
    r = accept(line, handover)
    assert r.status_code == 403
    session.expire_all()
    assert the_handover(line).status == "agreed"
    assert session.get(User, line.person.id).organisation_id == line.sender.id
    assert session.get(Case, line.case_id).organisation_id == line.sender.id


def test_my_information_costs_the_same_queries_however_many_referrals(line, session,
                                                                      count_queries):
    place_ids = [a_place(session, line.sender, name=f"Place {n}") for n in range(4)]
    session.add(Referral(case_id=line.case_id, returnee_id=line.person.id,
                         from_organisation_id=line.sender.id, place_id=place_ids[0]))
    session.commit()
    with count_queries() as few:
        assert line.phone.get("/me/data.json").status_code == 200
    for place_id in place_ids[1:]:
        session.add(Referral(case_id=line.case_id, returnee_id=line.person.id,
                             from_organisation_id=line.sender.id, place_id=place_id))
    session.add(Referral(case_id=line.case_id, returnee_id=line.person.id,
                         from_organisation_id=line.sender.id,
                         to_organisation_id=line.receiver.id))
    session.commit()
    with count_queries() as many:
        data = json.loads(line.phone.get("/me/data.json").get_data(as_text=True))
    assert len(data["referrals"]) == 5
    assert many() == few()


def test_a_request_to_delete_the_account_follows_the_person_to_the_receiving_side(line):
    r = line.phone.post("/me/delete", {"understand": "y"})
    assert r.status_code == 302
    session = line_session(line)
    (asked,) = _open_alerts(session, line.sender.id, line.person.id)[-1:]
    assert asked.kind == "account.deletion_requested"
    handover = propose(line)
    answer(line, "agree")
    accept(line, handover)
    kinds = [a.kind for a in _open_alerts(session, line.receiver.id, line.person.id)]
    assert kinds == ["account.deletion_requested"]
    assert not _open_alerts(session, line.sender.id, line.person.id)


def test_the_network_page_costs_the_same_queries_however_many_referrals(line, session,
                                                                        count_queries):
    def add(name: str) -> None:
        session.add(Referral(case_id=line.case_id, returnee_id=line.person.id,
                             from_organisation_id=line.sender.id, referred_by_id=line.counsellor.id,
                             place_id=a_place(session, line.sender, name=name)))
        session.commit()

    add("Place 0")
    line.staff.get("/network/")  # the first request's one-off reads
    with count_queries() as few:
        assert "Place 0" in line.staff.get("/network/").get_data(as_text=True)
    for n in range(1, 4):
        add(f"Place {n}")
    with count_queries() as many:
        assert "Place 3" in line.staff.get("/network/").get_data(as_text=True)
    assert many() == few()


# --- Two coordinators at once (real connections; SQLite and PostgreSQL) --------------

@pytest.fixture()
def agreed_handover(app):
    """A handover the person agreed to, committed for real (`race` runs
    outside the test's transaction), with two coordinators of the receiving
    side; removed afterwards with everything accepting it wrote."""
    engine = app.extensions["footing_db"].engine
    with app.app_context(), Session(engine) as s:
        sender = new_org(s, name="Race sender", country="NL")
        receiver = new_org(s, name="Race partner")
        network.set_kind(s, sender, "sending")
        network.set_kind(s, receiver, "receiving")
        network.relate(s, sender, receiver)
        counsellor = User(organisation_id=sender.id, role=Role.CASEWORKER.value,
                          display_name="Race counsellor", email="race.counsellor@example.org")
        first, second = (User(organisation_id=receiver.id, role=Role.COORDINATOR.value,
                              display_name=f"Race coordinator {n}",
                              email=f"race.coordinator{n}@example.org") for n in (1, 2))
        caseworker = User(organisation_id=receiver.id, role=Role.CASEWORKER.value,
                          display_name="Race caseworker", email="race.caseworker@example.org")
        person = User(organisation_id=sender.id, role=Role.RETURNEE.value,
                      display_name="Race person")
        s.add_all([counsellor, first, second, caseworker, person])
        s.flush()
        handover = Handover(returnee_id=person.id, from_organisation_id=sender.id,
                            to_organisation_id=receiver.id, proposed_by_id=counsellor.id,
                            status=AGREED)
        s.add(handover)
        s.commit()
        ids = {"orgs": (sender.id, receiver.id), "handover": handover.id, "person": person.id,
               "caseworker": caseworker.id, "first": first.id, "second": second.id,
               "people": (counsellor.id, first.id, second.id, caseworker.id, person.id)}
    yield ids
    with Session(engine) as s:
        people = ids["people"]
        s.execute(delete(AuditEvent).where(AuditEvent.subject_id.in_(people)
                                           | AuditEvent.actor_id.in_(people)))
        s.execute(delete(CaseworkerAssignment).where(
            CaseworkerAssignment.returnee_id == ids["person"]))
        s.execute(delete(Handover).where(Handover.id == ids["handover"]))
        s.execute(delete(OrganisationRelation).where(
            OrganisationRelation.from_organisation_id.in_(ids["orgs"])))
        s.execute(delete(User).where(User.id.in_(people)))
        s.execute(delete(Organisation).where(Organisation.id.in_(ids["orgs"])))
        s.commit()


def test_two_coordinators_accepting_at_once_move_the_person_once(app, agreed_handover):
    """Two coordinators of the receiving side press "accept" at the same
    moment: the second waits for the first, then finds it accepted and
    changes nothing: one move, one caseworker, one acceptance on record, by
    the first. Without the handover's lock (PostgreSQL; SQLite's write lock
    serialises the two anyway) the second, having read it as agreed, goes on
    to move the person a second time."""
    ids = agreed_handover

    def accept_by(coordinator: str):
        def work(s):
            handover = s.get(Handover, ids["handover"])
            return network.accept(s, s.get(User, ids[coordinator]), handover,
                                  ids["caseworker"]).status
        return work

    results = race(app, accept_by("first"), accept_by("second"))
    assert results == {"first": "accepted", "second": "accepted"}, results
    with Session(app.extensions["footing_db"].engine) as s:
        handover = s.get(Handover, ids["handover"])
        assert handover.accepted_by_id == ids["first"]
        assert s.get(User, ids["person"]).organisation_id == ids["orgs"][1]
        assert s.scalar(select(func.count()).select_from(CaseworkerAssignment).where(
            CaseworkerAssignment.returnee_id == ids["person"])) == 1
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.subject_id == ids["person"], AuditEvent.action == "handover.accept")) == 1


def test_a_safety_plan_made_before_return_says_whose_numbers_it_names(app, line, session, ctx):
    """The plan stays the person's as they made it, but the numbers it chose
    before return are from the sending side's list, often in another country.
    After the handover its page says so before showing them, after the
    receiving organisation's own number, until a new version chooses numbers
    from the receiving side's list."""
    with ctx():
        politie = directory.add_place(session, line.counsellor, directory.PlaceData(
            kind="emergency", name="Politie Utrecht", town="Utrecht", phone="+31 900 8844"))
        kissy = directory.add_place(session, line.receiving_caseworker, directory.PlaceData(
            kind="emergency", name="Police Kissy", town="Freetown", phone="+232 99 999"))
    session.commit()
    r = line.phone.post("/safety/edit", {"contacts": "Fatu 076 111 222",
                                         "places": str(politie.id)})
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    before = line.phone.get("/safety/").get_data(as_text=True)
    assert 'href="tel:+319008844"' in before and "These numbers are from" not in before

    handover = propose(line)
    answer(line, "agree", share_history=True)
    assert accept(line, handover).status_code == 302
    caseworker = Web(app.test_client())
    sign_in_staff(caseworker, line.receiving_caseworker)
    for page in (line.phone.get("/safety/").get_data(as_text=True),
                 caseworker.get(f"/safety/of/{line.person.id}").get_data(as_text=True)):
        hint = page.index("These numbers are from the list of")
        said = page[hint:page.index("</p>", hint)]
        assert "Counselling Utrecht" in said and "Partner Freetown" in said
        # Here first: the receiving organisation's number, then what is said,
        # then the numbers from the sending side's list. The plan's own words stay.
        assert page.index('href="tel:+23276123456"') < hint < page.index('href="tel:+319008844"')
        assert "Fatu 076 111 222" in page

    # A new version chooses from the receiving side's list only.
    form = caseworker.get(f"/safety/of/{line.person.id}/edit").get_data(as_text=True)
    assert "Police Kissy" in form and "Politie Utrecht" not in form
    r = caseworker.post(f"/safety/of/{line.person.id}/edit",
                        {"contacts": "Fatu 076 111 222", "places": str(kissy.id)})
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    after = line.phone.get("/safety/").get_data(as_text=True)
    assert 'href="tel:+23299999"' in after
    assert "Politie Utrecht" not in after and "These numbers are from" not in after
