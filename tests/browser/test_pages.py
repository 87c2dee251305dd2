"""Every page, every role, English and Dari, on a 360 px phone (DESIGN.md §5):
axe (WCAG 2.2 AA) finds nothing, nothing scrolls sideways at 360 or 320 px,
Dari is right-to-left, and the browser logs no error (a CSP violation shows
up there). Pages reached only by a form (activation sheets, sign-in steps,
forms sent back with errors) are checked the same way. In every other
language, every role's pages must still fit a 320 px phone and carry their
language and direction (the pages alike for all staff, as the coordinator)."""
from __future__ import annotations

import re

import pytest

from webapp.config import Config
from webapp.i18n import locale_tag

from .conftest import (
    PHONE,
    activate_returnee,
    axe_violations,
    flask_command,
    format_violations,
    horizontal_overflow,
    sign_in_staff,
    switch_language,
)

pytestmark = pytest.mark.browser

LANGS = ["en", "fa_AF"]
ROLES = ["anonymous", "returnee", "facilitator", "caseworker", "coordinator", "counsellor"]
# "person" stands for /people/<id> of a returnee the role may see, taken from a
# link on /people/. A name in NETWORK_OBJECTS stands for a page of one handover
# or referral (issue #21), made through the pages before the crawl
# (`network_objects`). "counsellor" is the demo's sending organisation's.
PAGES = {
    "anonymous": ["/", "/signin", "/activate", "/signin/staff", "/signin/pin", "/offline",
                  "/language", "/no-such-page", "/help/now/phone"],
    "returnee": ["/home", "/me/ledger", "/me/pin", "/language", "/plan/", "/plan/print",
                 "/plan/goals/new", "/notifications/",
                 "/help/", "/help/ask", "/help/report", "/help/now",
                 "/checkin/", "/checkin/history", "/groups/", "/me/progress", "/me/choices",
                 "/me/data", "/me/delete", "/places/", "/safety/", "/safety/edit",
                 "/network/handover", "referral"],
    "facilitator": ["/home", "/me/password", "/language", "/notifications/", "/groups/"],
    "caseworker": ["/home", "/me/password", "/language", "/people/", "/people/new/returnee",
                   "person", "/notifications/", "/alerts/", "alert", "/help/inbox",
                   "/caseload/", "/caseload/due", "/places/", "/places/new", "/places/manage",
                   "/places/check-due", "/network/", "refer", "referral_out", "/voice/"],
    "coordinator": ["/home", "/me/password", "/language", "/people/", "/people/new/returnee",
                    "/people/new/staff", "person", "/notifications/", "/alerts/", "alert",
                    "/help/inbox", "/help/medicine", "/groups/", "/groups/new",
                    "/caseload/", "/caseload/due", "/overview", "/export/", "/organisation/",
                    "/places/", "/places/import", "/network/", "/network/intake", "/report",
                    "/instruments", "incoming", "referral_in", "/voice/"],
    "counsellor": ["/home", "/people/", "/network/", "propose", "sent"],
}
# The network's pages of one object (issue #21) and the routes they are.
NETWORK_OBJECTS = {
    "propose": "/network/people/<int:user_id>/handover",  # the counsellor's, of Ousman
    "sent": "/network/out/<int:sent_id>",  # that handover, agreed by Ousman
    "incoming": "/network/in/<int:incoming_id>",  # the same, for the partner's coordinator
    "referral_in": "/network/referrals/in/<int:referral_in_id>",  # Ousman's request, agreed
    "refer": "/network/cases/<int:case_id>/refer",  # Abdul's request, for caseworker 1
    "referral_out": "/network/referrals/out/<int:referral_out_id>",  # it, to a listed service
    "referral": "/network/referrals/<int:referral_id>",  # the same, agreed, on Abdul's phone
}
STATUS = {"/no-such-page": 404}
# Pages reached through a form, checked by test_sign_in_and_activation_steps.
FLOW_PAGES = {"/activate/returnee", "/activate/staff", "/signin/staff/code",
              # The plan's pages of one goal or person: tests/browser/test_plan.py (issue #3).
              "/plan/goals/<int:goal_id>", "/plan/goals/<int:goal_id>/edit",
              "/plan/of/<int:user_id>", "/plan/of/<int:user_id>/print",
              "/plan/of/<int:user_id>/suggest",
              # checked by tests/browser/test_support.py
              "/help/cases/<int:case_id>", "/help/cases/<int:case_id>/received",
              # A group and its meetings, made in test_checkins_groups.py (issue #4).
              "/groups/<int:group_id>", "/groups/<int:group_id>/meetings/new",
              "/groups/<int:group_id>/meetings/<int:meeting_id>",
              "/groups/<int:group_id>/overview",
              # A returnee's timeline and follow-ups: tests/browser/test_monitoring.py (issue #7).
              "/caseload/<int:user_id>", "/caseload/<int:user_id>/followups",
              # A place, a safety plan, a risk check: tests/browser/test_directory.py (#22).
              "/places/<int:place_id>", "/places/<int:place_id>/edit",
              "/safety/of/<int:user_id>", "/safety/of/<int:user_id>/edit",
              "/risk/of/<int:user_id>"}
