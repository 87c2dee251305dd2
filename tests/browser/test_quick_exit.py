"""Quick exit (DESIGN.md §3.6): one tap leaves for a neutral site, with or
without JavaScript; the session ends and "back" shows nothing personal."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from .conftest import activate_returnee, sign_in_pin

pytestmark = pytest.mark.browser

EXIT_URL = "https://www.google.com/search?q=weather"  # Config.QUICK_EXIT_URL's default
EXIT_HOST = "https://www.google.com"


def neutral_site(context) -> list[str]:
    """No network in tests: the neutral site answers from here. Returns the
    resource types of the requests to /exit, as they happen."""
    context.route(f"{EXIT_HOST}/**", lambda route: route.fulfill(
        status=200, body="<!doctype html><title>Weather</title><p>neutral</p>",
        content_type="text/html"))
    exits: list[str] = []
    context.on("request", lambda r: exits.append(r.resource_type)
               if urlsplit(r.url).path == "/exit" else None)
    return exits


def assert_left(page) -> None:
    page.wait_for_url(f"{EXIT_HOST}/**")
    assert page.url.startswith(EXIT_HOST), page.url
    assert page.locator("body").inner_text().strip() == "neutral"


def test_quick_exit_without_javascript(new_context):
    context = new_context(java_script_enabled=False)
    exits = neutral_site(context)
    page = context.new_page()
    page.goto("/signin")
    page.get_by_role("button", name="Quick exit").click()
    assert_left(page)
    assert page.url == EXIT_URL
    assert exits == ["document"]  # the form itself was sent


def test_quick_exit_with_javascript_ends_the_session_and_back_shows_nothing(
        new_context, live_server):
    returnee = live_server.returnee("Mariama")
    context = new_context()
    exit_requests = neutral_site(context)
    page = context.new_page()
    activate_returnee(page, returnee)
    greeting = page.get_by_text(f"Hello, {returnee.name}")
    page.get_by_role("link", name="Who looked at my information").click()
    page.wait_for_url("**/me/ledger")

    exits = live_server.requests_logged("POST", "/exit")
    page.get_by_role("button", name="Quick exit").click()
    assert_left(page)
    # The script signs out with a keepalive POST while it leaves; the page is
    # gone before the answer, so wait for the server to have had it.
    live_server.wait_for_request("POST", "/exit", before=exits)
    assert exit_requests == ["fetch"], exit_requests  # app.js's handler, not the bare form

    # Back from the neutral site: the ledger page was replaced, not kept, and
    # the page before it (/home) no longer shows anything of the person.
    page.go_back()
    page.wait_for_load_state("load")
    assert urlsplit(page.url).hostname == "127.0.0.1", page.url
    assert not greeting.is_visible(), f"back after quick exit shows the home page: {page.url}"
    assert not page.get_by_role("heading", name="Who looked at my information").is_visible()
    assert urlsplit(page.url).path not in ("/home", "/me/ledger"), page.url

    # Signed out for real: the home page asks to sign in, with the PIN on this phone.
    page.goto("/home")
    assert urlsplit(page.url).path == "/signin/pin", page.url
    assert not greeting.is_visible()
    sign_in_pin(page)
    assert greeting.is_visible()
