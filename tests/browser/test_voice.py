"""Recorded voice (issue #23) in a real browser: the speaker button beside a
phrase plays the organisation's recording, and nothing is fetched before
the tap; staff record a phrase with the microphone (Chromium's fake one)."""
from __future__ import annotations

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, activate_returnee, sign_in_staff

pytestmark = pytest.mark.browser

PLAYING = """() => { const a = document.querySelector('p.help-now audio');
  return a && (!a.paused || a.currentTime > 0 || a.ended); }"""


def test_the_speaker_plays_the_recording_and_nothing_is_fetched_before_the_tap(
        new_context, live_server):
    # The demo has a machine-made English clip of "I need help now" (and none
    # of the emergency line): one speaker button, its sound not loaded yet.
    account = live_server.new_returnee("Aminata Voice")
    page = new_context().new_page()
    sounds = []
    page.on("request", lambda r: sounds.append(r.url) if "/voice/clips/" in r.url else None)
    activate_returnee(page, account)
    page.wait_for_load_state("load")
    page.wait_for_timeout(500)
    speaker = page.locator("p.help-now .say-button")
    assert speaker.is_visible()
    assert speaker.get_attribute("aria-label") == "Listen"
    # Headless Chromium has no speech voices: the phrase without a recording
    # shows no button.
    assert page.locator("p.emergency .say-button").is_hidden()
    assert sounds == []
    speaker.click()
    page.wait_for_function(PLAYING)
    assert len(sounds) >= 1 and all("/voice/clips/" in u for u in sounds)


def test_staff_record_a_phrase_with_the_microphone(playwright_instance, live_server):
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM, headless=True,
        args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
              "--use-fake-ui-for-media-stream"])
    try:
        context = browser.new_context(**{**PHONE, "base_url": live_server.url,
                                         "service_workers": "block"})
        context.grant_permissions(["microphone"])
        page = context.new_page()
        sign_in_staff(page, live_server, live_server.staff("coordinator"))
        page.goto("/voice/?lang=fr")
        row = page.locator("#p-now\\.call")
        before = page.locator(".coverage a[aria-current]").inner_text()
        record = row.get_by_role("button", name="Record")
        record.click()
        page.wait_for_timeout(1500)
        row.get_by_role("button", name="Stop").click()
        row.locator("audio.preview").wait_for(state="visible")
        row.get_by_role("button", name="Save").click()
        page.wait_for_url("**/voice/?lang=fr#p-now.call")
        row = page.locator("#p-now\\.call")
        assert "Recorded" in row.inner_text()
        assert row.locator("audio[src*='/voice/clips/']").count() == 1
        after = page.locator(".coverage a[aria-current]").inner_text()
        assert before != after, (before, after)
    finally:
        browser.close()
