"""Issue #23: every choice a returnee makes has a picture from the sprite,
and the report page asks about Safety first."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from webapp.checkins.forms import VISIBILITY
from webapp.checkins.models import ANSWERS, QUESTIONS
from webapp.icons import CHOICE_ICONS, SYMBOLS
from webapp.plan.catalog import AREAS, STARTERS
from webapp.support import choices as c

TEMPLATES = Path(__file__).parents[1] / "webapp" / "templates"


def sprite_symbols() -> set[str]:
    text = "".join((TEMPLATES / name).read_text() for name in ("_sprite.html",
                                                                "_choice_sprite.html"))
    return set(re.findall(r'<symbol id="i-([\w-]+)"', text))


@pytest.mark.parametrize("group,keys", [
    ("checkin.question", QUESTIONS), ("checkin.answer", ANSWERS),
    ("checkin.visibility", [k for k, _label in VISIBILITY]),
    ("support.category", c.CATEGORIES), ("support.contact", c.CONTACT_WAYS),
    ("support.kind", c.KINDS), ("support.urgency", c.URGENCIES),
    *[(f"support.{kind}", subs) for kind, subs in c.SUB_TYPES.items()],
    ("plan.area", AREAS), ("plan.starter", STARTERS),
])
def test_every_choice_has_an_icon_the_sprite_draws(group, keys):
    icons = CHOICE_ICONS[group]
    assert set(icons) == set(keys), f"{group}: no icon for {set(keys) - set(icons)}"
    assert set(icons.values()) <= sprite_symbols(), set(icons.values()) - sprite_symbols()


def uses(page: str) -> list[str]:
    """The icons a page shows; each must be drawn by a symbol in the page
    itself, and the page carries no choice symbol it does not show (bytes on
    2G: the choices' sprite is cut to what the page needs)."""
    shown = re.findall(r'<use href="#i-([\w-]+)">', page)
    drawn = re.findall(r'<symbol id="i-([\w-]+)"', page)
    assert set(shown) <= set(drawn), f"icons without their symbol: {set(shown) - set(drawn)}"
    assert len(drawn) == len(set(drawn)), "a symbol drawn twice"
    unused = (set(drawn) & set(SYMBOLS)) - set(shown)
    assert not unused, f"choice symbols the page does not show: {unused}"
    return shown


def test_the_pages_show_the_pictures_beside_the_words(web, returnee_web):
    returnee_web()
    checkin = web.get("/checkin/").get_data(as_text=True)
    shown = uses(checkin)
    for answer in ("yes", "partly", "no"):
        assert shown.count(answer) == len(QUESTIONS)
    for question, name in CHOICE_ICONS["checkin.question"].items():
        assert name in shown, question
    ask = uses(web.get("/help/ask").get_data(as_text=True))
    assert {"house", "briefcase", "scale", "phone", "door"} <= set(ask)
    areas = uses(web.get("/plan/goals/new").get_data(as_text=True))
    assert set(CHOICE_ICONS["plan.area"].values()) <= set(areas)
    starters = uses(web.get("/plan/goals/new?area=skills").get_data(as_text=True))
    assert {"wrench", "book", "car"} <= set(starters)


def test_the_report_page_asks_about_safety_first_with_a_picture_on_each_choice(
        web, returnee_web):
    returnee_web()
    page = web.get("/help/report").get_data(as_text=True)
    uses(page)
    kinds = re.findall(r'class="cards kind-(\w+)', page)
    assert kinds == ["safety", "health", "medicine"]
    first = re.findall(r'name="what" id="what-([\w-]+)"', page)[0]
    assert first == "safety-attacked"
    form = page[page.index("<form"):]
    n_choices = sum(len(s) for s in c.SUB_TYPES.values())
    assert len(re.findall(r'<label class="card-choice">.*?<use href="#i-', form)) == n_choices
