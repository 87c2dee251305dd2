"""Every page, every role, English and Dari, on a 360 px phone (DESIGN.md §5):
axe (WCAG 2.2 AA) finds nothing, nothing scrolls sideways at 360 or 320 px,
Dari is right-to-left, and the browser logs no error (a CSP violation shows
up there)."""
from __future__ import annotations

import pytest

from .conftest import (
    PHONE, axe_violations, format_violations, horizontal_overflow, switch_language,
    activate_returnee, sign_in_staff,
)

pytestmark = pytest.mark.browser

LANGS = ["en", "fa_AF"]
ROLES = ["anonymous", "returnee", "facilitator", "caseworker", "coordinator"]
# "person" stands for /people/<id> of a returnee the role may see, taken from a
# link on /people/.
PAGES = {
    "anonymous": ["/signin", "/activate", "/signin/staff", "/signin/pin", "/offline",
                  "/no-such-page"],
    "returnee": ["/home", "/me/ledger", "/language"],
    "facilitator": ["/home", "/language"],
    "caseworker": ["/home", "/language", "/people/", "/people/new/returnee", "person"],
    "coordinator": ["/home", "/language", "/people/", "/people/new/returnee",
                    "/people/new/staff", "person"],
}
STATUS = {"/no-such-page": 404}
STAFF_ACCOUNTS = {"facilitator": "facilitator@", "caseworker": "caseworker1@",
                  "coordinator": "coordinator@"}


class Console:
    """Errors the page reported: console errors (CSP violations among them)
    and uncaught exceptions."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", lambda m: self.errors.append(f"console.{m.type}: {m.text}")
                if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))

    def take(self) -> list[str]:
        out, self.errors = self.errors, []
        return out


@pytest.fixture(scope="module")
def signed_in(new_context, live_server):
    """One signed-in phone per role, reused by the English and Dari tests."""
    sessions: dict[str, tuple] = {}

    def get(role: str):
        if role not in sessions:
            context = new_context()
            page = context.new_page()
            console = Console(page)
            if role == "anonymous":
                pass
            elif role == "returnee":
                activate_returnee(page, live_server.returnee("Abdul"))
            else:
                account = live_server.staff(role, STAFF_ACCOUNTS[role])
                sign_in_staff(page, live_server, account)
            console.take()
            sessions[role] = (page, console)
        return sessions[role]

    return get


def _person_page(page, live_server) -> str:
    """The URL of a returnee's page, from a link on /people/."""
    page.goto("/people/")
    for returnee in live_server.returnees():
        link = page.locator(f'main a[href$="/people/{returnee.user_id}"]')
        if link.count():
            return link.first.get_attribute("href")
    raise AssertionError("no link to a returnee on /people/:\n" + page.inner_text("main"))


def check_page(page, console: Console, url: str, lang: str, problems: list[str]) -> None:
    """Load `url` and add every problem found to `problems` (so one run shows them all)."""
    label = f"{lang} {url}"
    response = page.goto(url)
    page.wait_for_load_state("load")
    want_status = STATUS.get(url, 200)
    if response is None or response.status != want_status:
        problems.append(f"{label}: HTTP {response and response.status}, expected {want_status} "
                        f"(now at {page.url})")
    html = page.locator("html")
    want_dir, want_lang = ("rtl", "fa-AF") if lang == "fa_AF" else ("ltr", "en")
    if (html.get_attribute("dir"), html.get_attribute("lang")) != (want_dir, want_lang):
        problems.append(f"{label}: <html dir={html.get_attribute('dir')!r} "
                        f"lang={html.get_attribute('lang')!r}>, expected dir={want_dir!r} "
                        f"lang={want_lang!r}")
    if lang == "fa_AF" and page.evaluate("getComputedStyle(document.body).direction") != "rtl":
        problems.append(f"{label}: body's computed direction is not rtl")

    violations = axe_violations(page, label)
    if violations:
        problems.append(f"{label}: axe found {len(violations)} violation(s):\n"
                        + format_violations(violations))

    for width in (360, 320):
        page.set_viewport_size({"width": width, "height": PHONE["viewport"]["height"]})
        overflow = horizontal_overflow(page)
        if overflow:
            problems.append(f"{label}: scrolls sideways at {width} px: {overflow}")
    page.set_viewport_size(PHONE["viewport"])

    errors = console.take()
    if url in STATUS:  # the 404 itself is logged as a failed load
        errors = [e for e in errors if "status of 404" not in e]
    if errors:
        problems.append(f"{label}: browser errors:\n  " + "\n  ".join(errors))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_accessible_fits_the_phone_and_follows_the_language(
        role, lang, signed_in, live_server):
    page, console = signed_in(role)
    switch_language(page, lang)
    console.take()
    problems: list[str] = []
    for url in PAGES[role]:
        if url == "person":
            url = _person_page(page, live_server)
            console.take()
        check_page(page, console, url, lang, problems)
    assert not problems, "\n\n".join(problems)
    if role != "anonymous":
        # The pages were seen signed in, not as redirects to the sign-in page.
        page.goto("/home")
        assert page.url.endswith("/home")


@pytest.mark.parametrize("lang", LANGS)
def test_form_errors_are_accessible(lang, new_context):
    """A form sent back with errors (aria-invalid, messages tied to the field)
    passes axe too."""
    page = new_context().new_page()
    console = Console(page)
    switch_language(page, lang)
    problems: list[str] = []
    for url in ("/activate", "/signin/staff"):
        page.goto(url)
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state("load")
        invalid = page.locator("[aria-invalid=true]")
        assert invalid.count() >= 1, f"{lang} {url}: an empty form came back without errors"
        violations = axe_violations(page, f"{lang} {url} (errors)")
        if violations:
            problems.append(f"{lang} {url} with errors: axe found:\n"
                            + format_violations(violations))
        overflow = horizontal_overflow(page)
        if overflow:
            problems.append(f"{lang} {url} with errors: scrolls sideways: {overflow}")
        errors = [e for e in console.take() if "status of 400" not in e]
        if errors:
            problems.append(f"{lang} {url}: browser errors: {errors}")
    assert not problems, "\n\n".join(problems)


def test_the_checks_catch_what_they_look_for(new_context):
    """The checks above are not vacuous: an image without a text alternative
    is an axe violation, and a too-wide element is sideways scrolling."""
    page = new_context().new_page()
    page.goto("/signin")
    assert horizontal_overflow(page) is None
    page.evaluate("""() => {
        const img = document.createElement('img');
        img.src = '/static/icons/icon-192.png';
        document.querySelector('main').append(img);
        const wide = document.createElement('div');
        wide.style.width = '400px';
        wide.style.height = '10px';
        document.querySelector('main').append(wide);
    }""")
    violations = axe_violations(page, "self-test", tally=False)
    assert "image-alt" in {v["id"] for v in violations}, format_violations(violations)
    assert horizontal_overflow(page) is not None
