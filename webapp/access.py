"""The access policy: who may reach each endpoint, declared in one place.

Every endpoint in `app.url_map` must have an entry in `POLICY` (a test enforces
it); an endpoint without one answers 404 for everybody. A rule names the roles
that may call the endpoint and, where the URL names an object, the scope it
must be in for the caller; where the URL names more than one (a meeting of a
group), each further one is found inside the one before (`nested`), so no
route looks up an id itself (a test enforces that too). Anything outside the
caller's scope answers 404, exactly as if it did not exist.

A view reads what the rule found: `g.scoped` is the object of `scope`,
`g.nested[name]` the object of each nested scope, by its name in `NESTED`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, g, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from htmx_flask import request  # Flask's request, typed with its .htmx
from sqlalchemy import insert, inspect
from sqlalchemy.orm import Session

from .alerts import service as alerts
from .db import db_session, get_locked, route_begins
from .directory import service as directory
from .groups import service as groups
from .models import Role, User, utcnow
from .network import service as network
from .people import service as people
from .plan import service as plan
from .privacy.models import AccessLedgerEntry
from .push import service as push
from .support import service as support
from .voice import service as voice

log = logging.getLogger(__name__)

RETURNEE = Role.RETURNEE
FACILITATOR = Role.FACILITATOR
CASEWORKER = Role.CASEWORKER
COORDINATOR = Role.COORDINATOR
STAFF = frozenset({FACILITATOR, CASEWORKER, COORDINATOR})
EVERYONE = frozenset(Role)


@dataclass(frozen=True)
class Rule:
    """`roles` None means public (no sign-in needed)."""

    roles: frozenset[Role] | None
    scope: str | None = None  # key of SCOPES, applied to the view argument `arg`
    arg: str = "user_id"
    # (key of NESTED, view argument) pairs, each found inside the object before
    # it: the scope's first, e.g. (("meeting", "meeting_id"),) within a group.
    nested: tuple[tuple[str, str], ...] = ()
    ledger: str | None = None  # a staff view is written to the access ledger as this


def public() -> Rule:
    return Rule(roles=None)


def signed_in(*roles: Role | frozenset[Role], scope: str | None = None,
              arg: str = "user_id", nested: tuple[tuple[str, str], ...] = (),
              ledger: str | None = None) -> Rule:
    if nested and scope is None:
        raise ValueError("a nested scope is found inside the rule's own scope")
    flat: set[Role] = set()
    for r in roles or (EVERYONE,):
        flat |= set(r) if isinstance(r, frozenset) else {r}
    return Rule(roles=frozenset(flat), scope=scope, arg=arg, nested=nested, ledger=ledger)


# The nested objects of a group's pages, each inside the group of the URL.
MEETING = (("meeting", "meeting_id"),)
POST = (("post", "post_id"),)


POLICY: dict[str, Rule] = {
    # Infrastructure and public pages
    "static": public(),
    "main.healthz": public(),
    "main.worker_health": public(),
    "main.manifest": public(),
    "main.service_worker": public(),
    "main.offline": public(),
    "main.language": public(),
    "main.set_language": public(),
    "main.quick_exit": public(),
    "main.index": public(),
    # Sign-in and activation
    "auth.signin": public(),
    "auth.staff_signin": public(),
    "auth.staff_totp": public(),
    "auth.pin_signin": public(),
    "auth.activate": public(),
    "auth.activate_returnee": public(),
    "auth.activate_staff": public(),
    "auth.signout": signed_in(),
    "auth.change_pin": signed_in(RETURNEE),
    "auth.change_password": signed_in(STAFF),
    # Everyone signed in
    "main.home": signed_in(),
    "main.my_ledger": signed_in(RETURNEE),
    # Offline queue (issue #8): this session's CSRF token for a replayed report
    "main.csrf_token": signed_in(),
    # People management
    "people.index": signed_in(CASEWORKER, COORDINATOR),
    "people.new_returnee": signed_in(CASEWORKER, COORDINATOR),
    "people.new_staff": signed_in(COORDINATOR),
    "people.show": signed_in(CASEWORKER, COORDINATOR, scope="person", ledger="profile"),
    "people.profile": signed_in(CASEWORKER, COORDINATOR, scope="person", ledger="profile"),
    "people.reissue": signed_in(CASEWORKER, COORDINATOR, scope="person"),
    "people.assign": signed_in(COORDINATOR, scope="person"),
    "people.disable": signed_in(COORDINATOR, scope="person"),
    "people.delete_account": signed_in(CASEWORKER, COORDINATOR, scope="person"),
    # The future plan (issue #3). The returnee's own plan needs no scope; staff
    # reach a plan through the returnee scope, goals and steps through their own.
    "plan.mine": signed_in(RETURNEE),
    "plan.print_mine": signed_in(RETURNEE),
    "plan.new_goal": signed_in(RETURNEE),
    "plan.of": signed_in(CASEWORKER, COORDINATOR, scope="returnee", ledger="plan"),
    "plan.print_of": signed_in(CASEWORKER, COORDINATOR, scope="returnee", ledger="plan"),
    "plan.suggest": signed_in(CASEWORKER, COORDINATOR, scope="returnee"),
    "plan.goal": signed_in(RETURNEE, CASEWORKER, COORDINATOR, scope="goal", arg="goal_id",
                           ledger="plan"),
    "plan.edit_goal": signed_in(RETURNEE, CASEWORKER, scope="goal", arg="goal_id",
                                ledger="plan"),
    "plan.set_status": signed_in(RETURNEE, CASEWORKER, scope="goal", arg="goal_id"),
    "plan.add_step": signed_in(RETURNEE, CASEWORKER, scope="goal", arg="goal_id"),
    "plan.comment": signed_in(RETURNEE, CASEWORKER, COORDINATOR, scope="goal", arg="goal_id"),
    "plan.answer": signed_in(RETURNEE, scope="goal", arg="goal_id"),
    "plan.tick_step": signed_in(RETURNEE, CASEWORKER, scope="step", arg="step_id"),
    "plan.remove_step": signed_in(RETURNEE, CASEWORKER, scope="step", arg="step_id"),
    "plan.in_plan": signed_in(RETURNEE, CASEWORKER, scope="goal", arg="goal_id"),
    # Alerts (issue #6)
    "alerts.inbox": signed_in(CASEWORKER, COORDINATOR),
    "alerts.show": signed_in(CASEWORKER, COORDINATOR, scope="alert", arg="alert_id",
                             ledger="alert"),
    "alerts.acknowledge": signed_in(CASEWORKER, COORDINATOR, scope="alert", arg="alert_id"),
    "alerts.resolve": signed_in(CASEWORKER, COORDINATOR, scope="alert", arg="alert_id"),
    # Push notifications: every signed-in person, for their own devices
    "push.devices": signed_in(),
    "push.subscribe": signed_in(),
    "push.remove": signed_in(scope="subscription", arg="subscription_id"),
    # Support requests and concerns (issue #5). A case page is a view of the
    # returnee's records: the view writes the ledger entry (the scope resolves
    # to the case, not the person).
    "support.mine": signed_in(RETURNEE),
    "support.ask": signed_in(RETURNEE),
    "support.report": signed_in(RETURNEE),
    "support.help_now": signed_in(RETURNEE),
    # Without the PIN: the device binding says who it is (support.routes).
    "support.help_now_phone": public(),
    "support.received": signed_in(RETURNEE, scope="case", arg="case_id"),
    "support.case": signed_in(RETURNEE, CASEWORKER, COORDINATOR, scope="case", arg="case_id",
                              ledger="support"),
    "support.reply": signed_in(RETURNEE, CASEWORKER, COORDINATOR, scope="case", arg="case_id"),
    "support.note": signed_in(CASEWORKER, COORDINATOR, scope="case", arg="case_id"),
    "support.acknowledge": signed_in(CASEWORKER, COORDINATOR, scope="case", arg="case_id"),
    "support.change_status": signed_in(CASEWORKER, COORDINATOR, scope="case", arg="case_id"),
    "support.reassign": signed_in(COORDINATOR, scope="case", arg="case_id"),
    "support.inbox": signed_in(CASEWORKER, COORDINATOR),
    "support.medicine": signed_in(COORDINATOR),
    # Check-ins and peer groups (issue #4). A group is seen by its members, its
    # facilitators and the organisation's coordinators; only those in it write
    # there; only its facilitators run it.
    "checkins.new": signed_in(RETURNEE),
    "checkins.history": signed_in(RETURNEE),
    "groups.index": signed_in(RETURNEE, FACILITATOR, COORDINATOR),
    "groups.new": signed_in(COORDINATOR),
    # A group's page (its board, the check-ins shared with it) and its overview
    # show the members' own words: a staff view is in each member's ledger.
    "groups.show": signed_in(RETURNEE, FACILITATOR, COORDINATOR, scope="group", arg="group_id",
                             ledger="group"),
    "groups.appoint": signed_in(COORDINATOR, scope="group", arg="group_id"),
    "groups.manage": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    "groups.settings": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    "groups.add_member": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    "groups.remove_member": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    "groups.buddies": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    "groups.post": signed_in(RETURNEE, FACILITATOR, scope="group_in", arg="group_id"),
    "groups.hide_post": signed_in(FACILITATOR, scope="group_led", arg="group_id", nested=POST),
    "groups.report_post": signed_in(RETURNEE, FACILITATOR, scope="group_in", arg="group_id",
                                    nested=POST),
    "groups.new_meeting": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    "groups.meeting": signed_in(RETURNEE, FACILITATOR, COORDINATOR, scope="group",
                                arg="group_id", nested=MEETING),
    "groups.rsvp": signed_in(RETURNEE, scope="group_in", arg="group_id", nested=MEETING),
    "groups.attendance": signed_in(FACILITATOR, scope="group_led", arg="group_id",
                                   nested=MEETING),
    "groups.cancel_meeting": signed_in(FACILITATOR, scope="group_led", arg="group_id",
                                       nested=MEETING),
    "groups.overview": signed_in(FACILITATOR, scope="group_led", arg="group_id", ledger="group"),
    "groups.raise_member": signed_in(FACILITATOR, scope="group_led", arg="group_id"),
    # Aftercare monitoring (issue #7). Staff reach a returnee's timeline and
    # follow-ups through the returnee scope (their caseworker, a coordinator);
    # the overview and the export are the coordinator's.
    "monitoring.caseload": signed_in(CASEWORKER, COORDINATOR),
    "monitoring.due": signed_in(CASEWORKER, COORDINATOR),
    "monitoring.timeline": signed_in(CASEWORKER, COORDINATOR, scope="returnee",
                                     ledger="timeline"),
    "monitoring.followups": signed_in(CASEWORKER, COORDINATOR, scope="returnee",
                                      ledger="followups"),
    "monitoring.close_aftercare": signed_in(CASEWORKER, COORDINATOR, scope="returnee"),
    "monitoring.instruments_page": signed_in(COORDINATOR),
    "monitoring.overview": signed_in(COORDINATOR),
    "monitoring.report": signed_in(COORDINATOR),
    "monitoring.report_csv": signed_in(COORDINATOR),
    "monitoring.export_page": signed_in(COORDINATOR),
    "monitoring.export": signed_in(COORDINATOR),
    "monitoring.my_progress": signed_in(RETURNEE),
    # The directory of local services (issue #22): not personal, read by
    # everyone of the organisation; kept by caseworkers and coordinators; the
    # limit of "check due" and CSV imports are the coordinator's.
    "directory.index": signed_in(),
    "directory.show": signed_in(scope="place", arg="place_id"),
    "directory.feedback": signed_in(RETURNEE, scope="place", arg="place_id"),
    "directory.new": signed_in(CASEWORKER, COORDINATOR),
    "directory.edit": signed_in(CASEWORKER, COORDINATOR, scope="place", arg="place_id"),
    "directory.checked": signed_in(CASEWORKER, COORDINATOR, scope="place", arg="place_id"),
    "directory.retire": signed_in(CASEWORKER, COORDINATOR, scope="place", arg="place_id"),
    "directory.manage": signed_in(CASEWORKER, COORDINATOR),
    "directory.check_due": signed_in(CASEWORKER, COORDINATOR),
    "directory.check_days": signed_in(COORDINATOR),
    "directory.export": signed_in(CASEWORKER, COORDINATOR),
    "directory.import_csv": signed_in(COORDINATOR),
    # The safety plan made together (issue #22): the person's own; their
    # caseworker writes it with them, a coordinator reads it.
    "safety.mine": signed_in(RETURNEE),
    "safety.edit_mine": signed_in(RETURNEE),
    "safety.use": signed_in(RETURNEE),
    "safety.of": signed_in(CASEWORKER, COORDINATOR, scope="returnee", ledger="safety_plan"),
    "safety.edit_of": signed_in(CASEWORKER, scope="returnee"),
    # The risk check before and after return (issue #22): the caseworker
    # records it with the person; a coordinator reads it.
    "risk.of": signed_in(CASEWORKER, COORDINATOR, scope="returnee", ledger="risk"),
    "risk.record": signed_in(CASEWORKER, scope="returnee"),
    # The organisation's own settings
    "organisation.settings": signed_in(COORDINATOR),
    # A returnee's privacy: their own choices and their own information only.
    "privacy.choices": signed_in(RETURNEE),
    "privacy.my_data": signed_in(RETURNEE),
    "privacy.my_data_file": signed_in(RETURNEE),
    "privacy.delete": signed_in(RETURNEE),
    "privacy.cancel_delete": signed_in(RETURNEE),
    # Organisations in a network (issue #21). A proposal is seen by the sending
    # side only; the receiving coordinators see a handover once the person
    # agreed; the person answers and withdraws on their own page.
    "network.index": signed_in(CASEWORKER, COORDINATOR),
    "network.propose": signed_in(CASEWORKER, COORDINATOR, scope="returnee"),
    "network.mine": signed_in(RETURNEE),
    "network.withdraw": signed_in(RETURNEE, scope="own_handover", arg="handover_id"),
    "network.incoming": signed_in(COORDINATOR, scope="handover_in", arg="incoming_id",
                                  ledger="handover"),
    "network.accept": signed_in(COORDINATOR, scope="handover_in", arg="incoming_id"),
    "network.sent": signed_in(CASEWORKER, COORDINATOR, scope="handover_out",
                              arg="sent_id", ledger="handover_summary"),
    "network.cancel": signed_in(CASEWORKER, COORDINATOR, scope="handover_out",
                                arg="sent_id"),
    # A support request referred to a partner: by those who handle the case;
    # the person agrees first; then the partner's staff see and answer it.
    "network.refer": signed_in(CASEWORKER, COORDINATOR, scope="case", arg="case_id"),
    "network.referral": signed_in(RETURNEE, scope="own_referral", arg="referral_id"),
    "network.referral_in": signed_in(CASEWORKER, COORDINATOR, scope="referral_in",
                                     arg="referral_in_id", ledger="referral"),
    "network.referral_step": signed_in(CASEWORKER, COORDINATOR, scope="referral_in",
                                       arg="referral_in_id"),
    # Or to a listed service of the directory: the referring side records what
    # came of it (no other side in Footing).
    "network.refer_place": signed_in(CASEWORKER, COORDINATOR, scope="case", arg="case_id"),
    "network.referral_out": signed_in(CASEWORKER, COORDINATOR, scope="referral_out",
                                      arg="referral_out_id", ledger="referral"),
    "network.referral_outcome": signed_in(CASEWORKER, COORDINATOR, scope="referral_out",
                                          arg="referral_out_id"),
    "network.intake": signed_in(COORDINATOR),
    # Recorded voice (issue #23): coordinators and caseworkers record the key
    # phrases; every member of the organisation hears them (the sound is the
    # organisation's, not personal; never another organisation's).
    "voice.index": signed_in(CASEWORKER, COORDINATOR),
    "voice.record": signed_in(CASEWORKER, COORDINATOR),
    "voice.remove": signed_in(CASEWORKER, COORDINATOR),
    "voice.clip": signed_in(scope="recording", arg="clip_id"),
}


# --- Scopes -----------------------------------------------------------------
# Each area answers "may this viewer reach this object?" in its own service;
# None means no, and the route answers 404.

SCOPES: dict[str, Callable[[Session, User, int], object | None]] = {
    "person": people.visible_person,
    "returnee": people.visible_returnee,
    "goal": plan.visible_goal,
    "step": plan.visible_step,
    "alert": alerts.visible_alert,
    "case": support.visible_case,
    "group": groups.visible_group,
    "group_in": groups.group_in,
    "group_led": groups.group_led,
    "subscription": push.own_subscription,
    "place": directory.visible_place,
    "handover_in": network.handover_in,
    "handover_out": network.handover_out,
    "own_handover": network.own_handover,
    "own_referral": network.own_referral,
    "referral_in": network.referral_in,
    "referral_out": network.referral_out,
    "recording": voice.visible_recording,
}

# Nested scopes answer "is this object inside that one, for this viewer?"; the
# outer object has passed its own scope already.
NESTED: dict[str, Callable[[Session, User, Any, int], object | None]] = {
    "meeting": groups.meeting_of,
    "post": groups.post_of,
}


def record_views(session: Session, viewer: User, subjects: list[User], what: str) -> None:
    """A staff member's view of these people's records, one ledger entry each,
    written in one statement (a group of any size)."""
    rows = [{"organisation_id": viewer.organisation_id, "viewer_id": viewer.id,
             "subject_id": subject.id, "what": what, "at": utcnow()}
            for subject in subjects if subject.role == RETURNEE.value]
    if viewer.is_staff and rows:
        session.execute(insert(AccessLedgerEntry), rows)


def enforce() -> ResponseReturnValue | None:
    """before_request hook: apply the endpoint's rule."""
    endpoint = request.endpoint
    if endpoint is None:  # no route matched: the 404 handler answers
        return None
    rule = POLICY.get(endpoint)
    if rule is None:
        log.error("endpoint %s has no access policy; denied", endpoint)
        abort(404)
    if rule.roles is None:
        route_begins()
        return None
    if not current_user.is_authenticated:
        if request.method in ("GET", "HEAD") and not request.htmx:
            return redirect(url_for("auth.signin"))
        abort(401)
    viewer: User = current_user._get_current_object()
    route_begins()  # who is asking is known; the scope is already the route's own work
    if viewer.role_enum not in rule.roles:
        abort(404)
    if rule.scope is not None:
        session = db_session()
        target = _reached(SCOPES[rule.scope](session, viewer, _id(rule.arg)))
        g.scoped, g.nested = target, {}
        outer = target
        for name, arg in rule.nested:
            outer = g.nested[name] = _reached(NESTED[name](session, viewer, outer, _id(arg)))
        if rule.ledger and request.method == "GET":
            record_views(session, viewer, _subjects(session, rule.scope, target), rule.ledger)
    return None


# Scopes whose object is not one person's: whose information their pages show.
SUBJECTS: dict[str, Callable[[Session, Any], list[User]]] = {
    "group": groups.member_users,
    "group_led": groups.member_users,
}


def _subjects(session: Session, scope: str, target: object) -> list[User]:
    """The people whose record a page of `target` is: the target itself, its
    `returnee`, or (a group) its members."""
    if scope in SUBJECTS:
        return SUBJECTS[scope](session, target)
    subject = target if isinstance(target, User) else getattr(target, "returnee", None)
    return [subject] if isinstance(subject, User) else []


def _id(arg: str) -> int:
    """The id in the view argument `arg`; a URL without it names nothing (404)."""
    raw = (request.view_args or {}).get(arg)
    if raw is None:
        abort(404)
    return int(raw)


def _reached(target: object | None) -> object:
    """What a scope found, locked on a post; 404 when it found nothing."""
    if target is None:
        abort(404)
    if request.method not in ("GET", "HEAD"):
        # What a post changes is changed by one request at a time: two
        # caseworkers closing one alert at once, the second is told it is
        # closed instead of overwriting the first one's note.
        get_locked(db_session(), type(target), inspect(target).identity)
    return target
