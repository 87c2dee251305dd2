"""Organisations in a network (issue #21): relations, the preparation phase and
the handover of a person's case with their consent.

Nothing of a person crosses to another organisation without a handover they
agreed to: a proposal shows the receiving side nothing; a refused one leaves
nothing there; only an agreed one is seen by the receiving coordinator, and
only once they accept it do the person's rows move. What moves is named here
(`MOVES`, `HISTORY`); every other row of the person stays behind, and so do the
sending side's staff notes.

Functions take the session, flush, and raise DomainError; they never commit.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import force_locale, lazy_gettext as _l
from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session, joinedload

from ..alerts import signals
from ..alerts.models import Alert
from ..audit import audit
from ..db import get_locked
from ..directory.models import Place
from ..errors import DomainError
from ..groups import service as groups
from ..groups.models import GroupMember, PeerGroup
from ..models import Organisation, Role, User, utcnow
from ..monitoring.models import FollowUp
from ..people import service as people
from ..people.models import CaseworkerAssignment
from ..plan.catalog import STARTERS, STATUSES
from ..plan.models import Goal
from ..privacy.erase import owned_rows
from ..support import choices as support_choices
from ..support.models import Case, CaseEvent, CaseMessage
from ..support.service import SOURCE_TYPE as CASE_SOURCE, clean_text, visible_case
from .models import (
    ACCEPTED,
    AGREED,
    ASKED,
    CANCELLED,
    DECLINED,
    DONE,
    KINDS,
    OPEN,
    OPEN_REFERRAL,
    PLACE_OUTCOMES,
    PROPOSED,
    REFUSED,
    SENDING,
    Handover,
    LeftBehindNote,
    OrganisationRelation,
    Referral,
)

# The person's rows that move with every handover: the plan and its history,
# the follow-ups after return (their staff notes stay behind).
MOVES = frozenset({"plan_goals", "plan_steps", "plan_comments", "plan_changes",
                   "followups", "reintegration_checks"})
# Their history, which moves only when they choose: support requests and
# concerns with their replies (staff notes stay behind), check-ins.
HISTORY = frozenset({"support_cases", "support_messages", "support_events",
                     "checkins", "checkin_summaries"})


class NotRelated(DomainError):
    status = 403


# --- The network (operator commands, the coordinators' page) ------------------------

def organisation(session: Session, ref: str) -> Organisation:
    """An organisation by id or exact name (for the operator's commands)."""
    org = (session.get(Organisation, int(ref)) if ref.isdigit() else
           session.scalar(select(Organisation).where(Organisation.name == ref)))
    if org is None:
        raise DomainError(_l("No such organisation."))
    return org


def set_kind(session: Session, org: Organisation, kind: str) -> None:
    if kind not in KINDS:
        raise DomainError(_l("Choose sending or receiving."))
    org.network_kind = kind
    session.flush()


def relate(session: Session, sender: Organisation, receiver: Organisation) -> bool:
    """`sender` may hand over to `receiver`. False when it could already."""
    if sender.id == receiver.id:
        raise DomainError(_l("An organisation does not hand over to itself."))
    if is_related(session, sender.id, receiver.id):
        return False
    session.add(OrganisationRelation(from_organisation_id=sender.id,
                                     to_organisation_id=receiver.id))
    session.flush()
    return True


def unrelate(session: Session, sender: Organisation, receiver: Organisation) -> bool:
    """No more handovers from `sender` to `receiver` (those accepted stay)."""
    if not is_related(session, sender.id, receiver.id):
        return False
    session.execute(delete(OrganisationRelation).where(
        OrganisationRelation.from_organisation_id == sender.id,
        OrganisationRelation.to_organisation_id == receiver.id))
    session.flush()
    return True


def is_related(session: Session, from_id: int, to_id: int) -> bool:
    return session.scalar(select(OrganisationRelation.id).where(
        OrganisationRelation.from_organisation_id == from_id,
        OrganisationRelation.to_organisation_id == to_id)) is not None


def partners(session: Session, org_id: int) -> list[Organisation]:
    """The organisations this one may hand over to, by name."""
    return list(session.scalars(
        select(Organisation).join(OrganisationRelation,
                                  OrganisationRelation.to_organisation_id == Organisation.id)
        .where(OrganisationRelation.from_organisation_id == org_id)
        .order_by(Organisation.name)))


def senders(session: Session, org_id: int) -> list[Organisation]:
    """The organisations that may hand over to this one, by name."""
    return list(session.scalars(
        select(Organisation).join(OrganisationRelation,
                                  OrganisationRelation.from_organisation_id == Organisation.id)
        .where(OrganisationRelation.to_organisation_id == org_id)
        .order_by(Organisation.name)))


def incoming(session: Session, org_id: int) -> list[Handover]:
    """Handovers to this organisation that the person agreed to, and those
    accepted; never a proposal still waiting for the person, or refused."""
    return list(session.scalars(select(Handover).where(
        Handover.to_organisation_id == org_id, Handover.status.in_((AGREED, ACCEPTED)))
        .order_by(Handover.status.desc(), Handover.proposed_at.desc(), Handover.id.desc())))


def outgoing(session: Session, viewer: User) -> list[Handover]:
    """Handovers from the viewer's organisation: a coordinator's all, a
    caseworker's (counsellor's) own proposals."""
    query = select(Handover).where(Handover.from_organisation_id == viewer.organisation_id)
    if viewer.role != Role.COORDINATOR.value:
        query = query.where(Handover.proposed_by_id == viewer.id)
    return list(session.scalars(query.order_by(Handover.proposed_at.desc(), Handover.id.desc())))


# --- Preparation ------------------------------------------------------------------------

def in_preparation(session: Session, user: User) -> bool:
    """A returnee of a sending organisation has not left yet: check-ins are
    off; the plan and support requests work."""
    return (user.role == Role.RETURNEE.value
            and user.organisation.network_kind == SENDING)


def returned_at(session: Session, returnee: User) -> datetime | None:
    """When the person's case came over from the organisation that prepared
    them: the goals made before are "made before return"."""
    return session.scalar(
        select(Handover.accepted_at)
        .join(Organisation, Organisation.id == Handover.from_organisation_id)
        .where(Handover.returnee_id == returnee.id, Handover.status == ACCEPTED,
               Organisation.network_kind == SENDING)
        .order_by(Handover.accepted_at).limit(1))


def made_before_return(session: Session, returnee: User) -> set[int]:
    """The ids of the goals of the person's plan made before return."""
    if in_preparation(session, returnee):
        return set(session.scalars(select(Goal.id).where(Goal.returnee_id == returnee.id)))
    cutoff = returned_at(session, returnee)
    if cutoff is None:
        return set()
    return set(session.scalars(select(Goal.id).where(Goal.returnee_id == returnee.id,
                                                     Goal.created_at < cutoff)))


# --- Handover -----------------------------------------------------------------------------

def propose(session: Session, actor: User, person: User, to_org_id: int) -> Handover:
    """The sending side proposes to hand the person's case to a related
    organisation. Nothing is shown there until the person agrees."""
    person = get_locked(session, User, person.id)
    if person.role != Role.RETURNEE.value or person.deleted_at is not None:
        raise DomainError(_l("Only a returnee's case is handed over."))
    if person.organisation_id != actor.organisation_id:
        raise NotRelated(_l("This person is not of your organisation."))
    if not is_related(session, person.organisation_id, to_org_id):
        raise NotRelated(_l("Your organisation does not hand over to this one."),
                         field="organisation")
    if open_handover(session, person) is not None:
        raise DomainError(_l("A handover of this person is already waiting."))
    handover = Handover(returnee_id=person.id, from_organisation_id=person.organisation_id,
                        to_organisation_id=to_org_id, proposed_by_id=actor.id, status=PROPOSED)
    session.add(handover)
    audit(session, actor, "handover.propose", person, person.organisation_id)
    session.flush()
    return handover


def open_handover(session: Session, person: User) -> Handover | None:
    return session.scalar(select(Handover).where(Handover.returnee_id == person.id,
                                                 Handover.status.in_(OPEN)))


def waiting_for(session: Session, person: User) -> Handover | None:
    """The proposal the person has to answer, if any."""
    return session.scalar(select(Handover).where(Handover.returnee_id == person.id,
                                                 Handover.status == PROPOSED))


def answer(session: Session, person: User, *, agree: bool, share_history: bool = False,
           share_milestones: bool = False) -> Handover:
    """The person agrees or refuses, on their phone. Refused: nothing was
    shown to the other side, and nothing ever is."""
    found = waiting_for(session, person)
    handover = get_locked(session, Handover, found.id) if found is not None else None
    if handover is None or handover.status != PROPOSED:
        raise DomainError(_l("There is nothing to answer."))
    handover.status = AGREED if agree else REFUSED
    handover.answered_at = utcnow()
    handover.share_history = agree and share_history
    handover.share_milestones = agree and share_milestones
    session.flush()
    return handover


def cancel(session: Session, actor: User, handover: Handover) -> None:
    """The sending side takes back a proposal not accepted yet."""
    handover = get_locked(session, Handover, handover.id)
    if handover.status not in OPEN:
        raise DomainError(_l("This handover cannot be taken back any more."))
    handover.status = CANCELLED
    session.flush()


def accept(session: Session, coordinator: User, handover: Handover,
           caseworker_id: int) -> Handover:
    """The receiving coordinator accepts and assigns a caseworker: the case
    moves. Accepting again changes nothing (one case)."""
    handover = get_locked(session, Handover, handover.id)
    if handover.status == ACCEPTED:
        return handover
    if handover.status != AGREED:
        raise DomainError(_l("The person has not agreed to this handover."))
    if (coordinator.organisation_id != handover.to_organisation_id
            or not is_related(session, handover.from_organisation_id,
                              handover.to_organisation_id)):
        raise NotRelated(_l("Your organisation does not take over from this one."))
    caseworker = session.get(User, caseworker_id)
    if (caseworker is None or caseworker.role != Role.CASEWORKER.value
            or caseworker.organisation_id != handover.to_organisation_id
            or caseworker.is_disabled):
        raise DomainError(_l("Choose a caseworker of your organisation."), field="caseworker")
    person = get_locked(session, User, handover.returnee_id)
    if person.organisation_id != handover.from_organisation_id or person.deleted_at is not None:
        raise DomainError(_l("This case cannot be handed over any more."))
    handover.summary = _summary_of(session, person)
    open_cases = _open_cases(session, person, handover.from_organisation_id)
    _move(session, handover, person)
    raise_again = _close_what_stays_behind(session, handover, person, coordinator, open_cases)
    people.assign_caseworker(session, person, caseworker, coordinator)
    for kind, source_type, source_id in raise_again:  # the receiving side must not miss them
        signals.emit(session, returnee=person, kind=kind, source_type=source_type,
                     source_id=source_id)
    handover.status = ACCEPTED
    handover.accepted_at = utcnow()
    handover.accepted_by_id = coordinator.id
    audit(session, coordinator, "handover.accept", person, handover.to_organisation_id)
    session.flush()
    return handover


def _move(session: Session, handover: Handover, person: User) -> None:
    """The person's rows named in MOVES (and HISTORY, when chosen) move to the
    receiving organisation; staff notes are kept behind; the person's account
    goes with them (the same phone binding and PIN)."""
    moving = MOVES | (HISTORY if handover.share_history else frozenset())
    rows = owned_rows(session, person.id)
    tables: dict[str, tuple[Table, set]] = {t.name: (t, ids) for t, ids in rows.items()}
    old, new = handover.from_organisation_id, handover.to_organisation_id
    # Staff notes stay with the organisation that wrote them.
    if "support_messages" in tables and handover.share_history:
        notes = list(session.scalars(select(CaseMessage).where(
            CaseMessage.id.in_(tables["support_messages"][1]), CaseMessage.internal.is_(True))))
        for note in notes:
            session.add(LeftBehindNote(organisation_id=old, handover_id=handover.id,
                                       author_id=note.author_id, body=note.body,
                                       written_at=note.created_at))
            session.delete(note)
        session.flush()
        tables["support_messages"] = (tables["support_messages"][0],
                                      tables["support_messages"][1] - {n.id for n in notes})
    if "followups" in tables:
        for followup in session.scalars(select(FollowUp).where(
                FollowUp.id.in_(tables["followups"][1]), FollowUp.note != "")):
            session.add(LeftBehindNote(organisation_id=old, handover_id=handover.id,
                                       author_id=followup.done_by_id, body=followup.note,
                                       written_at=followup.done_at or followup.created_at))
            followup.note = ""
        session.flush()
    for name in sorted(moving & tables.keys()):
        table, ids = tables[name]
        column = table.c.organisation_id
        session.execute(update(table).where(table.primary_key.columns.values()[0].in_(ids),
                                            column == old).values(organisation_id=new))
    # The sending side's peer groups meet where it works: the person leaves them.
    for group in session.scalars(select(PeerGroup).join(
            GroupMember, GroupMember.group_id == PeerGroup.id).where(
            GroupMember.user_id == person.id)):
        groups.remove_member(session, group, person.id)
    session.execute(update(CaseworkerAssignment).where(
        CaseworkerAssignment.returnee_id == person.id,
        CaseworkerAssignment.ended_at.is_(None)).values(ended_at=utcnow()))
    person.organisation_id = new
    person.household_id = None  # the family's others move with handovers of their own
    session.flush()
    session.expire(person, ["organisation"])


def _open_cases(session: Session, person: User, org_id: int) -> list[Case]:
    return list(session.scalars(select(Case).where(
        Case.returnee_id == person.id, Case.organisation_id == org_id,
        Case.status.in_(support_choices.OPEN_STATUSES)).order_by(Case.created_at, Case.id)))


def _close_what_stays_behind(session: Session, handover: Handover, person: User,
                             coordinator: User, open_cases: list[Case]
                             ) -> list[tuple[str, str | None, int | None]]:
    """Nobody on the sending side is alerted about a person they no longer
    follow: its open alerts about the person are closed, "handed over". The
    person's open requests moved with their history when they shared it (the
    receiving side sees them as "open at handover", and an open alert about
    one is raised again there); else they stay behind and are closed the same
    way (the receiving side learns nothing of them). The person's own request
    to delete their account is raised again there in any case. Returns what
    to raise again: (kind, source type, source id)."""
    old, now = handover.from_organisation_id, utcnow()
    closer = (handover.proposed_by if handover.proposed_by is not None
              and handover.proposed_by.organisation_id == old else coordinator)
    with force_locale(closer.locale or "en"):
        reason = str(_l("Handed over to %(org)s: they follow the person now.",
                        org=handover.to_organisation.name))
    if handover.share_history:
        handover.open_requests = [
            {"case_id": case.id, "type": case.type,
             "about": case.category if case.type == support_choices.REQUEST else case.kind,
             "created_at": case.created_at.isoformat()} for case in open_cases]
    else:
        for case in open_cases:
            session.add(CaseEvent(organisation_id=old, case_id=case.id, actor_id=closer.id,
                                  from_status=case.status, to_status="closed", reason=reason,
                                  outcome="referred_other", at=now))
            case.status, case.outcome, case.updated_at = "closed", "referred_other", now
    moved = {case.id for case in open_cases} if handover.share_history else set()
    raise_again = []
    for alert in session.scalars(select(Alert).where(
            Alert.organisation_id == old, Alert.returnee_id == person.id,
            Alert.resolved_at.is_(None)).order_by(Alert.id)):
        alert.acknowledged_at = alert.acknowledged_at or now
        alert.acknowledged_by_id = alert.acknowledged_by_id or closer.id
        alert.resolved_at, alert.resolved_by_id, alert.resolution_note = now, closer.id, reason
        if ((alert.source_type == CASE_SOURCE and alert.source_id in moved)
                or alert.kind == "account.deletion_requested"):
            raise_again.append((alert.kind, alert.source_type, alert.source_id))
    session.flush()
    return raise_again


@dataclass
class OpenAtHandover:
    case_id: int
    type: str
    about: str
    created_at: datetime


def open_at_handover(handover: Handover) -> list[OpenAtHandover]:
    """The person's requests that were open when their case moved with their
    history (the receiving side's summary)."""
    return [OpenAtHandover(r["case_id"], r["type"], r["about"] or "",
                           datetime.fromisoformat(r["created_at"]))
            for r in handover.open_requests or ()]


def open_requests(session: Session, person: User) -> int:
    """How many of the person's requests and concerns are open with their
    organisation (the handover's question says what becomes of them)."""
    return len(_open_cases(session, person, person.organisation_id))


def _summary_of(session: Session, person: User) -> dict:
    goals = session.scalars(select(Goal).where(Goal.returnee_id == person.id,
                                               Goal.state == "active").order_by(Goal.id))
    return {"name": person.display_name,
            "return_date": person.return_date.isoformat() if person.return_date else None,
            "goals": [{"key": g.starter_key, "title": g.title or "", "status": g.status}
                      for g in goals]}


def withdraw(session: Session, person: User, handover: Handover) -> None:
    """The person withdraws their agreement: the sending side's summary and
    milestones stop at once (the summary is emptied, not hidden)."""
    handover = get_locked(session, Handover, handover.id)
    if handover.returnee_id != person.id or handover.status != ACCEPTED:
        raise DomainError(_l("There is nothing to withdraw."))
    if handover.withdrawn_at is None:
        handover.withdrawn_at = utcnow()
    handover.summary = None
    handover.share_milestones = False
    session.flush()


def my_handovers(session: Session, person: User) -> list[Handover]:
    """The person's accepted handovers, whose sending side may still see a summary."""
    return list(session.scalars(select(Handover).where(
        Handover.returnee_id == person.id, Handover.status == ACCEPTED)
        .order_by(Handover.accepted_at.desc())))


@dataclass
class GoalLine:
    title: str
    status: str


@dataclass
class Milestone:
    month: int
    due_on: date
    done: bool


@dataclass
class Summary:
    name: str
    return_date: date | None
    goals: list[GoalLine]
    milestones: list[Milestone] | None  # None: the person did not agree to share them


def summary(session: Session, handover: Handover) -> Summary | None:
    """What the sending side still sees: None until accepted, and after the
    person withdrew their agreement. Milestones are dates and done, never what
    was said."""
    data = handover.summary
    if handover.status != ACCEPTED or handover.withdrawn_at is not None or not data:
        return None
    goals = [GoalLine(str(STARTERS[g["key"]][1]) if g.get("key") in STARTERS else g["title"],
                      str(STATUSES.get(g["status"], g["status"]))) for g in data["goals"]]
    milestones = None
    if handover.share_milestones:
        milestones = [Milestone(f.month, f.due_on, f.done_at is not None)
                      for f in session.scalars(select(FollowUp).where(
                          FollowUp.returnee_id == handover.returnee_id)
                          .order_by(FollowUp.month))]
    return Summary(data["name"], date.fromisoformat(data["return_date"])
                   if data.get("return_date") else None, goals, milestones)


def left_behind(session: Session, handover: Handover) -> list[LeftBehindNote]:
    return list(session.scalars(select(LeftBehindNote).where(
        LeftBehindNote.handover_id == handover.id).order_by(LeftBehindNote.written_at)))


# --- Referral of a support request ------------------------------------------------

def refer(session: Session, actor: User, case: Case, to_org_id: int) -> Referral:
    """A caseworker refers a support request to a related organisation. The
    person agrees first; until then the partner sees nothing."""
    if case.is_concern:
        raise DomainError(_l("Only a support request is referred."))
    if case.organisation_id != actor.organisation_id:
        raise NotRelated(_l("This request is not of your organisation."))
    if not is_related(session, case.organisation_id, to_org_id):
        raise NotRelated(_l("Your organisation does not refer to this one."),
                         field="organisation")
    if session.scalar(select(Referral.id).where(
            Referral.case_id == case.id, Referral.to_organisation_id == to_org_id,
            Referral.status.in_((ASKED, OPEN_REFERRAL, ACCEPTED)))) is not None:
        raise DomainError(_l("This request is already referred there."))
    referral = Referral(case_id=case.id, returnee_id=case.returnee_id,
                        from_organisation_id=case.organisation_id, to_organisation_id=to_org_id,
                        referred_by_id=actor.id, status=ASKED)
    session.add(referral)
    session.flush()
    return referral


def refer_to_place(session: Session, actor: User, case: Case, place_id: int) -> Referral:
    """A caseworker refers a support request to a listed service of the
    organisation's directory (not an organisation in Footing). The person
    agrees first; nothing is sent anywhere: the caseworker records what came
    of it."""
    if case.is_concern:
        raise DomainError(_l("Only a support request is referred."))
    if case.organisation_id != actor.organisation_id:
        raise NotRelated(_l("This request is not of your organisation."))
    place = session.get(Place, place_id)
    if place is None or place.organisation_id != case.organisation_id or place.retired_at:
        raise DomainError(_l("Choose a place of your directory."), field="place")
    if session.scalar(select(Referral.id).where(
            Referral.case_id == case.id, Referral.place_id == place.id,
            Referral.status.in_((ASKED, OPEN_REFERRAL)))) is not None:
        raise DomainError(_l("This request is already referred there."), field="place")
    referral = Referral(case_id=case.id, returnee_id=case.returnee_id,
                        from_organisation_id=case.organisation_id, place_id=place.id,
                        referred_by_id=actor.id, status=ASKED)
    session.add(referral)
    session.flush()
    return referral


def record_place_outcome(session: Session, actor: User, referral: Referral,
                         outcome: str | None, note: str | None) -> None:
    """What came of a referral to a listed service, as the caseworker heard
    it (reached, helped, not helped, could not reach) with a short note. It
    may be recorded again later ("reached", then "helped")."""
    referral = get_locked(session, Referral, referral.id)
    if not referral.to_place or referral.status not in (OPEN_REFERRAL, DONE):
        raise DomainError(_l("This step is not possible now."))
    if outcome not in PLACE_OUTCOMES:
        raise DomainError(_l("Please choose one from the list."), field="outcome")
    referral.outcome_kind = outcome
    referral.outcome = clean_text(note, support_choices.REASON_MAX, "note")
    referral.status = DONE
    referral.updated_at = utcnow()
    audit(session, actor, "referral.outcome", referral.returnee, actor.organisation_id)
    session.flush()


def answer_referral(session: Session, person: User, referral: Referral, *, agree: bool) -> None:
    """The person agrees (the partner then reads the request's category and
    their own words) or refuses (the partner sees nothing)."""
    referral = get_locked(session, Referral, referral.id)
    if referral.returnee_id != person.id or referral.status != ASKED:
        raise DomainError(_l("There is nothing to answer."))
    if agree and not referral.to_place:  # a place reads nothing in Footing
        case = session.get_one(Case, referral.case_id)
        referral.category = case.category or ""
        referral.text = case.text
    referral.status = OPEN_REFERRAL if agree else REFUSED
    referral.updated_at = utcnow()
    session.flush()


# What the partner may do next, from each status.
REFERRAL_STEPS = {OPEN_REFERRAL: (ACCEPTED, DECLINED), ACCEPTED: (DONE, DECLINED)}


def progress_referral(session: Session, actor: User, referral: Referral, to_status: str,
                      text: str | None) -> None:
    """The partner accepts, declines with a reason, or reports the outcome."""
    referral = get_locked(session, Referral, referral.id)
    if referral.to_place or to_status not in REFERRAL_STEPS.get(referral.status, ()):
        raise DomainError(_l("This step is not possible now."), field="step")
    words = clean_text(text, support_choices.REASON_MAX, "text")
    if to_status in (DECLINED, DONE) and not words:
        raise DomainError(_l("Please say why, or what came of it."), field="text")
    if to_status == DECLINED:
        referral.reason = words
    elif to_status == DONE:
        referral.outcome = words
    referral.status = to_status
    referral.updated_at = utcnow()
    audit(session, actor, f"referral.{to_status}", referral.returnee, actor.organisation_id)
    session.flush()


def referral_waiting_for(session: Session, person: User) -> int | None:
    """The id of the oldest referral the person has not answered yet (the
    home page asks them to: nothing is sent without their agreement)."""
    return session.scalar(select(Referral.id).where(Referral.returnee_id == person.id,
                                                    Referral.status == ASKED)
                          .order_by(Referral.created_at, Referral.id).limit(1))


def my_referrals(session: Session, person: User) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.returnee_id == person.id)
                                .order_by(Referral.created_at.desc(), Referral.id.desc())))


