"""A returnee's privacy (DESIGN.md §3.6): changing the choices of the consent
later, getting all their information in one file, and deleting the account
(asked by the person, confirmed by their caseworker).

Functions take the session, flush, and raise DomainError; they never commit.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from .. import outbox
from ..alerts import signals
from ..audit import audit
from ..auth.models import DeviceBinding
from ..auth.service import CONSENT_CHOICES, CONSENT_VERSION, latest_choices
from ..checkins.models import CheckIn
from ..checkins.service import stop_sharing
from ..db import get_locked
from ..directory.models import Place, PlaceFeedback
from ..errors import DomainError
from ..groups.models import GroupMember, GroupPost, Meeting, MeetingResponse, PeerGroup
from ..models import Household, Role, User, utcnow
from ..monitoring.models import FollowUp, ReintegrationCheck
from ..network.models import Handover, Referral
from ..people.models import ReportingProfile
from ..plan.models import Goal, GoalComment, PlanChange, Step
from ..plan.service import goal_title
from ..push.models import PushSubscription
from ..risk.models import RiskCheck
from ..safety.models import SafetyPlanUse, SafetyPlanVersion
from ..support.models import Case, CaseMessage
from .erase import erase_person
from .models import AccessLedgerEntry, ConsentRecord

log = logging.getLogger(__name__)
EXPORT_FORMAT = "footing-my-data/1"


# --- Consent ----------------------------------------------------------------------

def consent_history(session: Session, user: User) -> list[ConsentRecord]:
    """Every consent record of the person, newest first (activation is the last)."""
    return list(session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user.id)
                                .order_by(ConsentRecord.id.desc())))


def change_consent(session: Session, user: User, choices: dict[str, bool],
                   locale: str) -> ConsentRecord | None:
    """Record new choices as a new consent record (the earlier ones are kept).
    Nothing is stored when nothing changed (a second tap, a page sent twice).

    No longer sharing with the group also stops showing the check-ins shared
    before: the person took the group's view back."""
    if user.role != Role.RETURNEE.value:
        raise DomainError(_l("Only returnees have these choices."))
    # One change at a time per person: two tabs sending the same change store it once.
    get_locked(session, User, user.id)
    before = latest_choices(session, user)
    after = {key: bool(choices.get(key)) for key in CONSENT_CHOICES}
    if after == before:
        return None
    record = ConsentRecord(user_id=user.id, version=CONSENT_VERSION, locale=locale,
                           choices=after)
    session.add(record)
    if before["share_with_group"] and not after["share_with_group"]:
        stop_sharing(session, user)
    session.flush()
    return record


# --- Delete my account ---------------------------------------------------------------

def request_deletion(session: Session, me: User) -> bool:
    """The person asks to delete their account; their caseworker is alerted
    and confirms (so nobody else on a shared phone can delete it for them
    unseen). False when they had asked already: nothing is raised twice."""
    if me.role != Role.RETURNEE.value:
        raise DomainError(_l("Only returnees can ask for this here."))
    me = get_locked(session, User, me.id)
    if me.deletion_requested_at is not None:
        return False
    me.deletion_requested_at = utcnow()
    signals.emit(session, returnee=me, kind="account.deletion_requested",
                 source_type="account", source_id=me.id)
    return True


def cancel_deletion(session: Session, me: User) -> None:
    me = get_locked(session, User, me.id)
    me.deletion_requested_at = None


def delete_account(session: Session, actor: User, person: User) -> dict[str, int]:
    """Delete everything of a returnee who asked for it (see `erase`). Their
    `users` row stays, emptied and disabled, so the audit trail's ids still
    name one (now anonymous) account; the trail records who deleted it."""
    person = get_locked(session, User, person.id)
    if person.role != Role.RETURNEE.value or person.deleted_at is not None:
        raise DomainError(_l("This account cannot be deleted here."))
    if person.deletion_requested_at is None:
        raise DomainError(_l("The person has not asked to delete their account."))
    deleted = _empty_account(session, person)
    audit(session, actor, "account.delete", person, person.organisation_id)
    session.flush()
    outbox.after_commit("privacy.erase_again")
    return deleted


