"""Read aloud (DESIGN.md §3.7): the page's main text spoken by the phone, in
the page's language, only with a voice on the phone itself.

Headless Chromium has no voices, so each test gives the page a stand-in
speechSynthesis with the voices a phone might have, and reads back what the
page asked it to say."""
from __future__ import annotations

import json
import time

import pytest

from .conftest import switch_language

pytestmark = pytest.mark.browser

LOCAL_EN = {"name": "English (phone)", "lang": "en-GB", "localService": True}
REMOTE_EN = {"name": "English (online)", "lang": "en-US", "localService": False}
LOCAL_FR = {"name": "Français (phone)", "lang": "fr-FR", "localService": True}

FAKE_SPEECH = """
window.__spoken = [];
window.__cancelled = 0;
window.SpeechSynthesisUtterance = function (text) { this.text = text; };
var voices = %s;
Object.defineProperty(window, "speechSynthesis", { configurable: true, value: {
  speaking: false, pending: false,
  getVoices: function () { return voices; },
  speak: function (u) {
    window.__spoken.push({ text: u.text, lang: u.lang, voice: u.voice && u.voice.name });
    this.pending = true;
  },
  cancel: function () { window.__cancelled++; this.pending = false; this.speaking = false; },
  addEventListener: function () {}
}});
"""


def phone_with(new_context, voices: list[dict], **options):
    context = new_context(**options)
    context.add_init_script(FAKE_SPEECH % json.dumps(voices))
    return context.new_page()


def test_reads_the_main_text_with_a_voice_on_the_phone_and_stops(new_context):
    page = phone_with(new_context, [REMOTE_EN, LOCAL_EN])
    page.goto("/signin")
    button = page.get_by_role("button", name="Read aloud")
    button.click()
    spoken = page.evaluate("window.__spoken")
    texts = [s["text"] for s in spoken]
    assert "Welcome to Footing" in texts
    # Only the phone's own voice: an online voice would send the page away.
    assert {(s["voice"], s["lang"]) for s in spoken} == {("English (phone)", "en-GB")}
    # The page's content, not the bar above it nor the button itself.
    assert not any("Quick exit" in t or "Read aloud" in t for t in texts)
    # One sentence or line at a time.
    assert len(texts) > 1 and all("\n" not in t for t in texts)
    page.get_by_role("button", name="Stop reading").click()
    assert page.evaluate("window.__cancelled") == 1
    assert button.is_visible() and button.inner_text().strip() == "Read aloud"


def test_no_button_without_a_voice_for_the_language_on_the_phone(new_context):
    page = phone_with(new_context, [REMOTE_EN])
    page.goto("/signin")
    assert page.locator("#read-aloud").is_hidden()

    # Dari page, only French and English voices: an English voice reading
    # Dari would help nobody.
    page = phone_with(new_context, [LOCAL_EN, LOCAL_FR])
    page.goto("/language")
    switch_language(page, "fa_AF")
    page.goto("/signin")
    assert page.locator("html").get_attribute("lang") == "fa-AF"
    assert page.locator("#read-aloud").is_hidden()


def test_no_button_without_javascript(new_context):
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto("/signin")
    assert page.locator("#read-aloud").is_hidden()


LAYOUT_SHIFT = """
window.__shift = 0;
new PerformanceObserver(function (list) {
  list.getEntries().forEach(function (e) { if (!e.hadRecentInput) window.__shift += e.value; });
}).observe({ type: "layout-shift", buffered: true });
"""


@pytest.mark.parametrize("path", ["/", "/language"])
def test_the_button_coming_moves_nothing(new_context, path):
    """Issue #24: the button is shown by script after the first paint; its
    row is kept from the start, so the page does not shift (CLS ≤ 0.01)."""
    page = phone_with(new_context, [LOCAL_EN])
    page.add_init_script(LAYOUT_SHIFT)
    # The script comes late, as on 2G: the page is painted before it runs.
    page.route("**/static/js/app.*.js", lambda route: (time.sleep(0.8), route.continue_()))
    heading_at = []
    page.goto(path, wait_until="commit")
    page.wait_for_selector("main h1")
    heading_at.append(page.locator("main h1").first.bounding_box()["y"])
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Read aloud").wait_for()
    page.wait_for_timeout(300)
    heading_at.append(page.locator("main h1").first.bounding_box()["y"])
    assert heading_at[0] == heading_at[1]
    assert page.evaluate("window.__shift") <= 0.01