def referrals_of_case(session: Session, case: Case) -> list[Referral]:
    return list(session.scalars(select(Referral).where(Referral.case_id == case.id)
                                .order_by(Referral.created_at.desc(), Referral.id.desc())))


def referrals_out(session: Session, viewer: User) -> list[Referral]:
    """Referrals from the viewer's organisation: a coordinator's all, a
    caseworker's own."""
    query = select(Referral).options(
        joinedload(Referral.returnee), joinedload(Referral.place),
        joinedload(Referral.to_organisation)).where(
        Referral.from_organisation_id == viewer.organisation_id)
    if viewer.role != Role.COORDINATOR.value:
        query = query.where(Referral.referred_by_id == viewer.id)
    return list(session.scalars(query.order_by(Referral.updated_at.desc(), Referral.id.desc())
                                .limit(100)))


def referrals_in(session: Session, org_id: int) -> list[Referral]:
    return list(session.scalars(select(Referral).where(
        Referral.to_organisation_id == org_id,
        Referral.status.in_((OPEN_REFERRAL, ACCEPTED, DECLINED, DONE)))
        .order_by(Referral.updated_at.desc(), Referral.id.desc())))


# --- Who may see what (access.SCOPES) ---------------------------------------------

def handover_in(session: Session, viewer: User, handover_id: int) -> Handover | None:
    """A handover to the viewer's organisation, for its coordinators, once the
    person agreed (a proposal or a refusal is never seen there)."""
    handover = session.get(Handover, handover_id)
    if (handover is None or viewer.role != Role.COORDINATOR.value
            or handover.to_organisation_id != viewer.organisation_id
            or handover.status not in (AGREED, ACCEPTED)):
        return None
    return handover