def delete_again(session: Session, user_id: int) -> dict[str, int]:
    """Delete once more an account deleted after the backup that was just
    restored: the restore brought it back (`flask delete-again`; the ids are
    in the log lines `account.delete user=ID`). The request and the
    caseworker's confirmation happened before; the trail records no actor.
    An account the backup already has as deleted only loses what was stored
    for it later, if anything."""
    person = get_locked(session, User, user_id)
    if person is None or person.role != Role.RETURNEE.value:
        raise DomainError(_l("This account cannot be deleted here."))
    if person.deleted_at is not None:
        return erase_person(session, person.id)
    deleted = _empty_account(session, person)
    audit(session, None, "account.delete", person, person.organisation_id)
    session.flush()
    return deleted


def _empty_account(session: Session, person: User) -> dict[str, int]:
    household_id = person.household_id
    deleted = erase_person(session, person.id)
    now = utcnow()
    person.display_name = ""
    for secret_or_personal in ("email", "password_hash", "totp_secret", "pin_hash", "locale",
                               "household_id", "return_date"):
        setattr(person, secret_or_personal, None)
    person.session_epoch += 1
    person.disabled_at = person.disabled_at or now
    person.deleted_at = now
    session.flush()
    if household_id is not None and session.scalar(
            select(User.id).where(User.household_id == household_id).limit(1)) is None:
        session.execute(delete(Household).where(Household.id == household_id))
    return deleted


def erase_late_arrivals(session: Session, deleted_since: datetime) -> dict[int, dict[str, int]]:
    """Erase again what was stored for an account after its deletion: a
    request whose sign-in was checked a moment before the deletion committed
    (a phone's offline queue sending a check-in just then) still stores its
    rows. The worker runs this a minute after each deletion and every quarter
    of an hour for the accounts deleted in the last day. Returns the rows
    erased per account and table."""
    erased = {}
    for user_id in session.scalars(select(User.id).where(User.deleted_at >= deleted_since)):
        rows = erase_person(session, user_id)
        if rows:
            erased[user_id] = rows
            log.warning("erased rows stored after account %s was deleted: %s", user_id,
                        ", ".join(f"{table} {n}" for table, n in sorted(rows.items())))
    return erased


# --- Who looked ---------------------------------------------------------------------

LEDGER_SHOWN = 100


def ledger(session: Session, me: User) -> tuple[list[AccessLedgerEntry], dict[int, User]]:
    """The latest staff views of the person's file, newest first, and the
    viewers' accounts by id."""
    entries = list(session.scalars(select(AccessLedgerEntry)
                                   .where(AccessLedgerEntry.subject_id == me.id)
                                   .order_by(AccessLedgerEntry.at.desc()).limit(LEDGER_SHOWN)))
    viewers = {u.id: u for u in session.scalars(
        select(User).where(User.id.in_({e.viewer_id for e in entries})))}
    return entries, viewers


# --- Export my data -----------------------------------------------------------------