# GET routes that are not pages.
# Issue #26: pages of one person or group, reached with the test client in
# tests/test_reporting.py, test_monitoring.py and test_groups.py; to do.
MONITORING_NOT_YET_IN_A_BROWSER = {
    "/people/<int:user_id>/profile", "/groups/<int:group_id>/manage",
    "/caseload/<int:user_id>/close"}
NETWORK_NOT_YET_IN_A_BROWSER: set[str] = set()

NOT_PAGES = {"/static/<path:filename>", "/healthz", "/healthz/worker", "/manifest.webmanifest",
             "/sw.js",
             "/csrf",  # JSON for the offline queue (issue #8)
             "/me/data.json",  # a download (tests/test_privacy.py reads it)
             "/places/export.csv",  # a download (tests/test_directory.py reads it)
             "/voice/clips/<int:clip_id>/<name>"}  # a sound (tests/browser/test_voice.py plays it)
STAFF_ACCOUNTS = {"facilitator": "facilitator@", "caseworker": "caseworker1@",
                  "coordinator": "coordinator@"}


def _counsellor(live_server):
    return next(a for a in live_server.sending if a.role == "caseworker")


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


# The two fixtures below are made once per live server (session scope): the
# tests of this module are spread over the xdist workers (tests/conftest.py,
# `xdist_scope`), and each worker that runs some of them makes its own.
@pytest.fixture(scope="session")
def signed_in(new_context, live_server):
    """One phone per role (anonymous: not signed in), reused by the English
    and Dari tests."""
    sessions: dict[str, tuple] = {}

    def get(role: str):
        if role not in sessions:
            context = new_context()
            page = context.new_page()
            console = Console(page)
            if role == "returnee":
                activate_returnee(page, live_server.returnee("Abdul"))
            elif role == "counsellor":
                sign_in_staff(page, live_server, _counsellor(live_server))
            elif role != "anonymous":
                sign_in_staff(page, live_server, live_server.staff(role, STAFF_ACCOUNTS[role]))
            console.take()
            sessions[role] = (page, console)
        return sessions[role]

    return get


def audit(page, console: Console, label: str, lang: str, problems: list[str], *,
          allowed_errors: tuple[str, ...] = ()) -> None:
    """Check the page as it is now; add every problem found to `problems` (so
    one run shows them all)."""
    want_dir, want_lang = ("rtl", "fa-AF") if lang == "fa_AF" else ("ltr", "en")
    got_dir, got_lang, body_dir = page.evaluate(
        "() => [document.documentElement.getAttribute('dir'),"
        " document.documentElement.getAttribute('lang'),"
        " getComputedStyle(document.body).direction]")
    if (got_dir, got_lang) != (want_dir, want_lang):
        problems.append(f"{label}: <html dir={got_dir!r} lang={got_lang!r}>, expected "
                        f"dir={want_dir!r} lang={want_lang!r}")
    if lang == "fa_AF" and body_dir != "rtl":
        problems.append(f"{label}: the body's computed direction is not rtl")

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

    errors = [e for e in console.take() if not any(a in e for a in allowed_errors)]
    if errors:
        problems.append(f"{label}: browser errors:\n  " + "\n  ".join(errors))


