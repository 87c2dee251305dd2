"""Every list a person picks from in support requests and concerns.

The database stores the keys; pages show the labels in the viewer's language.
A key never changes once stored: add new ones, retire old ones by leaving them
here (old rows must still render)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

REQUEST = "request"
CONCERN = "concern"

CATEGORIES = {
    "housing": _l("Housing"),
    "work": _l("Work"),
    "business": _l("Business or micro-finance"),
    "papers": _l("Papers and documents"),
    "health": _l("Health"),
    "education": _l("School and training"),
    "psychosocial": _l("Stress and feelings"),
    "family": _l("Family"),
    "legal": _l("Legal help"),
    "other": _l("Something else"),
}

CONTACT_WAYS = {
    "app": _l("Here in the app"),
    "phone": _l("A phone call"),
    "visit": _l("A visit"),
}

KINDS = {
    "health": _l("Health"),
    "medicine": _l("Medicine"),
    "safety": _l("Safety"),
}

# The report page's order: the most urgent kinds and sub-types first
# (issue #23: Safety was last, 1,800 px down).
SUB_TYPES = {
    "safety": {
        "attacked": _l("I was attacked"),
        "threatened": _l("Someone threatens me"),
        "family": _l("Problems in the family"),
        "authorities": _l("Trouble with the authorities"),
        "debt": _l("Debt"),
        "other": _l("Something else"),
    },
    "health": {
        "injured": _l("I am hurt"),
        "sick": _l("I am ill or in pain"),
        "pregnancy": _l("Pregnancy"),
        "no_doctor": _l("I cannot see a doctor"),
        "stress": _l("Stress, fear or sadness"),
        "other": _l("Something else"),
    },
    "medicine": {
        "ran_out": _l("I ran out"),
        "not_available": _l("Not available here"),
        "too_expensive": _l("Too expensive"),
        "where_unknown": _l("I don't know where to get it"),
        "other": _l("Something else"),
    },
}

# "I need help now" from the home page: no sub-type was picked.
NOT_SAID = _l("Not said")

URGENCIES = {
    "now": _l("I need help now"),
    "soon": _l("Soon"),
    "later": _l("It can wait"),
}

# When the returnee can expect an answer (DESIGN §3.4: the alert escalates
# after 30 minutes for "now" and 24 hours for serious).
NEXT_STEP = {
    "now": _l("Your caseworker was told right away. If nobody answers within 30 minutes, "
              "their lead is told too."),
    "soon": _l("Your caseworker will look at it within one day."),
    "later": _l("Your caseworker will look at it within a few days."),
    REQUEST: _l("Your caseworker will look at it within a few days."),
}

# Inbox order: most urgent first (lower is more urgent), then oldest first.
PRIORITY_SAFETY_NOW = 0
PRIORITY_NOW = 1
PRIORITY_SOON = 2
PRIORITY_LATER = 3

STATUSES = {
    "new": _l("New"),
    "acknowledged": _l("Seen"),
    "in_progress": _l("Being worked on"),
    "resolved": _l("Done"),
    "declined": _l("Not possible"),
    "closed": _l("Closed"),
}
OPEN_STATUSES = ("new", "acknowledged", "in_progress")
ENDED_STATUSES = ("resolved", "declined", "closed")

# Which status may follow which. A support request ends resolved or declined;
# a concern is closed with an outcome. An ended case can be opened again.
TRANSITIONS = {
    REQUEST: {
        "new": ("acknowledged", "in_progress", "resolved", "declined"),
        "acknowledged": ("in_progress", "resolved", "declined"),
        "in_progress": ("resolved", "declined"),
        "resolved": ("in_progress",),
        "declined": ("in_progress",),
    },
    CONCERN: {
        "new": ("acknowledged", "in_progress", "closed"),
        "acknowledged": ("in_progress", "closed"),
        "in_progress": ("closed",),
        "closed": ("in_progress",),
    },
}

OUTCOMES = {
    "medicine_obtained": _l("Medicine obtained"),
    "referred_clinic": _l("Referred to a clinic"),
    "safety_plan": _l("Safety plan made"),
    "referred_other": _l("Referred to another service"),
    "solved": _l("Solved together"),
    "could_not_reach": _l("Could not reach the person"),
    "other": _l("Other"),
}

# Lengths, shared by forms, models and the service.
DETAILS_MAX = 2000
NOTE_MAX = 1000
MEDICINE_MAX = 100
DISTRICT_MAX = 80
PHONE_MAX = 32
MESSAGE_MAX = 2000
REASON_MAX = 1000


def sub_type_label(kind: str | None, sub_type: str | None) -> object:
    if not sub_type:
        return NOT_SAID
    return SUB_TYPES.get(kind or "", {}).get(sub_type, sub_type)
