"""Every form works without JavaScript (DESIGN.md §4): a returnee activates and
uses the app, and a coordinator creates an account, with scripts switched off."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from .conftest import PIN, activate_returnee, choose_language, sign_in_staff

pytestmark = pytest.mark.browser


def _no_js_context(new_context):
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto("/signin")
    # A script that would run leaves no trace in the page; check that one doesn't.
    page.add_init_script("document.documentElement.dataset.js = 'on'")
    return context, page


def test_a_returnee_activates_and_uses_the_app_without_javascript(new_context, live_server):
    returnee = live_server.returnee("Hawa")
    context, page = _no_js_context(new_context)
    activate_returnee(page, returnee)
    assert page.locator("html").get_attribute("data-js") is None, "JavaScript ran"
    assert page.get_by_text("Welcome. Your phone is set up.").is_visible()

    page.get_by_role("link", name="Who looked at my information").click()
    page.wait_for_url("**/me/ledger")
    assert page.get_by_role("heading", name="Who looked at my information").is_visible()

    choose_language(page, "fa_AF")
    assert urlsplit(page.url).path == "/home"
    assert page.locator("html").get_attribute("dir") == "rtl"
    heading = page.get_by_role("heading", level=1).inner_text()
    assert returnee.name in heading, heading
    choose_language(page, "en")
    assert page.get_by_role("heading", name=f"Hello, {returnee.name}").is_visible()

    # Sign out (a form) and back in with the PIN on this now-bound phone.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/signin(/pin)?$"))
    assert page.get_by_text("You are signed out.").is_visible()
    page.goto("/home")
    assert urlsplit(page.url).path == "/signin/pin"
    page.get_by_label("Your PIN (6 digits)").fill(PIN)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/home")
    assert page.get_by_role("heading", name=f"Hello, {returnee.name}").is_visible()


def test_a_coordinator_creates_a_returnee_without_javascript(new_context, live_server):
    context, page = _no_js_context(new_context)
    sign_in_staff(page, live_server, live_server.staff("coordinator"))  # and in English
    page.get_by_role("link", name="People").click()
    page.wait_for_url("**/people/")
    page.get_by_role("link", name="New returnee").click()
    page.wait_for_url("**/people/new/returnee")
    # Not a name another module gives its returnee: on one live server,
    # test_checkins_groups.py picks "Kadiatu" from a list by name: no other test may make one.
    page.get_by_label("Name the person wants to be called").fill("Fatmata")
    page.get_by_label("Caseworker").select_option(label="Mohamed Sesay")
    page.get_by_role("button", name="Create and make a code").click()
    page.wait_for_load_state("load")
    assert page.get_by_role("heading", name="Activation code for Fatmata").is_visible(), \
        page.inner_text("main")
    code = page.locator(".code-big").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4})+", code), code
    assert page.locator("html").get_attribute("data-js") is None, "JavaScript ran"