def visit(page, console: Console, url: str, lang: str, problems: list[str], *,
          who: str = "", status: int | None = None) -> None:
    """Open `url`, check its HTTP status (STATUS, else 200), then audit it."""
    label = " ".join(filter(None, (lang, who, url)))
    response = page.goto(url)
    page.wait_for_load_state("load")
    want_status = status or STATUS.get(url, 200)
    if response is None or response.status != want_status:
        problems.append(f"{label}: HTTP {response and response.status}, expected {want_status} "
                        f"(now at {page.url})")
    # A 404 is also logged by the browser as a failed load.
    allowed = ("status of 404",) if want_status == 404 else ()
    audit(page, console, label, lang, problems, allowed_errors=allowed)


def _person_page(page, live_server) -> str:
    """The URL of a returnee's page, from a link on /people/."""
    page.goto("/people/")
    for returnee in live_server.returnees():
        link = page.locator(f'main a[href$="/people/{returnee.user_id}"]')
        if link.count():
            return link.first.get_attribute("href")
    raise AssertionError("no link to a returnee on /people/:\n" + page.inner_text("main"))


def _alert_page(page) -> str:
    """The URL of an alert, from the inbox (the demo seeds one for caseworker 1;
    coordinators see every alert of the organisation)."""
    page.goto("/alerts/")
    link = page.locator('main a[href^="/alerts/"]').filter(has_not_text="Refresh")
    hrefs = [h for h in link.evaluate_all("els => els.map(e => e.getAttribute('href'))")
             if re.fullmatch(r"/alerts/\d+", h)]
    assert hrefs, "no alert in the inbox:\n" + page.inner_text("main")
    return hrefs[0]


def _ask_for_help(page) -> int:
    """A support request sent from the returnee's phone: its case id."""
    page.goto("/help/ask")
    page.locator("label:has(input[name=category][value=work])").click()
    page.locator("label:has(input[name=contact_way][value=app])").click()
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/help/cases/\d+/received$"))
    return int(page.url.rsplit("/", 2)[1])


