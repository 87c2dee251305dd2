"""The directory of local services, the safety plan and the risk check in a
real Chromium (issue #22): a caseworker adds a pharmacy, a returnee finds it,
every page of the issue is accessible and fits a 320 px phone in English and
right to left (Dari, and Arabic at 320 px), and the directory stays readable
offline, even after sign-out (it is not personal)."""
from __future__ import annotations

import re

import pytest

from .conftest import (
    PHONE,
    activate_returnee,
    horizontal_overflow,
    launch_options,
    sign_in_staff,
    switch_language,
)
from .test_pages import Console, visit

pytestmark = pytest.mark.browser

CASEWORKER = "caseworker1@"
PLACE = {"#name": "Kissy Road community pharmacy and health post",
         "#town": "Freetown East", "#address": "112 Kissy Road, near the big roundabout",
         "#directions": "Take the poda-poda to Kissy, get off at the market, walk 200 m up",
         "#hours": "Monday to Saturday 8:00-20:00", "#phone": "+232 76 555 123",
         "#languages": "Krio, English, Temne", "#who": "Everyone, children with a parent",
         "#medicines": "Metformin\nInsulin\nAmoxicillin",
         "#latitude": "8.4890", "#longitude": "-13.2000"}


@pytest.fixture(scope="module")
def desk(new_context, live_server):
    """The caseworker's phone, with a pharmacy added through the form."""
    page = new_context().new_page()
    console = Console(page)
    account = live_server.staff("caseworker", CASEWORKER)
    sign_in_staff(page, live_server, account)
    switch_language(page, "en")
    page.goto("/places/new")
    page.locator("#kind").select_option("pharmacy")
    for selector, value in PLACE.items():
        page.locator(selector).fill(value)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r".*/places/\d+$"))
    place_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    console.take()
    return page, console, account, place_id


