"""The plan's fixed vocabulary as data: areas, statuses and starter goals.

Keys are stored; labels are translated when shown, so a goal picked from a
starter reads in whichever language the viewer uses."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

# key -> label. Order is the order on the page.
AREAS = {
    "work": _l("Work and income"),
    "business": _l("My own business"),
    "housing": _l("Housing"),
    "skills": _l("Skills and school"),
    "health": _l("Health"),
    "family": _l("Family and friends"),
    "wellbeing": _l("Feeling well"),
    "safety": _l("Safety"),
    "papers": _l("Papers and legal help"),
}

STATUSES = {
    "not_started": _l("Not started"),
    "under_way": _l("Under way"),
    "done": _l("Done"),
    "paused": _l("Paused"),
}

# key -> (area, label). A key, once shipped, never changes meaning: goals keep it.
STARTERS = {
    "work.find_job": ("work", _l("Find a job")),
    "work.income": ("work", _l("Earn money every month")),
    "work.save": ("work", _l("Save some money every month")),
    "business.start": ("business", _l("Start my own business")),
    "business.plan": ("business", _l("Make a plan for my business")),
    "business.loan": ("business", _l("Get a small loan for my business")),
    "housing.safe_place": ("housing", _l("Find a safe place to live")),
    "housing.rent": ("housing", _l("Pay the rent on time")),
    "housing.repair": ("housing", _l("Repair my house")),
    "skills.trade": ("skills", _l("Learn a trade")),
    "skills.read": ("skills", _l("Learn to read and write")),
    "skills.licence": ("skills", _l("Get a driving licence")),
    "health.doctor": ("health", _l("See a doctor")),
    "health.medicine": ("health", _l("Get the medicine I need")),
    "health.clinic": ("health", _l("Find a clinic near me")),
    "family.reconnect": ("family", _l("Meet my family again")),
    "family.community": ("family", _l("Meet people in my community")),
    "family.school": ("family", _l("Find a school for my children")),
    "wellbeing.sleep": ("wellbeing", _l("Sleep better")),
    "wellbeing.talk": ("wellbeing", _l("Talk to someone about how I feel")),
    "wellbeing.hobby": ("wellbeing", _l("Do a sport or a hobby")),
    "safety.home": ("safety", _l("Feel safe where I live")),
    "safety.who_to_call": ("safety", _l("Know who to call in danger")),
    "safety.debt": ("safety", _l("Deal with a debt")),
    "papers.id": ("papers", _l("Get an ID card")),
    "papers.birth": ("papers", _l("Get my birth certificate")),
    "papers.legal": ("papers", _l("Get legal advice")),
}


def starters_of(area: str) -> list[tuple[str, object]]:
    return [(key, label) for key, (a, label) in STARTERS.items() if a == area]