def _id_after(page, pattern: str) -> int:
    page.wait_for_url(re.compile(rf".*{pattern}/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


@pytest.fixture(scope="session")
def network_objects(signed_in, new_context, live_server) -> dict[str, str]:
    """Issue #21's objects, made through the pages as people would: the
    counsellor proposes a handover of Ousman (in preparation) and refers his
    request to the demo partner, he agrees to both on his phone; caseworker 1
    refers Abdul's request to a listed service, he agrees. {name: URL}."""
    urls: dict[str, str] = {}
    ousman_account = next(a for a in live_server.sending if a.role == "returnee")
    ousman = new_context().new_page()
    activate_returnee(ousman, ousman_account)
    switch_language(ousman, "en")
    ousman_case = _ask_for_help(ousman)

    counsellor, console = signed_in("counsellor")
    switch_language(counsellor, "en")
    urls["propose"] = f"/network/people/{ousman_account.user_id}/handover"
    counsellor.goto(urls["propose"])
    counsellor.locator("main form button[type=submit]").click()
    handover = _id_after(counsellor, "/network/out")
    urls["sent"] = f"/network/out/{handover}"
    urls["incoming"] = f"/network/in/{handover}"
    counsellor.goto(f"/network/cases/{ousman_case}/refer")
    counsellor.locator(f'main form[action$="/{ousman_case}/refer"] button[type=submit]').click()
    counsellor.wait_for_url(re.compile(rf".*/help/cases/{ousman_case}$"))
    console.take()

    ousman.goto("/network/handover")
    ousman.locator('main button[name=decision][value=agree]').click()
    ousman.wait_for_url("**/network/handover")
    link = ousman.locator('main a[href^="/network/referrals/"]').first.get_attribute("href")
    ousman.goto(link)
    ousman.locator('main button[name=decision][value=agree]').click()
    ousman.wait_for_url(f"**{link}")
    urls["referral_in"] = link.replace("/network/referrals/", "/network/referrals/in/")

    desk, desk_console = signed_in("caseworker")
    switch_language(desk, "en")
    desk.goto("/places/new")
    desk.locator("#kind").select_option("training")
    for selector, value in {"#name": "Tailoring school", "#town": "Freetown",
                            "#address": "4 Wilkinson Road", "#phone": "+232 76 000 111"}.items():
        desk.locator(selector).fill(value)
    desk.get_by_role("button", name="Save").click()
    place = _id_after(desk, "/places")
    abdul, abdul_console = signed_in("returnee")
    switch_language(abdul, "en")
    abdul_case = _ask_for_help(abdul)
    urls["refer"] = f"/network/cases/{abdul_case}/refer"
    desk.goto(urls["refer"])
    desk.locator("#place").select_option(str(place))
    desk.locator('main form[action$="/refer/place"] button[type=submit]').click()
    referral = _id_after(desk, "/network/referrals/out")
    urls["referral_out"] = f"/network/referrals/out/{referral}"
    urls["referral"] = f"/network/referrals/{referral}"
    abdul.goto(urls["referral"])
    abdul.locator('main button[name=decision][value=agree]').click()
    abdul.wait_for_url(f"**{urls['referral']}")
    assert "tel:+23276000111" in abdul.content()
    desk_console.take()
    abdul_console.take()
    return urls


def _url_of(url: str, page, live_server, objects: dict[str, str]) -> str:
    if url == "person":
        return _person_page(page, live_server)
    if url == "alert":
        return _alert_page(page)
    return objects.get(url, url)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("role", ROLES)
def test_every_page_is_accessible_fits_the_phone_and_follows_the_language(
        role, lang, signed_in, live_server, network_objects):
    page, console = signed_in(role)
    switch_language(page, lang)
    console.take()
    problems: list[str] = []
    for url in PAGES[role]:
        if url in ("person", "alert"):
            url = _url_of(url, page, live_server, network_objects)
            console.take()
        visit(page, console, network_objects.get(url, url), lang, problems)
    assert not problems, "\n\n".join(problems)
    if role != "anonymous":
        # The pages were seen signed in, not as redirects to the sign-in page.
        page.goto("/home")
        assert page.url.endswith("/home"), page.url


# The other languages: the full audit above runs in one LTR and one RTL
# language; here each of the rest only has to fit a 320 px phone (their words
# are longer: "Réintégration", "Dib-u-dejinta") and say its own lang and dir.
OTHER_LANGS = [lang for lang in Config.LANGUAGES if lang not in LANGS]
RTL = {"fa_AF", "ps", "ar"}
# Pages whose body is the same for every staff role: in the other languages
# they are seen as the coordinator only, whose menu is the longest (each
# role's own menu is seen on its other pages).
SAME_FOR_STAFF = {"/language", "/me/password", "/notifications/"}


# Text squeezed to a sliver (one letter a line), a table header broken inside
# a word, or an amount broken across lines (issue #23).
SQUEEZED = """() => {
  const out = [];
  const words = (el) => el.innerText.trim().split(/[\\s\\-\u2010]+/).filter(Boolean);
  const lines = (el) => { const r = document.createRange(); r.selectNodeContents(el);
    const tops = Array.from(r.getClientRects()).filter(x => x.width > 0).map(x => x.top)
      .sort((a, b) => a - b);
    return tops.filter((t, i) => i === 0 || t - tops[i - 1] > 8).length; };
  for (const el of document.querySelectorAll('main dd, main th, main .facts.budget dd')) {
    if (!el.innerText.trim() || !el.getClientRects().length) continue;
    const n = lines(el), w = words(el).length, text = el.innerText.trim();
    const dd = el.tagName === 'DD', narrow = el.getBoundingClientRect().width < 40;
    if (el.tagName === 'TH' && n > w) out.push('header: ' + text);
    else if (dd && el.closest('.budget') && n > 1) out.push('amount: ' + text);
    else if (dd && narrow && text.length > 3) out.push('sliver: ' + text);
  }
  return out;
}"""


# The page's <html dir, lang>, its sideways scrolling at the viewport's width
# (conftest.horizontal_overflow's measure) and SQUEEZED, in one call.
FITS_320 = """() => {
  const h = document.documentElement;
  const m = {scrollWidth: h.scrollWidth, clientWidth: h.clientWidth, innerWidth: window.innerWidth,
             bodyScrollWidth: document.body ? document.body.scrollWidth : 0};
  const limit = Math.min(m.innerWidth, m.clientWidth, 320);
  return {html: [h.getAttribute('dir'), h.getAttribute('lang')],
          overflow: Math.max(m.scrollWidth, m.bodyScrollWidth) > limit ? m : null,
          squeezed: (""" + SQUEEZED + """)()};
}"""


def _business_goal(page) -> list[str]:
    """A business goal with every budget field filled (issue #23: Somali
    squeezed its values to one letter a line, Dari broke amounts): the URLs
    of its page and of its form."""
    page.goto("/plan/goals/new?area=business")
    page.locator('main form:has(input[value="business.start"]) button[type=submit]').click()
    page.wait_for_url("**/plan/goals/*")
    goal = page.url.rsplit("/", 1)[1]
    page.goto(f"/plan/goals/{goal}/edit")
    for name, amount in (("budget_needed", "1250000"), ("budget_own", "250000.50"),
                         ("budget_asked", "900000"), ("budget_granted", "750000")):
        page.locator(f"#{name}").fill(amount)
    page.locator("main form:has(#budget_needed) button[type=submit]").last.click()
    page.wait_for_url(f"**/plan/goals/{goal}")
    return [f"/plan/goals/{goal}", f"/plan/goals/{goal}/edit"]


@pytest.fixture(scope="session")
def role_urls(signed_in, live_server, network_objects) -> dict[str, list[str]]:
    """{role: the URLs its other-language check visits}: PAGES with the
    person's, the alert's and the network's pages found, and a returnee's
    business goal made once."""
    urls: dict[str, list[str]] = {}
    for role in ROLES:
        page, console = signed_in(role)
        wanted = [url for url in PAGES[role]
                  if role in ("coordinator", "returnee", "anonymous") or url not in SAME_FOR_STAFF]
        if role == "returnee":
            switch_language(page, "en")
            wanted += _business_goal(page)
        urls[role] = [_url_of(url, page, live_server, network_objects) for url in wanted]
        console.take()
    return urls


# Issue #23: every role's pages, staff ones too, in every language. One test
# a language (each about a ninth of the work), not a role: the suite's xdist
# scheduler hands its workers the scopes with the most tests first.
@pytest.mark.parametrize("lang", OTHER_LANGS)
def test_every_other_language_fits_a_320_px_phone(lang, signed_in, role_urls):
    want = ["rtl" if lang in RTL else "ltr", locale_tag(lang)]
    problems: list[str] = []
    for role in ROLES:
        page, console = signed_in(role)
        page.set_viewport_size({"width": 320, "height": PHONE["viewport"]["height"]})
        try:
            switch_language(page, lang)
            for url in role_urls[role]:
                page.goto(url)
                # One round trip to the page per check (about 800 pages):
                # Chromium's work per call is most of this test's time.
                seen = page.evaluate(FITS_320)
                if seen["html"] != want:
                    problems.append(f"{lang} {role} {url}: <html dir, lang> {seen['html']}, "
                                    f"expected {want}")
                if seen["overflow"]:
                    problems.append(f"{lang} {role} {url}: scrolls sideways at 320 px: "
                                    f"{seen['overflow']}")
                if seen["squeezed"]:
                    problems.append(f"{lang} {role} {url}: squeezed or broken mid-word: "
                                    f"{seen['squeezed']}")
        finally:
            page.set_viewport_size(PHONE["viewport"])
            switch_language(page, "en")
            console.take()
    assert not problems, "\n".join(problems)


def _submit_empty(page) -> None:
    # The server answers with the page again: wait for it (a PIN form first
    # prepares the phone's key, static/js/vault.js, then sends).
    with page.expect_navigation():
        page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state("load")
    assert page.locator("main [aria-invalid=true], main [role=alert]").count() >= 1, (
        f"an empty form at {page.url} came back without an error:\n{page.inner_text('main')}")


def _activation_sheet(page, console, lang, problems, label) -> str:
    """On an activation sheet: check it, return the code."""
    page.wait_for_load_state("load")
    code = page.locator("main .code-big").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4})+", code), (code, page.inner_text("main"))
    audit(page, console, f"{lang} {label}", lang, problems)
    return code


