"""For people who read little (issue #23), in a phone browser: the report
page fits two screens with Safety first, and text typed by people keeps its
own direction inside pages of the other direction."""
from __future__ import annotations

import os

import pytest

from .conftest import PHONE, activate_returnee, switch_language

pytestmark = pytest.mark.browser

CASEWORKER = "caseworker1@"
SHOTS = os.environ.get("FOOTING_SHOTS")  # a folder: screenshots for a person to look at


def _returnee(new_context, live_server, name: str, **options):
    page = new_context(**options).new_page()
    activate_returnee(page, live_server.new_returnee(
        name, caseworker_email=live_server.staff("caseworker", CASEWORKER).email))
    return page


@pytest.mark.parametrize("lang", ["en", "ar", "so", "fa_AF"])
def test_the_report_page_fits_two_screens_with_safety_first(new_context, live_server, lang):
    page = _returnee(new_context, live_server, f"Report reader {lang}")
    switch_language(page, lang)
    page.goto("/help/report")
    height = page.evaluate("document.documentElement.scrollHeight")
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/report-{lang}.png", full_page=True)
    assert height <= 2 * PHONE["viewport"]["height"], height
    kinds = page.locator("main fieldset.cards legend").all_inner_texts()
    assert len(kinds) == 3
    first = page.locator("main fieldset.cards").first
    assert "kind-safety" in first.get_attribute("class")
    # Every choice shows its picture, and the urgency buttons are reached
    # without scrolling more than a screen past the choices.
    assert page.locator("main .card-choice svg.icon").count() == page.locator(
        "main .card-choice").count() == 17


# Where the first and the last character of an element's text are drawn.
ENDS = """(el) => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
  let node, text = null;
  while ((node = walker.nextNode())) { if (node.textContent.trim()) { text = node; break; } }
  const at = (i) => { const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
                      return r.getBoundingClientRect().left; };
  const s = text.textContent, first = s.search(/\\S/), last = s.trimEnd().length - 1;
  return { first: at(first), last: at(last), text: s.trim() };
}"""


def _own_goal(page, title: str) -> None:
    page.goto("/plan/goals/new?area=work")
    page.locator("main input#title").fill(title)
    page.locator("main form:has(input#title) button[type=submit]").click()
    page.wait_for_url("**/plan/goals/*")


def _ends_of_plain(page, text: str) -> dict:
    """The same text put in the page's heading without isolation: what the
    check below would see if the page did not isolate it."""
    return page.evaluate("""([text, ends]) => {
        const h = document.createElement('h2'); h.textContent = text;
        document.querySelector('main').prepend(h);
        const out = eval(ends)(h); h.remove(); return out; }""", [text, ENDS])


def test_typed_text_keeps_its_own_direction_and_punctuation(new_context, live_server):
    page = _returnee(new_context, live_server, "Bidi writer")
    # Latin text in a right-to-left (Dari) page: the full stop and the
    # exclamation mark stay at its end, on the right.
    switch_language(page, "fa_AF")
    latin = "Shop, Inc. opens!"
    _own_goal(page, latin)
    heading = page.locator("main h1 bdi")
    assert heading.inner_text() == latin
    ends = heading.evaluate(ENDS)
    assert ends["last"] > ends["first"], ends
    plain = _ends_of_plain(page, latin)
    assert plain["last"] < plain["first"], plain  # not isolated, "!" jumps to the left
    # Right-to-left text in an English page: its "!" stays on its left.
    switch_language(page, "en")
    arabic = "متجر جديد!"
    _own_goal(page, arabic)
    ends = page.locator("main h1 bdi").evaluate(ENDS)
    assert ends["last"] < ends["first"], ends
    plain = _ends_of_plain(page, arabic)
    assert plain["last"] > plain["first"], plain
    # The plan's list shows both titles isolated too.
    page.goto("/plan/")
    for title in (latin, arabic):
        link = page.locator("main bdi", has_text=title).first
        assert link.count() == 1