def handover_out(session: Session, viewer: User, handover_id: int) -> Handover | None:
    """A handover from the viewer's organisation: its coordinators', and the
    staff member's who proposed it."""
    handover = session.get(Handover, handover_id)
    if handover is None or handover.from_organisation_id != viewer.organisation_id:
        return None
    if viewer.role == Role.COORDINATOR.value or (
            viewer.role == Role.CASEWORKER.value and handover.proposed_by_id == viewer.id):
        return handover
    return None


def own_handover(session: Session, viewer: User, handover_id: int) -> Handover | None:
    """The returnee's own accepted handover (to withdraw their agreement)."""
    handover = session.get(Handover, handover_id)
    if handover is None or handover.returnee_id != viewer.id or handover.status != ACCEPTED:
        return None
    return handover



def own_referral(session: Session, viewer: User, referral_id: int) -> Referral | None:
    """The returnee's own referral (to agree or refuse)."""
    referral = session.get(Referral, referral_id)
    return referral if referral is not None and referral.returnee_id == viewer.id else None


def referral_in(session: Session, viewer: User, referral_id: int) -> Referral | None:
    """A referral to the viewer's organisation that the person agreed to, for
    its coordinators and caseworkers."""
    referral = session.get(Referral, referral_id)
    if (referral is None or referral.to_organisation_id != viewer.organisation_id
            or viewer.role not in (Role.COORDINATOR.value, Role.CASEWORKER.value)
            or referral.status in (ASKED, REFUSED)):
        return None
    return referral


def referral_out(session: Session, viewer: User, referral_id: int) -> Referral | None:
    """A referral from the viewer's organisation, for the staff who may see
    its request (the person's caseworker, a coordinator)."""
    referral = session.get(Referral, referral_id)
    if (referral is None or referral.from_organisation_id != viewer.organisation_id
            or visible_case(session, viewer, referral.case_id) is None):
        return None
    return referral