@pytest.mark.parametrize("lang", LANGS)
def test_sign_in_and_activation_steps(lang, signed_in, new_context, live_server):
    """The pages between the start and being signed in, and forms sent back
    with errors (aria-invalid, messages tied to their fields)."""
    problems: list[str] = []
    bad_request = ("status of 400",)

    # A coordinator makes a returnee and a staff member who speak `lang`.
    page, console = signed_in("coordinator")
    switch_language(page, lang)
    page.goto("/people/new/returnee")
    page.locator("#display_name").fill(f"Test returnee {lang}")
    page.locator("#locale").select_option(lang)
    page.locator("main form button[type=submit]").click()
    returnee_code = _activation_sheet(page, console, lang, problems, "activation sheet (returnee)")
    page.goto("/people/new/staff")
    page.locator("#display_name").fill(f"Test staff {lang}")
    page.locator("#email").fill(f"test-staff-{lang.lower().replace('_', '-')}@example.org")
    page.locator("#locale").select_option(lang)
    page.locator("main form button[type=submit]").click()
    staff_code = _activation_sheet(page, console, lang, problems, "activation sheet (staff)")

    # A new phone in `lang` goes through the steps.
    phone = new_context().new_page()
    phone_console = Console(phone)
    switch_language(phone, lang)
    phone_console.take()
    phone.goto("/activate")
    _submit_empty(phone)
    audit(phone, phone_console, f"{lang} /activate (errors)", lang, problems,
          allowed_errors=bad_request)

    for code, step in ((returnee_code, "/activate/returnee"), (staff_code, "/activate/staff")):
        phone.goto("/activate")
        phone.locator("#code").fill(code)
        phone.locator("main form button[type=submit]").click()
        phone.wait_for_url("**" + step)
        audit(phone, phone_console, f"{lang} {step}", lang, problems)
        _submit_empty(phone)
        audit(phone, phone_console, f"{lang} {step} (errors)", lang, problems,
              allowed_errors=bad_request)

    staff = live_server.staff("coordinator")
    phone.goto("/signin/staff")
    _submit_empty(phone)
    audit(phone, phone_console, f"{lang} /signin/staff (errors)", lang, problems,
          allowed_errors=bad_request)
    phone.locator("#email").fill(staff.email)
    phone.locator("#password").fill(staff.password)
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url("**/signin/staff/code")
    audit(phone, phone_console, f"{lang} /signin/staff/code", lang, problems)
    _submit_empty(phone)
    audit(phone, phone_console, f"{lang} /signin/staff/code (errors)", lang, problems,
          allowed_errors=bad_request)

    assert not problems, "\n\n".join(problems)