def _value(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(obj: Any, *fields: str, **extra: Any) -> dict[str, Any]:
    return {**{f: _value(getattr(obj, f)) for f in fields},
            **{k: _value(v) for k, v in extra.items()}}


def _grouped(rows, key: Callable[[Any], Any]) -> dict[Any, list]:
    """Rows by the id of what they belong to (steps by goal, ...), in order."""
    out: dict[Any, list] = defaultdict(list)
    for row in rows:
        out[key(row)].append(row)
    return out


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    """Display names of the people named in the file (staff who wrote to the
    person, group members): what the person already sees in the app."""
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def _account(session: Session, me: User) -> dict[str, Any]:
    household = session.get(Household, me.household_id) if me.household_id else None
    return _row(me, "display_name", "locale", "return_date", "created_at",
                organisation=me.organisation.name,
                household=household.label if household else None)


def _consent(session: Session, me: User) -> list[dict[str, Any]]:
    return [_row(r, "created_at", "version", "locale", "choices")
            for r in reversed(consent_history(session, me))]


def _checkins(session: Session, me: User) -> list[dict[str, Any]]:
    rows = session.scalars(select(CheckIn).where(CheckIn.user_id == me.id).order_by(CheckIn.id))
    return [_row(c, "created_at", "mood", "income", "shelter", "medicine", "safe", "someone",
                 "note", "share_with_group") for c in rows]


def _plan(session: Session, me: User) -> list[dict[str, Any]]:
    goals = list(session.scalars(select(Goal).where(Goal.returnee_id == me.id).order_by(Goal.id)))
    ids = [g.id for g in goals]
    steps = session.scalars(select(Step).where(Step.goal_id.in_(ids)).order_by(Step.id)).all()
    comments = session.scalars(select(GoalComment).where(GoalComment.goal_id.in_(ids))
                               .order_by(GoalComment.id)).all()
    changes = session.scalars(select(PlanChange).where(PlanChange.returnee_id == me.id)
                              .order_by(PlanChange.id)).all()
    names = _names(session, {c.author_id for c in comments} | {c.actor_id for c in changes})
    steps_of, comments_of, changes_of = (_grouped(rows, attrgetter("goal_id"))
                                         for rows in (steps, comments, changes))
    return [_row(
        g, "area", "why", "status", "state", "target_date", "support_needed", "budget_needed",
        "budget_own", "budget_asked", "budget_granted", "created_at", title=goal_title(g),
        steps=[_row(s, "text", "target_date", "support_needed", "done_at", "created_at")
               for s in steps_of[g.id]],
        comments=[_row(c, "created_at", "body", author=names.get(c.author_id))
                  for c in comments_of[g.id]],
        history=[_row(c, "at", "field", "before", "after", by=names.get(c.actor_id))
                 for c in changes_of[g.id]],
    ) for g in goals]


def _cases(session: Session, me: User) -> list[dict[str, Any]]:
    """Requests and reports with the messages the person sees in the app (not
    the notes staff write for each other)."""
    cases = list(session.scalars(select(Case).where(Case.returnee_id == me.id).order_by(Case.id)))
    messages = session.scalars(select(CaseMessage).where(
        CaseMessage.case_id.in_([c.id for c in cases]), CaseMessage.internal.is_(False)
    ).order_by(CaseMessage.id)).all()
    names = _names(session, {m.author_id for m in messages})
    by_case = _grouped(messages, attrgetter("case_id"))
    return [_row(c, "type", "category", "contact_way", "kind", "sub_type", "urgency",
                 "medicine_name", "text", "callback_phone", "district", "status", "outcome",
                 "created_at", "updated_at",
                 messages=[_row(m, "created_at", "body", author=names.get(m.author_id))
                           for m in by_case[c.id]])
            for c in cases]


def _groups(session: Session, me: User) -> list[dict[str, Any]]:
    rows = session.execute(select(GroupMember, PeerGroup).join(
        PeerGroup, PeerGroup.id == GroupMember.group_id).where(GroupMember.user_id == me.id)
        .order_by(GroupMember.id)).all()
    posts = session.scalars(select(GroupPost).where(GroupPost.author_id == me.id)
                            .order_by(GroupPost.id)).all()
    answers = session.execute(select(MeetingResponse, Meeting).join(
        Meeting, Meeting.id == MeetingResponse.meeting_id).where(MeetingResponse.user_id == me.id)
        .order_by(Meeting.starts_at)).all()
    names = _names(session, {m.buddy_id for m, _g in rows if m.buddy_id})
    posts_in = _grouped(posts, attrgetter("group_id"))
    answers_in = _grouped(answers, lambda answer_and_meeting: answer_and_meeting[1].group_id)
    return [_row(group, "name", "language", joined_at=member.created_at,
                 buddy=names.get(member.buddy_id) if member.buddy_id else None,
                 my_posts=[_row(p, "created_at", "body", hidden=p.hidden_at is not None)
                           for p in posts_in[group.id]],
                 my_meeting_answers=[_row(a, "coming", "attended", meeting=m.starts_at)
                                     for a, m in answers_in[group.id]])
            for member, group in rows]


def _followups(session: Session, me: User) -> list[dict[str, Any]]:
    """Follow-ups and scores as "My progress" shows them (a staff member's
    follow-up note is written for the team, as the case notes are)."""
    followups = session.scalars(select(FollowUp).where(FollowUp.returnee_id == me.id)
                                .order_by(FollowUp.month)).all()
    checks = session.scalars(select(ReintegrationCheck).where(
        ReintegrationCheck.returnee_id == me.id).order_by(ReintegrationCheck.id)).all()
    return [_row(f, "month", "due_on", "done_at", "contact", "outcome") for f in followups] + [
        _row(c, "created_at", "instrument_id", "instrument_version", "answers", "economic",
             "social", "psychosocial", "composite") for c in checks]


def _safety_plan(session: Session, me: User) -> list[dict[str, Any]]:
    """Every version of the safety plan, and each time the person said "I need
    to use it" (issue #22)."""
    plans = session.scalars(select(SafetyPlanVersion).where(
        SafetyPlanVersion.returnee_id == me.id).order_by(SafetyPlanVersion.version)).all()
    uses = session.scalars(select(SafetyPlanUse).where(SafetyPlanUse.returnee_id == me.id)
                           .order_by(SafetyPlanUse.id)).all()
    names = _names(session, {p.written_by_id for p in plans if p.written_by_id})
    return [_row(p, "version", "created_at", "warning_signs", "contacts", "safe_places",
                 "what_to_do", "place_ids", written_by=names.get(p.written_by_id or 0))
            for p in plans] + [_row(u, "created_at", said="I need to use it") for u in uses]


def _places_said(session: Session, me: User) -> list[dict[str, Any]]:
    rows = session.execute(select(PlaceFeedback, Place.name).join(
        Place, Place.id == PlaceFeedback.place_id).where(PlaceFeedback.returnee_id == me.id)
        .order_by(PlaceFeedback.id)).all()
    return [_row(f, "created_at", "outcome", place=name) for f, name in rows]


def _reporting(session: Session, me: User) -> list[dict[str, Any]]:
    """The details for reports staff keep with the person's agreement."""
    rows = session.scalars(select(ReportingProfile).where(ReportingProfile.returnee_id == me.id))
    return [_row(p, "sex", "age_band", "country", "return_kind", "household_size",
                 "consented_at", "updated_at") for p in rows]


def _risk_checks(session: Session, me: User) -> list[dict[str, Any]]:
    rows = session.scalars(select(RiskCheck).where(RiskCheck.returnee_id == me.id)
                           .order_by(RiskCheck.id)).all()
    return [_row(r, "created_at", "phase", "instrument_id", "instrument_version", "answers",
                 "levels") for r in rows]


def _who_looked(session: Session, me: User) -> list[dict[str, Any]]:
    entries = session.scalars(select(AccessLedgerEntry).where(AccessLedgerEntry.subject_id == me.id)
                              .order_by(AccessLedgerEntry.id)).all()
    names = _names(session, {e.viewer_id for e in entries})
    return [_row(e, "at", "what", who=names.get(e.viewer_id)) for e in entries]


def _devices(session: Session, me: User) -> list[dict[str, Any]]:
    """Phones bound to the account and those that get notifications; never
    their secrets or push addresses."""
    bindings = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == me.id)
                               .order_by(DeviceBinding.id)).all()
    pushes = session.scalars(select(PushSubscription).where(PushSubscription.user_id == me.id)
                             .order_by(PushSubscription.id)).all()
    return ([_row(b, "label", "created_at", "last_signin_at", "locked_at", "revoked_at",
                  kind="signed-in phone") for b in bindings]
            + [_row(p, "label", "created_at", kind="notifications") for p in pushes])


