"""Peer groups: membership, meetings, the board, buddies and the facilitator's
overview. Functions take the session, flush, and raise DomainError."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from ..alerts import signals
from ..checkins.models import CheckIn
from ..db import get_locked
from ..errors import DomainError
from ..models import Role, User, utcnow
from ..push import service as push
from .models import (
    GroupFacilitator,
    GroupMember,
    GroupPost,
    Meeting,
    MeetingResponse,
    PeerGroup,
    PostReport,
    RaisedWithCaseworker,
)

PERIODS = {7: _l("Every week"), 14: _l("Every two weeks"), 30: _l("Every month")}
# Peer-education topics to pick from; a facilitator may also use own words.
TOPICS = {
    "work": _l("Finding work"),
    "business": _l("Starting a small business"),
    "money": _l("Money and saving"),
    "health": _l("Health and medicine"),
    "feelings": _l("Stress, sleep and feelings"),
    "family": _l("Family and friends"),
    "papers": _l("Papers and legal help"),
    "safety": _l("Staying safe"),
}
POST_MAX = 1000
REASON_MAX = 300
SHARED_SHOWN = 20
POSTS_SHOWN = 50


# --- Who is who ------------------------------------------------------------------

def is_facilitator(session: Session, group: PeerGroup, user: User) -> bool:
    return session.scalar(select(GroupFacilitator.id).where(
        GroupFacilitator.group_id == group.id, GroupFacilitator.user_id == user.id)) is not None


def membership(session: Session, group: PeerGroup, user: User) -> GroupMember | None:
    return session.scalar(select(GroupMember).where(
        GroupMember.group_id == group.id, GroupMember.user_id == user.id))


def groups_of(session: Session, user: User) -> list[PeerGroup]:
    """The groups a person sees in their list: all of the organisation for a
    coordinator, the ones they lead or belong to for everyone else."""
    query = select(PeerGroup).where(PeerGroup.organisation_id == user.organisation_id)
    if user.role == Role.FACILITATOR.value:
        query = query.where(PeerGroup.id.in_(
            select(GroupFacilitator.group_id).where(GroupFacilitator.user_id == user.id)))
    elif user.role != Role.COORDINATOR.value:
        query = query.where(PeerGroup.id.in_(
            select(GroupMember.group_id).where(GroupMember.user_id == user.id)))
    return list(session.scalars(query.order_by(PeerGroup.name).limit(200)))


def members(session: Session, group: PeerGroup) -> list[GroupMember]:
    return list(session.scalars(
        select(GroupMember).join(User, User.id == GroupMember.user_id)
        .where(GroupMember.group_id == group.id).order_by(User.display_name)))


def member_users(session: Session, group: PeerGroup) -> list[User]:
    """The members' accounts (whose information the group's pages show)."""
    return list(session.scalars(
        select(User).join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group.id)))


def facilitators(session: Session, group: PeerGroup) -> list[User]:
    return list(session.scalars(
        select(User).join(GroupFacilitator, GroupFacilitator.user_id == User.id)
        .where(GroupFacilitator.group_id == group.id).order_by(User.display_name)))


def _org_user(session: Session, group: PeerGroup, user_id: int | None, role: Role) -> User | None:
    user = session.get(User, user_id) if user_id else None
    if (user is None or user.organisation_id != group.organisation_id or user.role != role.value
            or user.is_disabled):
        return None
    return user


# --- Creating and running a group -------------------------------------------------

def _check_settings(language: str, languages: list[str], meeting_place: str,
                    period_days: int) -> None:
    if language not in languages:
        raise DomainError(_l("Please choose one from the list."), field="language")
    if len(meeting_place) > 200:
        raise DomainError(_l("Please use at most %(max)d characters.", max=200),
                          field="meeting_place")
    if period_days not in PERIODS:
        raise DomainError(_l("Please choose one from the list."), field="period")


def create_group(session: Session, coordinator: User, *, name: str | None, language: str,
                 languages: list[str], meeting_place: str | None, period_days: int,
                 facilitator_id: int | None) -> PeerGroup:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError(_l("Please give the group a name (at most 100 characters)."),
                          field="name")
    meeting_place = (meeting_place or "").strip()
    _check_settings(language, languages, meeting_place, period_days)
    group = PeerGroup(organisation_id=coordinator.organisation_id, name=name, language=language,
                      meeting_place=meeting_place, checkin_period_days=period_days,
                      created_by_id=coordinator.id)
    session.add(group)
    session.flush()
    if facilitator_id:
        appoint_facilitator(session, group, facilitator_id, coordinator)
    return group


def appoint_facilitator(session: Session, group: PeerGroup, user_id: int | None,
                        by: User) -> User:
    facilitator = _org_user(session, group, user_id, Role.FACILITATOR)
    if facilitator is None:
        raise DomainError(_l("Please choose a facilitator from the list."), field="facilitator")
    if is_facilitator(session, group, facilitator):
        raise DomainError(_l("This person already runs this group."), field="facilitator")
    session.add(GroupFacilitator(organisation_id=group.organisation_id, group_id=group.id,
                                 user_id=facilitator.id, appointed_by_id=by.id))
    session.flush()
    return facilitator


def update_settings(session: Session, group: PeerGroup, *, language: str, languages: list[str],
                    meeting_place: str | None, period_days: int) -> None:
    meeting_place = (meeting_place or "").strip()
    _check_settings(language, languages, meeting_place, period_days)
    group.language = language
    group.meeting_place = meeting_place
    group.checkin_period_days = period_days
    session.flush()


def add_member(session: Session, group: PeerGroup, user_id: int | None, by: User) -> User:
    """Only returnees of the group's own organisation can join."""
    returnee = _org_user(session, group, user_id, Role.RETURNEE)
    if returnee is None:
        raise DomainError(_l("Please choose a person from the list."), field="member")
    if membership(session, group, returnee) is not None:
        raise DomainError(_l("This person is already in the group."), field="member")
    session.add(GroupMember(organisation_id=group.organisation_id, group_id=group.id,
                            user_id=returnee.id, added_by_id=by.id))
    session.flush()
    return returnee


