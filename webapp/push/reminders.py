"""Pushes to returnees: a caseworker's reply, a check-in that is due, a meeting
tomorrow. Same payload rules as alerts: a generic line and a URL with an id.

Each is queued in the caller's transaction (the outbox) and sent after the
commit; a reminder is sent once per period or meeting, which the deliveries
table itself records.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, func, literal, select
from sqlalchemy.orm import Session

from ..auth.service import latest_choices_of
from ..models import Role, User, utcnow
from . import service as push
from .models import PushDelivery, PushSubscription


def reply(session: Session, returnee: User, case_id: int) -> None:
    """A caseworker wrote in a case thread the returnee can read."""
    push.notify(session, [returnee.id], "reply", f"/help/cases/{case_id}",
                topic=f"case-{case_id}", urgency="normal", ttl=3 * 24 * 3600)


def _want_reminders(session: Session, users: list[User]) -> set[int]:
    """Those of `users` whose latest consent says yes to reminders. (A reply
    in their own case is not a reminder: it goes to every device they added.)"""
    choices = latest_choices_of(session, (user.id for user in users))
    return {user_id for user_id, c in choices.items() if c["push_reminders"]}


def checkin_due(session: Session, now: datetime | None = None) -> list[int]:
    """Returnees with a device whose check-in period has passed since their last
    check-in (or activation), not reminded yet since then. One query for all."""
    from ..checkins.service import rhythm
    from ..groups.models import DEFAULT_PERIOD_DAYS

    now = now or utcnow()
    last, activated, period = rhythm()
    reminded = (select(PushDelivery.user_id, func.max(PushDelivery.created_at).label("at"))
                .where(PushDelivery.message == "checkin.due")
                .group_by(PushDelivery.user_id).subquery())
    with_device = select(PushSubscription.user_id).distinct().subquery()
    rows = session.execute(
        select(User, last.c.at, activated.c.at, period.c.days, reminded.c.at)
        .join(with_device, with_device.c.user_id == User.id)
        .join(activated, activated.c.user_id == User.id)
        .outerjoin(last, last.c.user_id == User.id)
        .outerjoin(period, period.c.user_id == User.id)
        .outerjoin(reminded, reminded.c.user_id == User.id)
        .where(User.role == Role.RETURNEE.value, User.disabled_at.is_(None))
    ).all()
    notified = []
    wanted = _want_reminders(session, [row[0] for row in rows])
    for user, last_at, activated_at, days, reminded_at in rows:
        if user.id not in wanted:
            continue
        since = max(last_at, activated_at) if last_at else activated_at
        if now - since < timedelta(days=days or DEFAULT_PERIOD_DAYS):
            continue
        if reminded_at is not None and reminded_at >= since:
            continue  # reminded for this period already
        notified.append(user.id)
    push.notify(session, notified, "checkin.due", "/checkin/",
                topic="checkin-due", urgency="normal", ttl=24 * 3600)
    return notified


def meeting_tomorrow(session: Session, now: datetime | None = None) -> list[tuple[int, int]]:
    """Members of groups meeting 12 to 36 hours from now, who have not said
    they are not coming and were not reminded of that meeting yet."""
    from ..groups.models import GroupMember, Meeting, MeetingResponse

    now = now or utcnow()
    reminded = (select(PushDelivery.user_id, PushDelivery.topic)
                .where(PushDelivery.message == "meeting.tomorrow").subquery())
    rows = session.execute(
        select(User, Meeting)
        .join(GroupMember, GroupMember.user_id == User.id)
        .join(Meeting, Meeting.group_id == GroupMember.group_id)
        .join(PushSubscription, PushSubscription.user_id == User.id)
        .outerjoin(MeetingResponse, and_(MeetingResponse.meeting_id == Meeting.id,
                                         MeetingResponse.user_id == User.id))
        .outerjoin(reminded, and_(reminded.c.user_id == User.id,
                                  reminded.c.topic == literal("meeting-").concat(
                                      cast(Meeting.id, String))))
        .where(Meeting.starts_at >= now + timedelta(hours=12),
               Meeting.starts_at < now + timedelta(hours=36), Meeting.cancelled_at.is_(None),
               User.disabled_at.is_(None),
               MeetingResponse.coming.is_not(False),
               reminded.c.user_id.is_(None))
        .distinct()
    ).all()
    wanted = _want_reminders(session, [user for user, _meeting in rows])
    rows = [(user, meeting) for user, meeting in rows if user.id in wanted]
    by_meeting: dict[Meeting, list[int]] = {}
    for user, meeting in rows:
        by_meeting.setdefault(meeting, []).append(user.id)
    for meeting, user_ids in by_meeting.items():
        push.notify(session, user_ids, "meeting.tomorrow",
                    f"/groups/{meeting.group_id}/meetings/{meeting.id}",
                    topic=f"meeting-{meeting.id}", urgency="normal", ttl=24 * 3600)
    return [(user.id, meeting.id) for user, meeting in rows]
