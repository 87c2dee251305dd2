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