def remove_member(session: Session, group: PeerGroup, user_id: int | None) -> None:
    """The person leaves the group: they no longer see it, and what they shared
    with it is no longer shown there (their posts stay, as any post does, and
    can be hidden). Their buddy is left without one."""
    row = session.scalar(select(GroupMember).where(GroupMember.group_id == group.id,
                                                   GroupMember.user_id == (user_id or 0)))
    if row is None:
        raise DomainError(_l("Please choose a member of the group."), field="member")
    session.execute(update(GroupMember).where(GroupMember.group_id == group.id,
                                              GroupMember.buddy_id == row.user_id)
                    .values(buddy_id=None))
    session.delete(row)
    session.flush()


def candidates(session: Session, group: PeerGroup) -> list[User]:
    """Returnees of the organisation not yet in the group."""
    return list(session.scalars(
        select(User).where(User.organisation_id == group.organisation_id,
                           User.role == Role.RETURNEE.value, User.disabled_at.is_(None),
                           User.id.not_in(select(GroupMember.user_id)
                                          .where(GroupMember.group_id == group.id)))
        .order_by(User.display_name).limit(500)))


def staff_candidates(session: Session, organisation_id: int,
                     group: PeerGroup | None = None) -> list[User]:
    """Facilitators of the organisation (not yet running `group`)."""
    query = select(User).where(User.organisation_id == organisation_id,
                               User.role == Role.FACILITATOR.value, User.disabled_at.is_(None))
    if group is not None:
        query = query.where(User.id.not_in(select(GroupFacilitator.user_id)
                                           .where(GroupFacilitator.group_id == group.id)))
    return list(session.scalars(query.order_by(User.display_name)))


# --- Buddies -----------------------------------------------------------------------

def pair_buddies(session: Session, group: PeerGroup, first_id: int | None,
                 second_id: int | None) -> None:
    """Pair two members; each one's earlier buddy is left without one."""
    rows = {m.user_id: m for m in members(session, group)}
    first, second = rows.get(first_id or 0), rows.get(second_id or 0)
    if first is None or second is None:
        raise DomainError(_l("Please choose two members of the group."), field="first")
    if first is second:
        raise DomainError(_l("Please choose two different people."), field="second")
    for row in (first, second):
        if row.buddy_id and row.buddy_id in rows:
            rows[row.buddy_id].buddy_id = None
    first.buddy_id, second.buddy_id = second.user_id, first.user_id
    session.flush()