@pytest.fixture(scope="module")
def phone(playwright_instance, tmp_path_factory, live_server, desk):
    """A returnee's phone with a profile of its own (the service worker keeps
    its caches there), signed in, its caseworker the desk's."""
    _page, _console, caseworker, _place = desk
    context = playwright_instance.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("directory-phone")), **launch_options(), **PHONE,
        base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.pages[0] if context.pages else context.new_page()
    console = Console(page)
    account = live_server.new_returnee("Directory Reader", caseworker_email=caseworker.email)
    activate_returnee(page, account)
    page.wait_for_function("() => navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    console.take()
    yield page, console, account
    context.close()


def test_a_returnee_finds_the_pharmacy_and_calls_it(desk, phone):
    _desk, _c, _cw, place_id = desk
    page, _console, _account = phone
    switch_language(page, "en")
    page.goto("/help/report")
    page.get_by_role("link", name="See pharmacies and clinics").click()
    page.wait_for_url("**/places/?kind=pharmacy&kind=clinic")
    page.get_by_role("link", name=PLACE["#name"]).click()
    page.wait_for_url(f"**/places/{place_id}")
    call = page.get_by_role("link", name="Call")
    assert call.get_attribute("href") == "tel:+23276555123"
    assert "Amoxicillin" in page.inner_text("main")


@pytest.mark.parametrize("lang", ["en", "fa_AF"])
def test_the_pages_of_the_issue_are_accessible_and_fit_the_phone(desk, phone, live_server,
                                                                 lang):
    desk_page, desk_console, _cw, place_id = desk
    page, console, account = phone
    problems: list[str] = []
    switch_language(page, lang)
    console.take()
    for url in ["/places/", "/places/?kind=pharmacy&kind=clinic", "/places/?town=Freetown+East",
                f"/places/{place_id}", "/safety/", "/safety/edit", "/help/now"]:
        visit(page, console, url, lang, problems, who="returnee")
    switch_language(desk_page, lang)
    desk_console.take()
    for url in ["/places/", "/places/new", "/places/manage", "/places/check-due",
                f"/places/{place_id}", f"/places/{place_id}/edit",
                f"/safety/of/{account.user_id}", f"/safety/of/{account.user_id}/edit",
                f"/risk/of/{account.user_id}"]:
        visit(desk_page, desk_console, url, lang, problems, who="caseworker")
    # A form sent back with its errors fits too.
    desk_page.goto("/places/new")
    desk_page.locator("#phone").fill("call me maybe")
    desk_page.locator("#latitude").fill("123")
    desk_page.locator("form[method=post] button[type=submit]").last.click()
    desk_page.wait_for_load_state()
    assert desk_page.locator("#kind-error").count() == 1  # no kind: refused, said on the field
    for width in (360, 320):
        desk_page.set_viewport_size({"width": width, "height": PHONE["viewport"]["height"]})
        if overflow := horizontal_overflow(desk_page):
            problems.append(f"{lang} new place with errors: scrolls sideways at {width}: "
                            f"{overflow}")
    desk_page.set_viewport_size(PHONE["viewport"])
    switch_language(desk_page, "en")
    switch_language(page, "en")
    assert not problems, "\n\n".join(problems)


def test_arabic_fits_320_px(desk, phone):
    _desk, _c, _cw, place_id = desk
    page, console, _account = phone
    switch_language(page, "ar")
    page.set_viewport_size({"width": 320, "height": PHONE["viewport"]["height"]})
    problems = []
    try:
        # /help/now: with the directory's emergency numbers (the demo's police
        # and safe house, issue #22).
        for url in ["/places/", "/places/?kind=pharmacy", f"/places/{place_id}", "/safety/",
                    "/safety/edit", "/help/now"]:
            page.goto(url)
            assert page.locator("html").get_attribute("dir") == "rtl"
            if overflow := horizontal_overflow(page):
                problems.append(f"ar {url}: scrolls sideways at 320 px: {overflow}")
    finally:
        page.set_viewport_size(PHONE["viewport"])
        switch_language(page, "en")
    console.take()
    assert not problems, "\n".join(problems)


def test_the_directory_is_readable_offline_even_after_sign_out(desk, phone):
    _desk, _c, _cw, place_id = desk
    page, _console, _account = phone
    switch_language(page, "en")
    page.goto("/places/?kind=pharmacy&kind=clinic")
    page.goto(f"/places/{place_id}")
    page.wait_for_function("""() => caches.has('footing-public')""")
    page.goto("/home")
    # A returnee's page has the service worker keep the offline page of this
    # phone: with its organisation's emergency numbers from the directory.
    page.wait_for_function("() => caches.open('footing-public')"
                           ".then((c) => c.match('/offline')).then(Boolean)")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin**")
    page.context.set_offline(True)
    try:
        page.goto(f"/places/{place_id}")
        assert PLACE["#name"] in page.inner_text("main"), page.content()[:1500]
        assert page.get_by_role("link", name="Call").get_attribute("href") == "tel:+23276555123"
        page.goto("/places/?kind=pharmacy&kind=clinic")
        assert PLACE["#name"] in page.inner_text("main")
        # What is personal is gone: the safety plan and the home page are not kept.
        page.goto("/safety/")
        assert page.get_by_role("heading", level=1).inner_text() == "You are offline"
        # The offline page: the demo's police and safe house numbers (issue #22).
        main = page.inner_text("main")
        assert "Police and ambulance line (demo)" in main and "Safe house" in main
        assert page.locator("main a[href='tel:+23276000103']").count() == 1
        assert page.locator("main a[href='tel:+23276000000']").count() == 1  # the partner's
    finally:
        page.context.set_offline(False)


def test_nearest_first_sorts_on_the_phone_when_the_person_allows_it(desk, new_context,
                                                                     live_server):
    """The far clinic comes first by name; asked for "nearest first" with the
    phone near the pharmacy, the pharmacy comes first, with its distance. The
    position is never sent: no request carries it."""
    desk_page, _c, _cw, _place = desk
    desk_page.goto("/places/new")
    desk_page.locator("#kind").select_option("clinic")
    for selector, value in {"#name": "A far clinic", "#town": "Freetown East",
                            "#latitude": "7.9640", "#longitude": "-11.7380"}.items():
        desk_page.locator(selector).fill(value)
    desk_page.get_by_role("button", name="Save").click()
    desk_page.wait_for_url(re.compile(r".*/places/\d+$"))
    context = new_context(geolocation={"latitude": 8.4840, "longitude": -13.2290},
                          permissions=["geolocation"])
    page = context.new_page()
    activate_returnee(page, live_server.new_returnee("Nearest Tester"))
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url + " " + (r.post_data or "")))
    page.goto("/places/?town=Freetown+East")
    names = page.locator("ul.places li > a strong")
    assert names.first.inner_text() == "A far clinic"
    page.get_by_role("button", name="Nearest first").click()
    page.wait_for_function("() => document.querySelector('#nearest [role=status]')"
                           ".textContent.startsWith('Nearest first')")
    assert names.first.inner_text() == PLACE["#name"]
    assert "about 3.2 km away" in page.locator("ul.places li").first.inner_text()
    assert not [u for u in sent if "8.48" in u or "13.22" in u]
    context.close()