HANDOVER_WORDS = {
    "proposed": _l("Proposed: waiting for your answer"),
    "agreed": _l("You agreed: waiting for the new organisation"),
    "refused": _l("You said no: nothing was sent"),
    "accepted": _l("Done: the new organisation follows you"),
    "cancelled": _l("Taken back before it happened"),
}
REFERRAL_WORDS = {
    "asked": _l("waiting for your answer"),
    "refused": _l("you said no: nothing was sent"),
    "open": _l("you agreed"),
    "accepted": _l("the partner takes it on"),
    "declined": _l("the partner cannot take it on"),
    "done": _l("done"),
}
PLACE_OUTCOME_WORDS = {
    "reached": _l("Reached: they are in touch with the place"),
    "helped": _l("Helped"),
    "not_helped": _l("Not helped"),
    "could_not_reach": _l("Could not reach the place"),
}


def _handovers(session: Session, me: User) -> list[dict[str, Any]]:
    """Each time a handover of the person's case was proposed: to whom, when,
    what moved (or would have), and their answer; whether the sending side
    still sees a summary."""
    rows = session.scalars(select(Handover).options(
        joinedload(Handover.from_organisation), joinedload(Handover.to_organisation))
        .where(Handover.returnee_id == me.id).order_by(Handover.proposed_at, Handover.id)).all()
    out = []
    for h in rows:
        moved = []  # only an accepted handover moved anything
        if h.status == "accepted":
            moved = [str(_l("your plan")), str(_l("your follow-ups"))]
            if h.share_history:
                moved.append(str(_l("your requests and check-ins")))
            if h.open_requests:
                moved.append(str(_l("open requests: %(num)d", num=len(h.open_requests))))
        keeps = None
        if h.status == "accepted":
            keeps = (str(_l("nothing: you withdrew your agreement")) if h.withdrawn_at
                     else str(_l("a short summary, and your follow-ups' dates"))
                     if h.share_milestones else str(_l("a short summary")))
        out.append(_row(h, "proposed_at", "answered_at", "accepted_at", "withdrawn_at",
                        from_organisation=h.from_organisation.name,
                        to_organisation=h.to_organisation.name,
                        status=str(HANDOVER_WORDS.get(h.status, h.status)),
                        what_moved=moved, sending_side_still_sees=keeps))
    return out