# --- Meetings ----------------------------------------------------------------------

def schedule_meeting(session: Session, group: PeerGroup, by: User, *, local_start: datetime | None,
                     place: str, topic_key: str | None, topic_text: str,
                     now: datetime | None = None) -> Meeting:
    """`local_start` is a wall-clock time in the organisation's timezone."""
    if local_start is None:
        raise DomainError(_l("Please enter a date and time."), field="starts_at")
    starts_at = local_start.replace(tzinfo=ZoneInfo(by.organisation.timezone))
    if starts_at <= (now or utcnow()):
        raise DomainError(_l("This time has passed. Please choose a time in the future."),
                          field="starts_at")
    topic_text = (topic_text or "").strip()
    if topic_key and topic_key not in TOPICS:
        raise DomainError(_l("Please choose one from the list."), field="topic")
    if not topic_key and not topic_text:
        raise DomainError(_l("Please choose a topic or write one."), field="topic_text")
    if len(topic_text) > 200 or len((place or "").strip()) > 200:
        raise DomainError(_l("Please use at most %(max)d characters.", max=200),
                          field="topic_text" if len(topic_text) > 200 else "place")
    meeting = Meeting(organisation_id=group.organisation_id, group_id=group.id,
                      starts_at=starts_at, place=(place or "").strip() or group.meeting_place,
                      topic_key=topic_key or None, topic_text="" if topic_key else topic_text,
                      created_by_id=by.id)
    session.add(meeting)
    session.flush()
    return meeting


def topic_of(meeting: Meeting) -> str:
    return str(TOPICS[meeting.topic_key]) if meeting.topic_key in TOPICS else meeting.topic_text


def upcoming_meetings(session: Session, group: PeerGroup, now: datetime | None = None,
                      limit: int = 10) -> list[Meeting]:
    since = (now or utcnow()) - timedelta(hours=12)  # still shown on the day itself
    return list(session.scalars(select(Meeting).where(
        Meeting.group_id == group.id, Meeting.starts_at >= since)
        .order_by(Meeting.starts_at).limit(limit)))


def cancel_meeting(session: Session, group: PeerGroup, meeting: Meeting,
                   now: datetime | None = None) -> list[int]:
    """Call a meeting off and tell the members who did not say they would
    not come (a push to their devices; the page says it too). Returns whom
    it told; nobody when it was called off already."""
    now = now or utcnow()
    meeting = get_locked(session, Meeting, meeting.id)
    if meeting.cancelled_at is not None:
        return []
    if meeting.starts_at <= now:
        raise DomainError(_l("This meeting has begun or is over."))
    meeting.cancelled_at = now
    answers = responses(session, meeting)
    told = [m.user_id for m in members(session, group)
            if m.user_id not in answers or answers[m.user_id].coming is not False]
    push.notify(session, told, "meeting.cancelled", f"/groups/{group.id}/meetings/{meeting.id}",
                topic=f"meeting-{meeting.id}", urgency="normal", ttl=24 * 3600)
    return told


def responses(session: Session, meeting: Meeting) -> dict[int, MeetingResponse]:
    return {r.user_id: r for r in session.scalars(select(MeetingResponse).where(
        MeetingResponse.meeting_id == meeting.id))}


def _response(session: Session, meeting: Meeting, user_id: int) -> MeetingResponse:
    row = session.scalar(select(MeetingResponse).where(
        MeetingResponse.meeting_id == meeting.id, MeetingResponse.user_id == user_id))
    if row is None:
        row = MeetingResponse(organisation_id=meeting.organisation_id, meeting_id=meeting.id,
                              user_id=user_id)
        session.add(row)
    return row


