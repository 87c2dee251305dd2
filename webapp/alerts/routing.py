"""Which signal becomes which alert: severity, time to acknowledge, push urgency.

This table is the one place to change how loud something is. Every signal kind
(webapp.signals.KINDS) must have a row; a test checks it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l

# Severity order: lower sorts first in the inbox.
URGENT, SERIOUS, NORMAL = "urgent", "serious", "normal"
SEVERITY_ORDER = {URGENT: 0, SERIOUS: 1, NORMAL: 2}
SEVERITY_LABELS = {URGENT: _l("Urgent"), SERIOUS: _l("Serious"), NORMAL: _l("Normal")}


@dataclass(frozen=True)
class Route:
    severity: str
    ack_within: timedelta  # unacknowledged after this, coordinators are told
    push_urgency: str  # Web Push "Urgency" header: very-low | low | normal | high
    label: object  # what the alert is, for staff (never pushed)


ROUTES: dict[str, Route] = {
    "concern.safety_now": Route(URGENT, timedelta(minutes=30), "high",
                                _l("Safety: needs help now")),
    "concern.urgent": Route(URGENT, timedelta(minutes=30), "high", _l("Needs help now")),
    "concern.serious": Route(SERIOUS, timedelta(hours=24), "normal", _l("A problem to see soon")),
    "checkin.unsafe": Route(SERIOUS, timedelta(hours=24), "normal",
                            _l("Check-in: not feeling safe")),
    "checkin.no_medicine": Route(SERIOUS, timedelta(hours=24), "normal",
                                 _l("Check-in: no medicine")),
    "checkin.low_mood": Route(SERIOUS, timedelta(hours=24), "normal",
                              _l("Check-in: low mood twice in a row")),
    "checkin.no_contact": Route(SERIOUS, timedelta(hours=48), "normal",
                                _l("No contact for two check-in periods")),
    "group.raised": Route(SERIOUS, timedelta(hours=24), "normal",
                          _l("Raised by the group facilitator")),
    "safety_plan.used": Route(URGENT, timedelta(minutes=30), "high",
                              _l("Safety plan: needs to use it now")),
    "support.new": Route(NORMAL, timedelta(hours=72), "low", _l("New request for help")),
    "followup.overdue": Route(NORMAL, timedelta(hours=72), "low", _l("Follow-up overdue")),
    "account.deletion_requested": Route(NORMAL, timedelta(hours=72), "low",
                                        _l("Asked to delete the account")),
}

# Push time-to-live: how long a push service keeps trying to reach a device.
PUSH_TTL = {URGENT: 6 * 3600, SERIOUS: 24 * 3600, NORMAL: 72 * 3600}

# Where "open the cause" leads, by the signal's source type: (endpoint, view
# argument, which id of the alert fills it). Anything else opens the person's
# timeline, where check-ins, reports and follow-ups all show.
CAUSE_ENDPOINTS: dict[str, tuple[str, str, str]] = {
    "support_case": ("support.case", "case_id", "source_id"),
    "followup": ("monitoring.followups", "user_id", "returnee_id"),
    "account": ("people.show", "user_id", "returnee_id"),
    "safety_plan": ("safety.of", "user_id", "returnee_id"),
}
DEFAULT_CAUSE = ("monitoring.timeline", "user_id", "returnee_id")
