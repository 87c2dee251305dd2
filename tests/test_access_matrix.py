"""The access matrix (issue #25): every endpoint of the app, requested by every
role, on objects of the caller's own circle, of another person in the same
organisation and of another organisation, and the answer checked against a
table written here by hand, apart from `webapp.access.POLICY`. A rule that
lets in more than the table says fails here, and so does an endpoint the table
does not know yet.

The world is built once for the module. Each of two organisations has a
coordinator, a caseworker and a facilitator, and two returnees with their
goal, step, case, alert, group (meeting, post), device and handovers (in,
out and their own; a third, sending organisation is related to both, and
both to each other: issue #21):

- "mine": the returnee who signs in, assigned to the caseworker who signs in,
  member of the group the facilitator who signs in runs; a device is the
  caller's own;
- "other": another returnee of the same organisation, with a caseworker and a
  facilitator of their own who never sign in; a device is that returnee's;
- "abroad": the second organisation's "mine" (nobody of it signs in);
- "mixed": the URL's first object is mine, the objects inside it another's
  (a meeting of another group under my group's address);
- "hidden": a post in my group that a facilitator hid, by someone else.

An endpoint whose URL names no object has the one variant "-". "Denied" is a
404 for a signed-in caller (as if the object did not exist), the sign-in page
(GET) or 401 for an anonymous one; "allowed" is any answer but 401, 403, 404.
POSTs go without CSRF (this module's config) and with an empty form: what a
form does with it is the area's own tests' business, who reaches it is this
one's. Each request runs in a savepoint rolled back after it, so a POST that
deletes an account leaves the world as it was for the next one.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pyotp
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from webapp.alerts.models import Alert
from webapp.auth.routes import DEVICE_COOKIE
from webapp.directory import service as directory
from webapp.groups import service as groups
from webapp.groups.models import GroupFacilitator, GroupMember, GroupPost, PeerGroup
from webapp.models import Organisation, Role, User, utcnow
from webapp.network import service as network
from webapp.network.models import (
    ACCEPTED,
    AGREED,
    ASKED,
    OPEN_REFERRAL,
    PROPOSED,
    Handover,
    Referral,
)
from webapp.passwords import hash_secret
from webapp.people import service as people
from webapp.plan import service as plan
from webapp.push.models import PushSubscription
from webapp.support import service as support
from webapp.voice import service as voice

from .conftest import (
    STAFF_PASSWORD,
    Web,
    activate_returnee,
    assert_covers_the_url_map,
    new_org,
    sign_in_staff,
)

ANON, RE, FA, CW, CO = "anonymous", "returnee", "facilitator", "caseworker", "coordinator"
ROLES = (ANON, RE, FA, CW, CO)
SIGNED_IN = (RE, FA, CW, CO)
STAFF = (FA, CW, CO)

NONE = "-"  # the one variant of an endpoint whose URL names no object
MINE, OTHER, ABROAD, MIXED, HIDDEN = "mine", "other", "abroad", "mixed", "hidden"
OWN = frozenset({MINE})
ORGANISATION = frozenset({MINE, OTHER})  # the caller's own and another person's, not abroad


def reach(*roles: str) -> dict[str, frozenset[str]]:
    """An endpoint that names no object: these roles reach it."""
    return {role: frozenset({NONE}) for role in roles}


PUBLIC = reach(ANON, *SIGNED_IN)

# Who reaches what: {endpoint: {role: the variants it reaches}}; a role not
# named reaches nothing. Written from the issues, not copied from POLICY.
EXPECTED: dict[str, dict[str, frozenset[str]]] = {
    # Infrastructure, public pages, signing in
    "static": PUBLIC,
    "main.healthz": PUBLIC,
    "main.worker_health": PUBLIC,
    "main.manifest": PUBLIC,
    "main.service_worker": PUBLIC,
    "main.offline": PUBLIC,
    "main.language": PUBLIC,
    "main.set_language": PUBLIC,
    "main.quick_exit": PUBLIC,
    "main.index": PUBLIC,
    "auth.signin": PUBLIC,
    "auth.staff_signin": PUBLIC,
    "auth.staff_totp": PUBLIC,
    "auth.pin_signin": PUBLIC,
    "auth.activate": PUBLIC,
    "auth.activate_returnee": PUBLIC,
    "auth.activate_staff": PUBLIC,
    "auth.signout": reach(*SIGNED_IN),
    "auth.change_pin": reach(RE),
    "auth.change_password": reach(*STAFF),
    "main.home": reach(*SIGNED_IN),
    "main.my_ledger": reach(RE),
    "main.csrf_token": reach(*SIGNED_IN),
    # People: a caseworker manages their own returnees, a coordinator everyone
    # of the organisation; a facilitator nobody.
    "people.index": reach(CW, CO),
    "people.new_returnee": reach(CW, CO),
    "people.new_staff": reach(CO),
    "people.show": {CW: OWN, CO: ORGANISATION},
    "people.profile": {CW: OWN, CO: ORGANISATION},
    "people.reissue": {CW: OWN, CO: ORGANISATION},
    "people.assign": {CO: ORGANISATION},
    "people.disable": {CO: ORGANISATION},
    "people.delete_account": {CW: OWN, CO: ORGANISATION},
    # The plan: the returnee's own; their caseworker changes it (they agreed
    # to that), a coordinator reads and comments.
    "plan.mine": reach(RE),
    "plan.print_mine": reach(RE),
    "plan.new_goal": reach(RE),
    "plan.of": {CW: OWN, CO: ORGANISATION},
    "plan.print_of": {CW: OWN, CO: ORGANISATION},
    "plan.suggest": {CW: OWN, CO: ORGANISATION},
    "plan.goal": {RE: OWN, CW: OWN, CO: ORGANISATION},
    "plan.edit_goal": {RE: OWN, CW: OWN},
    "plan.set_status": {RE: OWN, CW: OWN},
    "plan.add_step": {RE: OWN, CW: OWN},
    "plan.comment": {RE: OWN, CW: OWN, CO: ORGANISATION},
    "plan.answer": {RE: OWN},
    "plan.tick_step": {RE: OWN, CW: OWN},
    "plan.remove_step": {RE: OWN, CW: OWN},
    "plan.in_plan": {RE: OWN, CW: OWN},
    # Alerts: the returnee's caseworker (told of it) and the coordinators.
    "alerts.inbox": reach(CW, CO),
    "alerts.show": {CW: OWN, CO: ORGANISATION},
    "alerts.acknowledge": {CW: OWN, CO: ORGANISATION},
    "alerts.resolve": {CW: OWN, CO: ORGANISATION},
    # Devices: everyone their own.
    "push.devices": reach(*SIGNED_IN),
    "push.subscribe": reach(*SIGNED_IN),
    "push.remove": {role: OWN for role in SIGNED_IN},
    # Support: the returnee's own cases, their caseworker's, the coordinators'.
    "support.mine": reach(RE),
    "support.ask": reach(RE),
    "support.report": reach(RE),
    "support.help_now": reach(RE),
    "support.help_now_phone": PUBLIC,
    "support.received": {RE: OWN},
    "support.case": {RE: OWN, CW: OWN, CO: ORGANISATION},
    "support.reply": {RE: OWN, CW: OWN, CO: ORGANISATION},
    "support.note": {CW: OWN, CO: ORGANISATION},
    "support.acknowledge": {CW: OWN, CO: ORGANISATION},
    "support.change_status": {CW: OWN, CO: ORGANISATION},
    "support.reassign": {CO: ORGANISATION},
    "support.inbox": reach(CW, CO),
    "support.medicine": reach(CO),
    # Check-ins and groups: members and facilitators of a group see it, the
    # coordinators every group; only those in it write; its facilitators run it
    # and see its hidden posts. Caseworkers are not in groups.
    "checkins.new": reach(RE),
    "checkins.history": reach(RE),
    "groups.index": reach(RE, FA, CO),
    "groups.new": reach(CO),
    "groups.show": {RE: OWN, FA: OWN, CO: ORGANISATION},
    "groups.appoint": {CO: ORGANISATION},
    "groups.manage": {FA: OWN},
    "groups.settings": {FA: OWN},
    "groups.add_member": {FA: OWN},
    "groups.remove_member": {FA: OWN},
    "groups.buddies": {FA: OWN},
    "groups.post": {RE: OWN, FA: OWN},
    "groups.hide_post": {FA: OWN | {HIDDEN}},
    "groups.report_post": {RE: OWN, FA: OWN | {HIDDEN}},
    "groups.new_meeting": {FA: OWN},
    "groups.meeting": {RE: OWN, FA: OWN, CO: ORGANISATION},
    "groups.rsvp": {RE: OWN},
    "groups.attendance": {FA: OWN},
    "groups.cancel_meeting": {FA: OWN},
    "groups.overview": {FA: OWN},
    "groups.raise_member": {FA: OWN},
    # Monitoring: the caseworker's caseload and own returnees; the coordinator's
    # overview and export.
    "monitoring.caseload": reach(CW, CO),
    "monitoring.due": reach(CW, CO),
    "monitoring.timeline": {CW: OWN, CO: ORGANISATION},
    "monitoring.followups": {CW: OWN, CO: ORGANISATION},
    "monitoring.close_aftercare": {CW: OWN, CO: ORGANISATION},
    "monitoring.instruments_page": reach(CO),
    "monitoring.overview": reach(CO),
    "monitoring.report": reach(CO),
    "monitoring.report_csv": reach(CO),
    "monitoring.export_page": reach(CO),
    "monitoring.export": reach(CO),
    "monitoring.my_progress": reach(RE),
    "organisation.settings": reach(CO),
    # The safety plan (issue #22): the person's own; their caseworker writes
    # it with them; a coordinator reads it.
    "safety.mine": reach(RE),
    "safety.edit_mine": reach(RE),
    "safety.use": reach(RE),
    "safety.of": {CW: OWN, CO: ORGANISATION},
    "safety.edit_of": {CW: OWN},
    # The risk check (issue #22): recorded by the person's caseworker.
    "risk.of": {CW: OWN, CO: ORGANISATION},
    "risk.record": {CW: OWN},
    # The directory of local services (issue #22): read by everyone of the
    # organisation, kept by caseworkers and coordinators; the "check due"
    # limit and CSV imports are the coordinator's; feedback the returnee's.
    "directory.index": reach(*SIGNED_IN),
    "directory.show": {RE: ORGANISATION, FA: ORGANISATION, CW: ORGANISATION,
                       CO: ORGANISATION},
    "directory.feedback": {RE: ORGANISATION},
    "directory.new": reach(CW, CO),
    "directory.edit": {CW: ORGANISATION, CO: ORGANISATION},
    "directory.checked": {CW: ORGANISATION, CO: ORGANISATION},
    "directory.retire": {CW: ORGANISATION, CO: ORGANISATION},
    "directory.manage": reach(CW, CO),
    "directory.check_due": reach(CW, CO),
    "directory.check_days": reach(CO),
    "directory.export": reach(CW, CO),
    "directory.import_csv": reach(CO),
    # A returnee's own privacy.
    "privacy.choices": reach(RE),
    "privacy.my_data": reach(RE),
    "privacy.my_data_file": reach(RE),
    "privacy.delete": reach(RE),
    "privacy.cancel_delete": reach(RE),
    # Organisations in a network (issue #21). The world's third organisation,
    # a sending one, may hand over to both; Home may hand over to Abroad, and
    # Abroad to Home. A handover "in" is one to the caller's organisation that
    # the person agreed to: its coordinators see and accept it. A handover
    # "out" is one from it: its coordinators and the staff member who proposed
    # it see it; a mere proposal is never seen on the other side. The person
    # withdraws their own agreement.
    "network.index": reach(CW, CO),
    "network.propose": {CW: OWN, CO: ORGANISATION},
    "network.mine": reach(RE),
    "network.withdraw": {RE: OWN},
    "network.incoming": {CO: ORGANISATION},
    "network.accept": {CO: ORGANISATION},
    "network.sent": {CW: OWN, CO: ORGANISATION},
    "network.cancel": {CW: OWN, CO: ORGANISATION},
    # A referral: refered by those who handle the request; the person's own
    # to answer; the partner's staff (any of them) once the person agreed.
    "network.refer": {CW: OWN, CO: ORGANISATION},
    "network.referral": {RE: OWN},
    "network.referral_in": {CW: ORGANISATION, CO: ORGANISATION},
    "network.referral_step": {CW: ORGANISATION, CO: ORGANISATION},
    # Or to a listed service of the directory: the referring side (those who
    # handle the case) records what came of it.
    "network.refer_place": {CW: OWN, CO: ORGANISATION},
    "network.referral_out": {CW: OWN, CO: ORGANISATION},
    "network.referral_outcome": {CW: OWN, CO: ORGANISATION},
    # Bulk intake of people from a CSV file: the coordinators'.
    "network.intake": reach(CO),
    # Recorded voice (issue #23): coordinators and caseworkers record the key
    # phrases; everyone of the organisation hears its recordings, no one else.
    "voice.index": reach(CW, CO),
    "voice.record": reach(CW, CO),
    "voice.remove": reach(CW, CO),
    "voice.clip": {role: ORGANISATION for role in SIGNED_IN},
}

# View arguments that name no object: the same value in every variant.
# Every circle's recording is the same sound (webapp.voice): one file name.
SOUND = b"OggS" + bytes(24) + b"OpusHead" + bytes(40)
FIXED = {"filename": "css/app.css", "dataset": "checkins", "lang": "en",
         "phrase": "checkin.mood", "name": f"{hashlib.sha256(SOUND).hexdigest()}.ogg"}
# Those that do, in the order of the objects a circle has.
OBJECTS = ("user_id", "goal_id", "step_id", "case_id", "alert_id", "group_id", "meeting_id",
           "post_id", "subscription_id", "place_id", "handover_id", "incoming_id", "sent_id",
           "referral_id", "referral_in_id", "referral_out_id", "clip_id")
ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


# --- The world ---------------------------------------------------------------------

def _staff(session: Session, org: Organisation, role: Role, name: str) -> User:
    user = User(organisation_id=org.id, role=role.value, display_name=name,
                email=f"{name.lower().replace(' ', '.')}@{org.id}.example.org",
                password_hash=hash_secret(STAFF_PASSWORD), totp_secret=pyotp.random_base32(),
                locale="en")
    session.add(user)
    session.flush()
    return user


def _device(session: Session, user: User) -> int:
    sub = PushSubscription(user_id=user.id, endpoint=f"https://push.example.org/{user.id}",
                           p256dh="k", auth="a")
    session.add(sub)
    session.flush()
    return sub.id


def _circle(session: Session, org: Organisation, caseworker: User, facilitator: User,
            name: str) -> tuple[dict[str, int], str]:
    """A returnee and their objects: ({view argument: id}, activation code)."""
    issued = people.create_returnee(session, organisation=org, created_by=None, display_name=name,
                                    locale="en", caseworker=caseworker)
    person = issued.user
    goal = plan.add_goal(session, person, person, area="work", title="Find work")
    step = plan.add_step(session, person, goal, text="Write down what I can do")
    case = support.create_request(session, person, category="work", contact_way="app")
    alert = session.scalars(select(Alert).where(Alert.returnee_id == person.id)).one()
    group = PeerGroup(organisation_id=org.id, name=f"{name}'s group", language="en",
                      meeting_place="Community hall", checkin_period_days=7)
    session.add(group)
    session.flush()
    session.add_all([
        GroupFacilitator(organisation_id=org.id, group_id=group.id, user_id=facilitator.id),
        GroupMember(organisation_id=org.id, group_id=group.id, user_id=person.id),
    ])
    session.flush()
    meeting = groups.schedule_meeting(session, group, facilitator,
                                      local_start=datetime.now() + timedelta(days=7),
                                      place="", topic_key=None, topic_text="Welcome")
    post = groups.add_post(session, group, person, "Hello, everyone")
    place = directory.add_place(session, caseworker, directory.PlaceData(
        kind="pharmacy", name=f"Pharmacy {org.id}", town="Freetown"))
    phrase = "checkin.mood" if name.startswith("Amina") else "checkin.safe"  # one per circle
    clip = voice.save(session, caseworker, "en", phrase, SOUND)
    return {"user_id": person.id, "goal_id": goal.id, "step_id": step.id, "case_id": case.id,
            "alert_id": alert.id, "group_id": group.id, "meeting_id": meeting.id,
            "post_id": post.id, "subscription_id": _device(session, person),
            "place_id": place.id, "clip_id": clip.id}, issued.code


@dataclass
class Partner:
    """One partner organisation of the world: its people by role, "mine" and "other"."""
    people: dict[str, User]
    code: str  # the activation code of "mine"'s returnee
    mine: dict[str, int]
    other: dict[str, int]
    hidden_post: int
    devices: dict[int, int] = field(default_factory=dict)  # user id: their device


def _partner(session: Session, name: str) -> Partner:
    org = new_org(session, name=name)
    staff = {role: _staff(session, org, Role(role), f"{role.title()} {name}") for role in STAFF}
    mine, code = _circle(session, org, staff[CW], staff[FA], f"Amina {name}")
    other, _ = _circle(session, org,
                       _staff(session, org, Role.CASEWORKER, f"Other caseworker {name}"),
                       _staff(session, org, Role.FACILITATOR, f"Other facilitator {name}"),
                       f"Bakary {name}")
    hidden = GroupPost(organisation_id=org.id, group_id=mine["group_id"],
                       author_id=other["user_id"], body="Something unkind",
                       hidden_at=utcnow(), hidden_by_id=staff[FA].id)
    session.add(hidden)
    session.flush()
    returnee = session.get(User, mine["user_id"])
    partner = Partner(people={RE: returnee, **staff}, code=code, mine=mine, other=other,
                      hidden_post=hidden.id)
    partner.devices = {user.id: _device(session, user) for user in staff.values()}
    partner.devices[returnee.id] = mine["subscription_id"]
    return partner


def _handover(session: Session, person_id: int, from_org: int, to_org: int, proposer: int,
              status: str) -> int:
    handover = Handover(returnee_id=person_id, from_organisation_id=from_org,
                        to_organisation_id=to_org, proposed_by_id=proposer, status=status,
                        summary={"name": "x", "return_date": None, "goals": []}
                        if status == ACCEPTED else None, accepted_at=utcnow()
                        if status == ACCEPTED else None)
    session.add(handover)
    session.flush()
    return handover.id


def _referral(session: Session, case_id: int, person_id: int, from_org: int, to_org: int,
              status: str) -> int:
    referral = Referral(case_id=case_id, returnee_id=person_id, from_organisation_id=from_org,
                        to_organisation_id=to_org, status=status)
    session.add(referral)
    session.flush()
    return referral.id


def _network(session: Session, home: Partner, abroad: Partner) -> None:
    """A sending organisation related to both; Home and Abroad related both
    ways. Handovers in ("incoming_id": agreed, from the sending one), out
    ("sent_id": proposed, from the partner's own people) and accepted (the
    returnee's own, "handover_id")."""
    sender = new_org(session, name="Sender", country="NL")
    network.set_kind(session, sender, "sending")
    orgs = {}
    for partner in (home, abroad):
        org = session.get_one(Organisation, partner.people[CO].organisation_id)
        orgs[id(partner)] = org
        network.set_kind(session, org, "receiving")
        network.relate(session, sender, org)
    network.relate(session, orgs[id(home)], orgs[id(abroad)])
    network.relate(session, orgs[id(abroad)], orgs[id(home)])
    counsellor = _staff(session, sender, Role.CASEWORKER, "Counsellor")
    for partner, elsewhere in ((home, abroad), (abroad, home)):
        org, other_org = orgs[id(partner)], orgs[id(elsewhere)]
        for circle, proposer in ((partner.mine, partner.people[CW]),
                                 (partner.other, None)):
            arriving = people.create_returnee(session, organisation=sender, created_by=None,
                                              display_name="Arriving", locale="en",
                                              caseworker=counsellor).user
            circle["incoming_id"] = _handover(session, arriving.id, sender.id, org.id,
                                              counsellor.id, AGREED)
            request = support.create_request(session, arriving, category="health",
                                             contact_way="app")
            circle["referral_in_id"] = _referral(session, request.id, arriving.id, sender.id,
                                                 org.id, OPEN_REFERRAL)
            circle["referral_id"] = _referral(session, circle["case_id"], circle["user_id"],
                                              org.id, other_org.id, ASKED)
            to_place = Referral(case_id=circle["case_id"], returnee_id=circle["user_id"],
                                from_organisation_id=org.id, place_id=circle["place_id"],
                                status=OPEN_REFERRAL)
            session.add(to_place)
            session.flush()
            circle["referral_out_id"] = to_place.id
            leaving = people.create_returnee(
                session, organisation=org, created_by=None, display_name="Leaving", locale="en",
                caseworker=proposer or partner.people[CW]).user
            circle["sent_id"] = _handover(
                session, leaving.id, org.id, other_org.id,
                proposer.id if proposer else _staff(session, org, Role.CASEWORKER,
                                                    f"Proposer {org.id}").id, PROPOSED)
            circle["handover_id"] = _handover(session, circle["user_id"], sender.id, org.id,
                                              counsellor.id, ACCEPTED)


@dataclass
class World:
    connection: Connection
    home: Partner
    abroad: Partner
    clients: dict[str, FlaskClient]
    cookies: dict[str, dict[str, str]]

    def values(self, variant: str, role: str, objects: list[str]) -> dict[str, int]:
        """The ids of the URL's objects in this variant, for this caller."""
        mine = dict(self.home.mine)
        if role != ANON:  # a device is the caller's own
            mine["subscription_id"] = self.home.devices[self.home.people[role].id]
        if variant in (MINE, NONE):
            return mine
        if variant == OTHER:
            return dict(self.home.other)
        if variant == ABROAD:
            return dict(self.abroad.mine)
        if variant == MIXED:  # the first object mine, the ones inside it another's
            return {**self.home.other, objects[0]: mine[objects[0]]}
        if variant == HIDDEN:
            return {**mine, "post_id": self.home.hidden_post}
        raise ValueError(variant)

    def ask(self, role: str, method: str, url: str) -> tuple[int, str]:
        """One request as `role`, its changes rolled back after it: the status
        and where it redirects to."""
        client = self.clients[role]
        for name, value in self.cookies[role].items():  # a sign-out cleared them
            client.set_cookie(name, value)
        savepoint = self.connection.begin_nested()
        try:
            with client.open(url, method=method, data={} if method == "POST" else None) as r:
                return r.status_code, r.headers.get("Location", "")
        finally:
            savepoint.rollback()


@pytest.fixture(scope="module")
def world(app):
    db = app.extensions["footing_db"]
    connection = db.engine.connect()
    outer = connection.begin()
    db.bind_override = connection
    session = Session(bind=connection, join_transaction_mode="create_savepoint",
                      expire_on_commit=False)
    try:
        with app.app_context():
            home, abroad = _partner(session, "Home"), _partner(session, "Abroad")
            _network(session, home, abroad)
            session.commit()
        clients = {role: app.test_client() for role in ROLES}
        for role, user in home.people.items():
            if role == RE:
                activate_returnee(Web(clients[role]), home.code, caseworker_may_edit_plan=True)
            else:
                sign_in_staff(Web(clients[role]), user)
        for role in SIGNED_IN:  # else every "allowed" would be the sign-in page
            assert clients[role].get("/home").status_code == 200, role
        cookies = {}
        for role, client in clients.items():
            cookies[role] = {name: c.value for name in (app.config["SESSION_COOKIE_NAME"],
                                                        DEVICE_COOKIE)
                             if (c := client.get_cookie(name)) is not None}
        with pytest.MonkeyPatch.context() as patch:
            patch.setitem(app.config, "WTF_CSRF_ENABLED", False)
            yield World(connection, home, abroad, clients, cookies)
    finally:
        session.close()
        db.bind_override = None
        outer.rollback()
        connection.close()


# --- The tests -------------------------------------------------------------------------

def test_the_table_covers_every_endpoint_and_only_those(app):
    assert_covers_the_url_map(app, EXPECTED, "the access matrix's EXPECTED")


def _variants(objects: list[str]) -> list[str]:
    if not objects:
        return [NONE]
    out = [MINE, OTHER, ABROAD]
    if len(objects) > 1:
        out.append(MIXED)
    if "post_id" in objects:
        out.append(HIDDEN)
    return out


def _url(pattern: str, values: dict) -> str:
    return ARGUMENT.sub(lambda m: str(values[m.group(1)]), pattern)


def _denied(role: str, method: str, status: int, location: str) -> bool:
    if role == ANON:
        return status == 302 and location.endswith("/signin") if method == "GET" else status == 401
    return status == 404


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_access_matrix(app, world, endpoint):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint == endpoint]
    assert rules, f"{endpoint} is not in the app"
    wrong = []
    for rule in rules:
        names = ARGUMENT.findall(rule.rule)
        unknown = [n for n in names if n not in FIXED and n not in OBJECTS]
        assert not unknown, f"{endpoint}: the matrix has no object for {unknown}: add one"
        objects = [n for n in names if n in OBJECTS]
        variants = _variants(objects)
        for role, allowed in EXPECTED[endpoint].items():
            assert allowed <= set(variants), f"EXPECTED[{endpoint!r}][{role!r}]: no such variant"
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for role in ROLES:
                for variant in variants:
                    url = _url(rule.rule, {**FIXED, **world.values(variant, role, objects)})
                    status, location = world.ask(role, method, url)
                    if variant in EXPECTED[endpoint].get(role, ()):
                        if status in (401, 403, 404):
                            wrong.append(f"{role} {method} {url} ({variant}): {status}, "
                                         "should be allowed")
                    elif not _denied(role, method, status, location):
                        wrong.append(f"{role} {method} {url} ({variant}): {status} {location}, "
                                     "should be denied")
    assert not wrong, f"{endpoint}:\n" + "\n".join(wrong)
