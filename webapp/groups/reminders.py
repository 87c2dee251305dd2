"""A push to the members of a group that meets tomorrow. Same payload rules as
alerts: a generic line and a URL with an id, queued in the caller's
transaction and sent after the commit; once per meeting, which the
deliveries table itself records."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, and_, cast, literal, select
from sqlalchemy.orm import Session

from ..models import User, utcnow
from ..push import service as push
from ..push.models import PushDelivery, PushSubscription
from .models import GroupMember, Meeting, MeetingResponse


def meeting_tomorrow(session: Session, now: datetime | None = None) -> list[tuple[int, int]]:
    """Members of groups meeting 12 to 36 hours from now, who have not said
    they are not coming and were not reminded of that meeting yet."""
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
    wanted = push.want_reminders(session, [user for user, _meeting in rows])
    due = [(user, meeting) for user, meeting in rows if user.id in wanted]
    by_meeting: dict[Meeting, list[int]] = {}
    for user, meeting in due:
        by_meeting.setdefault(meeting, []).append(user.id)
    for meeting, user_ids in by_meeting.items():
        push.notify(session, user_ids, "meeting.tomorrow",
                    f"/groups/{meeting.group_id}/meetings/{meeting.id}",
                    topic=f"meeting-{meeting.id}", urgency="normal", ttl=24 * 3600)
    return [(user.id, meeting.id) for user, meeting in due]
