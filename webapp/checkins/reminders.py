"""A push to returnees whose check-in is due. Same payload rules as alerts: a
generic line and a URL, queued in the caller's transaction (the outbox) and
sent after the commit; sent once per period, which the deliveries table
itself records."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..groups.models import DEFAULT_PERIOD_DAYS
from ..models import Role, User, utcnow
from ..push import service as push
from ..push.models import PushDelivery, PushSubscription
from .service import rhythm


def checkin_due(session: Session, now: datetime | None = None) -> list[int]:
    """Returnees with a device whose check-in period has passed since their last
    check-in (or activation), not reminded yet since then. One query for all."""
    now = now or utcnow()
    last, activated, period = rhythm()
    reminded = (select(PushDelivery.user_id, func.max(PushDelivery.created_at).label("at"))
                .where(PushDelivery.message == "checkin.due")
                .group_by(PushDelivery.user_id).subquery())
    with_device = select(PushSubscription.user_id).distinct().subquery()
    query = (select(User, last.c.at, activated.c.at, period.c.days, reminded.c.at)
             .join(with_device, with_device.c.user_id == User.id)
             .join(activated, activated.c.user_id == User.id)
             .outerjoin(last, last.c.user_id == User.id)
             .outerjoin(period, period.c.user_id == User.id)
             .outerjoin(reminded, reminded.c.user_id == User.id)
             .where(User.role == Role.RETURNEE.value, User.disabled_at.is_(None)))
    # (person, last check-in, activation, period in days, last reminded)
    rows = cast(Sequence[tuple[User, datetime | None, datetime, int | None, datetime | None]],
                session.execute(query).all())
    notified = []
    wanted = push.want_reminders(session, [row[0] for row in rows])
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