def _referrals(session: Session, me: User) -> list[dict[str, Any]]:
    """The person's requests referred to a partner organisation or a listed
    service, with what became of them."""
    rows = session.scalars(select(Referral).options(
        joinedload(Referral.place), joinedload(Referral.to_organisation))
        .where(Referral.returnee_id == me.id).order_by(Referral.created_at, Referral.id)).all()
    return [_row(r, "created_at", "updated_at",
                 to=r.place.name if r.place else
                 r.to_organisation.name if r.to_organisation else None,
                 listed_service=r.place_id is not None,
                 status=str(REFERRAL_WORDS.get(r.status, r.status)),
                 what_came_of_it=str(PLACE_OUTCOME_WORDS[r.outcome_kind])
                 if r.outcome_kind in PLACE_OUTCOME_WORDS else None,
                 why=r.reason or None, note=r.outcome or None)
            for r in rows]


# Section key (in the file) -> (what the page calls it, how it is read).
SECTIONS: dict[str, tuple[Any, Callable[[Session, User], Any]]] = {
    "consent": (_l("Your choices, each time you made them"), _consent),
    "plan": (_l("Goals in your plan"), _plan),
    "check_ins": (_l("Check-ins"), _checkins),
    "requests_and_reports": (_l("Requests and reports"), _cases),
    "groups": (_l("Peer groups"), _groups),
    "follow_ups": (_l("Follow-ups and scores"), _followups),
    "safety_plan": (_l("Your safety plan"), _safety_plan),
    "places": (_l("What you said about places"), _places_said),
    "details_for_reports": (_l("Details for reports"), _reporting),
    "risk_checks": (_l("Risk check"), _risk_checks),
    "handovers": (_l("Handovers of your case to another organisation"), _handovers),
    "referrals": (_l("Your requests referred to a partner or a service"), _referrals),
    "who_looked": (_l("Who looked at your information"), _who_looked),
    "devices": (_l("Phones"), _devices),
}


def my_data(session: Session, me: User) -> dict[str, Any]:
    """All of the person's information Footing keeps, as one JSON-ready dict."""
    if me.role != Role.RETURNEE.value:
        raise DomainError(_l("Only returnees can download their information here."))
    return {"format": EXPORT_FORMAT, "exported_at": utcnow().isoformat(),
            "account": _account(session, me),
            **{key: read(session, me) for key, (_label, read) in SECTIONS.items()}}