def answer_meeting(session: Session, group: PeerGroup, meeting: Meeting, user: User,
                   coming: bool) -> MeetingResponse:
    if membership(session, group, user) is None:
        raise DomainError(_l("Only members of the group can answer."))
    if meeting.cancelled_at is not None:
        raise DomainError(_l("This meeting is called off."))
    row = _response(session, meeting, user.id)
    row.coming = coming
    row.updated_at = utcnow()
    session.flush()
    return row


def record_attendance(session: Session, group: PeerGroup, meeting: Meeting,
                      present_ids: set[int]) -> int:
    """Mark who was there; everyone else in the group was not. Returns how many came."""
    member_ids = {m.user_id for m in members(session, group)}
    if not present_ids <= member_ids:
        raise DomainError(_l("Please choose members of the group."), field="present")
    existing = responses(session, meeting)
    for user_id in member_ids:
        row = existing.get(user_id) or _response(session, meeting, user_id)
        row.attended = user_id in present_ids
        row.updated_at = utcnow()
    session.flush()
    return len(present_ids)


# --- The board -----------------------------------------------------------------------

def add_post(session: Session, group: PeerGroup, author: User,
             body: str | None) -> GroupPost:
    body = (body or "").strip()
    if not body:
        raise DomainError(_l("Please write something first."), field="body")
    if len(body) > POST_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=POST_MAX), field="body")
    if membership(session, group, author) is None and not is_facilitator(session, group, author):
        raise DomainError(_l("Only people in the group can write here."), field="body")
    post = GroupPost(organisation_id=group.organisation_id, group_id=group.id,
                     author_id=author.id, body=body)
    session.add(post)
    session.flush()
    return post


def hide_post(session: Session, post: GroupPost, by: User) -> None:
    if post.hidden_at is None:
        post.hidden_at = utcnow()
        post.hidden_by_id = by.id
        session.flush()


def report_post(session: Session, post: GroupPost, reporter: User) -> None:
    """Once per person and post; a second report changes nothing."""
    exists = session.scalar(select(PostReport.id).where(
        PostReport.post_id == post.id, PostReport.reporter_id == reporter.id))
    if exists is None:
        session.add(PostReport(organisation_id=post.organisation_id, post_id=post.id,
                               reporter_id=reporter.id))
        session.flush()


@dataclass
class BoardPost:
    post: GroupPost
    reports: int
    reported_by_me: bool


def board(session: Session, group: PeerGroup, viewer: User, leads: bool) -> list[BoardPost]:
    """Newest first. A hidden post is seen only by its author (marked hidden)
    and the facilitators; the report count only by the facilitators."""
    mine = func.max(case((PostReport.reporter_id == viewer.id, 1), else_=0))
    reports = (select(PostReport.post_id, func.count().label("n"), mine.label("mine"))
               .group_by(PostReport.post_id).subquery())
    query = (select(GroupPost, reports.c.n, reports.c.mine)
             .outerjoin(reports, reports.c.post_id == GroupPost.id)
             .where(GroupPost.group_id == group.id))
    if not leads:
        query = query.where((GroupPost.hidden_at.is_(None)) | (GroupPost.author_id == viewer.id))
    # (post, reports, reported by the viewer: 1 or 0)
    rows = cast(Sequence[tuple[GroupPost, int | None, int | None]], session.execute(
        query.order_by(GroupPost.created_at.desc(), GroupPost.id.desc())
        .limit(POSTS_SHOWN)).all())
    return [BoardPost(post, (n or 0) if leads else 0, bool(mine)) for post, n, mine in rows]


# --- Check-ins seen through the group ---------------------------------------------------

def shared_checkins(session: Session, group: PeerGroup) -> list[tuple[CheckIn, User]]:
    """Check-ins members shared with the group since they joined it."""
    return list(session.execute(
        select(CheckIn, User).join(User, User.id == CheckIn.user_id)
        .join(GroupMember, (GroupMember.user_id == CheckIn.user_id)
              & (GroupMember.group_id == group.id))
        .where(CheckIn.share_with_group.is_(True), CheckIn.created_at >= GroupMember.created_at)
        .order_by(CheckIn.created_at.desc()).limit(SHARED_SHOWN)).all())


@dataclass
class OverviewRow:
    member: User
    checked_in: bool
    shared: CheckIn | None  # the latest check-in of the period shared with the group