def test_every_page_of_the_app_is_checked(live_server):
    """A new page fails this until it is added to PAGES above."""
    routes = flask_command(live_server.env, "routes").stdout.splitlines()
    get_rules = set()
    for line in routes[2:]:
        parts = line.split()
        if len(parts) >= 3 and "GET" in line:
            get_rules.add(parts[-1])
    assert "/home" in get_rules, routes
    covered = {u for urls in PAGES.values() for u in urls} | FLOW_PAGES
    placeholders = {"person": "/people/<int:user_id>", "alert": "/alerts/<int:alert_id>",
                    **NETWORK_OBJECTS}
    covered = {placeholders.get(u, u) for u in covered}
    missing = sorted(get_rules - covered - NOT_PAGES - NETWORK_NOT_YET_IN_A_BROWSER
                     - MONITORING_NOT_YET_IN_A_BROWSER)
    assert not missing, f"pages without browser checks (add them to PAGES): {missing}"


def test_the_checks_catch_what_they_look_for(new_context):
    """The checks above are not vacuous: an image without a text alternative
    is an axe violation, and a too-wide element is sideways scrolling."""
    page = new_context().new_page()
    page.goto("/signin")
    assert horizontal_overflow(page) is None
    page.set_viewport_size({"width": 320, "height": PHONE["viewport"]["height"]})
    fits = page.evaluate(FITS_320)
    assert fits["html"] == ["ltr", "en"] and fits["overflow"] is None, fits
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
    assert page.evaluate(FITS_320)["overflow"] is not None
