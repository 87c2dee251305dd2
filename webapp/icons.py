"""An icon for every choice a returnee makes (issue #23): people who read
little find the choice by its picture, the word beside it says it. The names
are symbols of templates/_sprite.html or _choice_sprite.html (`i-<name>`); a
test checks that every choice of every list has one and that a sprite draws it.
A page carries only the choice symbols it shows (`choice_sprite`): every byte
counts on 2G (issue #24)."""
from __future__ import annotations

import re
from pathlib import Path

from markupsafe import Markup

CHOICE_ICONS: dict[str, dict[str, str]] = {
    # Check-in: the mood faces are icons already (mood1..mood5).
    "checkin.question": {"income": "coins", "shelter": "house", "medicine": "pill",
                         "safe": "shield", "someone": "people"},
    "checkin.answer": {"yes": "yes", "partly": "partly", "no": "no"},
    "checkin.visibility": {"caseworker": "person", "group": "people"},
    # Support: a request's category and way of contact; a report's kind,
    # sub-type and urgency.
    "support.category": {"housing": "house", "work": "briefcase", "business": "shop",
                         "papers": "doc", "health": "heart", "education": "book",
                         "psychosocial": "cloud", "family": "people", "legal": "scale",
                         "other": "dots"},
    "support.contact": {"app": "chat", "phone": "phone", "visit": "door"},
    "support.kind": {"health": "heart", "medicine": "pill", "safety": "shield"},
    "support.health": {"sick": "thermo", "injured": "bandage", "stress": "cloud",
                       "pregnancy": "baby", "no_doctor": "doctor", "other": "dots"},
    "support.medicine": {"ran_out": "bottle", "too_expensive": "coins",
                         "not_available": "ban", "where_unknown": "pin", "other": "dots"},
    "support.safety": {"threatened": "alert", "attacked": "bolt", "family": "house",
                       "debt": "coins", "authorities": "building", "other": "dots"},
    "support.urgency": {"now": "alert", "soon": "clock", "later": "calendar"},
    # The plan: areas of life and starter goals.
    "plan.area": {"work": "briefcase", "business": "shop", "housing": "house",
                  "skills": "book", "health": "heart", "family": "people",
                  "wellbeing": "smile", "safety": "shield", "papers": "doc"},
    "plan.starter": {
        "work.find_job": "briefcase", "work.income": "coins", "work.save": "coins",
        "business.start": "shop", "business.plan": "plan", "business.loan": "coins",
        "housing.safe_place": "house", "housing.rent": "calendar", "housing.repair": "wrench",
        "skills.trade": "wrench", "skills.read": "book", "skills.licence": "car",
        "health.doctor": "doctor", "health.medicine": "pill", "health.clinic": "pin",
        "family.reconnect": "people", "family.community": "chat", "family.school": "book",
        "wellbeing.sleep": "moon", "wellbeing.talk": "chat", "wellbeing.hobby": "ball",
        "safety.home": "house", "safety.who_to_call": "phone", "safety.debt": "coins",
        "papers.id": "doc", "papers.birth": "doc", "papers.legal": "scale"},
}


def icon(name: str) -> Markup:
    """An icon from the inline sprite; decorative, the word beside it speaks."""
    return Markup('<svg class="icon" aria-hidden="true" focusable="false">'
                  '<use href="#i-{}"></use></svg>').format(name)


def choice_icon(group: str, key: object) -> Markup:
    """The icon of one choice (`choice_icon('plan.area', 'work')`); nothing
    for a key without one (an old stored key, a retired choice)."""
    name = CHOICE_ICONS.get(group, {}).get(str(key))
    return icon(name) if name else Markup("")


_CHOICE_SPRITE = Path(__file__).parent / "templates" / "_choice_sprite.html"
SYMBOLS: dict[str, str] = {
    name: symbol for symbol, name in re.findall(
        r'(<symbol id="i-([\w-]+)".*?</symbol>)', _CHOICE_SPRITE.read_text(), re.S)}


def choice_sprite(*wanted: str, keys: list[str] | None = None) -> Markup:
    """The symbols of the choice sprite a page needs: those of the named
    groups of CHOICE_ICONS (`'support.kind'`), only of `keys` when given, and
    single icons (`'yes'`)."""
    names: set[str] = set()
    for item in wanted:
        if item in CHOICE_ICONS:
            icons = CHOICE_ICONS[item]
            names.update(icons[k] for k in (icons if keys is None else keys) if k in icons)
        else:
            names.add(item)
    symbols = "".join(SYMBOLS[name] for name in sorted(names) if name in SYMBOLS)
    return Markup('<svg xmlns="http://www.w3.org/2000/svg" class="sprite" aria-hidden="true">'
                  f"{symbols}</svg>")