def overview(session: Session, group: PeerGroup, now: datetime | None = None
             ) -> tuple[datetime, list[OverviewRow]]:
    """Who checked in during this period (the last `checkin_period_days` days)
    and who did not. Content only where the member shared it with the group."""
    since = (now or utcnow()) - timedelta(days=group.checkin_period_days)
    rows = members(session, group)
    checkins = session.scalars(select(CheckIn).where(
        CheckIn.user_id.in_([m.user_id for m in rows]), CheckIn.created_at >= since)
        .order_by(CheckIn.created_at)).all()
    seen: set[int] = set()
    shared: dict[int, CheckIn] = {}
    for c in checkins:
        seen.add(c.user_id)
        if c.share_with_group:
            shared[c.user_id] = c
    return since, [OverviewRow(m.user, m.user_id in seen, shared.get(m.user_id)) for m in rows]


def raise_with_caseworker(session: Session, group: PeerGroup, facilitator: User,
                          member_id: int | None, reason: str | None) -> RaisedWithCaseworker:
    member = {m.user_id: m for m in members(session, group)}.get(member_id or 0)
    if member is None:
        raise DomainError(_l("Please choose a member of the group."), field="member")
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_l("Please write a short reason."), field="reason")
    if len(reason) > REASON_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=REASON_MAX),
                          field="reason")
    returnee = member.user
    signal = signals.emit(session, returnee=returnee, kind="group.raised",
                          source_type="group_raised", raised_by=facilitator)
    raised = RaisedWithCaseworker(organisation_id=group.organisation_id, group_id=group.id,
                                  returnee_id=returnee.id, raised_by_id=facilitator.id,
                                  reason=reason, signal_id=signal.id)
    session.add(raised)
    session.flush()
    signal.source_id = raised.id
    session.flush()
    return raised


# --- Who may see what (access.SCOPES) ----------------------------------------

def _group_roles(session: Session, viewer: User, group_id: int):
    """(group, leads, member) for a group of the viewer's organisation, else None."""
    group = session.get(PeerGroup, group_id)
    if group is None or group.organisation_id != viewer.organisation_id:
        return None
    leads = session.scalar(select(GroupFacilitator.id).where(
        GroupFacilitator.group_id == group_id, GroupFacilitator.user_id == viewer.id))
    member = session.scalar(select(GroupMember.id).where(
        GroupMember.group_id == group_id, GroupMember.user_id == viewer.id))
    return group, leads is not None, member is not None


def visible_group(session: Session, viewer: User, group_id: int) -> PeerGroup | None:
    """A group the viewer is in (member or facilitator), or any group of the
    organisation for its coordinator."""
    found = _group_roles(session, viewer, group_id)
    if found is None:
        return None
    group, leads, member = found
    return group if leads or member or viewer.role == Role.COORDINATOR.value else None


def group_in(session: Session, viewer: User, group_id: int) -> PeerGroup | None:
    """A group the viewer is in: only they write on its board or answer its meetings."""
    found = _group_roles(session, viewer, group_id)
    return found[0] if found is not None and (found[1] or found[2]) else None


def group_led(session: Session, viewer: User, group_id: int) -> PeerGroup | None:
    """A group the viewer runs as its facilitator."""
    found = _group_roles(session, viewer, group_id)
    return found[0] if found is not None and found[1] else None


# Nested in a group's scope (access.NESTED): the group is already the viewer's.

def meeting_of(session: Session, viewer: User, group: PeerGroup, meeting_id: int) -> Meeting | None:
    """A meeting of this group; one of another group is not here."""
    meeting = session.get(Meeting, meeting_id)
    return meeting if meeting is not None and meeting.group_id == group.id else None


def post_of(session: Session, viewer: User, group: PeerGroup, post_id: int) -> GroupPost | None:
    """A post on this group's board as the viewer sees it: a hidden post is
    gone for all but its author and the group's facilitators."""
    post = session.get(GroupPost, post_id)
    if post is None or post.group_id != group.id:
        return None
    seen = post.hidden_at is None or post.author_id == viewer.id
    return post if seen or is_facilitator(session, group, viewer) else None
