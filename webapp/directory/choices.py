"""Every list a person picks from in the directory of local services (issue #22).

The database stores the keys; pages show the labels in the viewer's language.
A key never changes once stored: add new ones, never rename."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

KINDS = {
    "clinic": _l("Clinic"),
    "pharmacy": _l("Pharmacy"),
    "mental_health": _l("Mental health"),
    "legal_aid": _l("Legal aid"),
    "housing": _l("Housing"),
    "training": _l("Training"),
    "micro_finance": _l("Micro-finance"),
    "womens_shelter": _l("Women's shelter"),
    "emergency": _l("Police and emergency"),
    "papers": _l("ID papers and embassy"),
    "other": _l("Other help"),
}

# The icon of each kind, from the sprite (a word always stands beside it).
ICONS = {
    "clinic": "heart", "pharmacy": "pill", "mental_health": "smile", "legal_aid": "shield",
    "housing": "leaf", "training": "plan", "micro_finance": "hand", "womens_shelter": "people",
    "emergency": "phone", "papers": "key", "other": "globe",
}

COSTS = {
    "free": _l("Free"),
    "fee": _l("You pay"),
}

# What a returnee says after going there; both count as "checked".
FEEDBACK = {
    "helped": _l("This place helped me"),
    "not_had": _l("They did not have it"),
}

# Where concerns and plan goals lead: the kinds that answer them.
FOR_MEDICINE = ("pharmacy", "clinic")
FOR_PLAN_AREA = {
    "work": ("training", "micro_finance"),
    "business": ("micro_finance", "training"),
    "skills": ("training",),
    "housing": ("housing",),
    "health": ("clinic", "pharmacy", "mental_health"),
    "wellbeing": ("mental_health",),
    "safety": ("emergency", "womens_shelter", "legal_aid"),
    "papers": ("papers", "legal_aid"),
}

# Lengths, shared by forms, models, the service and the CSV import.
NAME_MAX = 120
TOWN_MAX = 80
ADDRESS_MAX = 300
DIRECTIONS_MAX = 500
HOURS_MAX = 200
PHONE_MAX = 32
LANGUAGES_MAX = 200
WHO_MAX = 300
MEDICINES_MAX = 1000
CHECK_DAYS_DEFAULT = 180
CHECK_DAYS_RANGE = (7, 730)
