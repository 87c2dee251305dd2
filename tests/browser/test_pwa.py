"""The PWA shell in a real profile: Chromium finds the app installable, and with
the service worker in control a page that cannot load shows the offline page."""
from __future__ import annotations

import pytest

from .conftest import PHONE, launch_options

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pwa_page(playwright_instance, live_server, tmp_path_factory):
    """A persistent profile (service workers and installability need one), on
    /signin with the service worker active and controlling the page."""
    profile = tmp_path_factory.mktemp("chromium-profile")
    context = playwright_instance.chromium.launch_persistent_context(
        str(profile), **launch_options(), **PHONE, base_url=live_server.url)
    context.set_default_timeout(15_000)
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto("/signin")
    ready = page.evaluate("""() => Promise.race([
        navigator.serviceWorker.ready.then(() => true),
        new Promise((resolve) => setTimeout(() => resolve(false), 10000)),
    ])""")
    assert ready is True, "the service worker did not become active within 10 s " \
        f"(install failed? a precached file missing?); console: {errors}"
    page.reload()  # the first load is not controlled; from now on it is
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    yield page, errors
    context.close()


def test_the_app_is_installable(pwa_page):
    pwa_page, errors = pwa_page
    cdp = pwa_page.context.new_cdp_session(pwa_page)
    try:
        result = cdp.send("Page.getInstallabilityErrors")
        manifest = cdp.send("Page.getAppManifest")
    finally:
        cdp.detach()
    assert result["installabilityErrors"] == [], (
        f"Chromium says the app is not installable: {result['installabilityErrors']}\n"
        f"manifest at {manifest.get('url')}: errors {manifest.get('errors')}")
    assert manifest.get("errors") == [], manifest.get("errors")
    scope = pwa_page.evaluate("navigator.serviceWorker.controller.scriptURL")
    assert scope.endswith("/sw.js")
    assert not errors, errors


def test_offline_shows_the_offline_page(pwa_page):
    pwa_page, _errors = pwa_page
    context = pwa_page.context
    context.set_offline(True)
    try:
        pwa_page.goto("/home")
        heading = pwa_page.get_by_role("heading", level=1)
        assert heading.inner_text() == "You are offline", pwa_page.content()[:2000]
        # Its styles came from the precache too: the page is not unstyled.
        assert pwa_page.evaluate(
            "getComputedStyle(document.querySelector('.bar')).display") == "flex"
        pwa_page.reload()
        assert pwa_page.get_by_role("heading", name="You are offline").is_visible()
    finally:
        context.set_offline(False)
    pwa_page.goto("/signin")
    assert pwa_page.get_by_role("heading", level=1).inner_text() == "Welcome to Footing"


def test_own_page_readable_offline_and_gone_after_signout(pwa_page, live_server):
    """The home page last seen stays readable offline; after sign-out nothing
    personal is left in the caches, online or off."""
    from .conftest import activate_returnee

    page, _errors = pwa_page
    context = page.context
    account = live_server.new_returnee("Offline Reader")
    activate_returnee(page, account)
    page.goto("/home")
    assert page.get_by_text("Offline Reader").first.is_visible()
    context.set_offline(True)
    try:
        page.goto("/home")
        assert page.get_by_text("Offline Reader").first.is_visible(), page.content()[:1500]
    finally:
        context.set_offline(False)
    page.goto("/plan/")
    assert "footing-pages" in page.evaluate("caches.keys()")
    page.goto("/home")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin**")
    _nothing_personal_left(page)


def _personal_copies(page) -> list[str]:
    """Every cached URL that is not part of the public shell (static files
    and the offline page) or a public copy (pages that hold nothing of the
    person, kept for anyone: the directory, help without the PIN): what the
    next person on the phone could read. A public copy that names whose
    reports wait on the phone (the queue's owner) counts as personal."""
    return page.evaluate("""async () => {
        const out = [];
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const req of await cache.keys()) {
                const path = new URL(req.url).pathname;
                if (path.startsWith('/static/') || path === '/offline') continue;
                if (name === 'footing-public'
                    && !/data-owner="[^"]/.test(await (await cache.match(req)).text())) continue;
                out.push(name + ' ' + path);
            }
        }
        return out;
    }""")


def _nothing_personal_left(page) -> None:
    """Offline (so that no answer of the server can clear anything now), the
    person's pages show only the offline page and no personal page is left in
    the caches."""
    page.context.set_offline(True)
    try:
        for path in ("/home", "/plan/"):
            page.goto(path)
            assert page.get_by_role("heading", level=1).inner_text() == "You are offline"
        assert _personal_copies(page) == []
    finally:
        page.context.set_offline(False)


def test_quick_exit_leaves_no_personal_page_in_the_caches(pwa_page, live_server):
    """Issue #8: after a quick exit nothing the person read stays readable,
    online or offline (the service worker forgets the pages; the answer also
    says Clear-Site-Data: "cache")."""
    from .conftest import sign_in_pin

    page, _errors = pwa_page
    context = page.context
    if page.locator("#queue-status").count() == 0:  # signed out by the test before
        sign_in_pin(page)
    for path in ("/home", "/plan/", "/plan/print"):
        page.goto(path)
    assert _personal_copies(page), "the returnee's pages were not kept for offline reading"
    context.route("https://www.google.com/**", lambda route: route.fulfill(body="weather"))
    page.get_by_role("button", name="Quick exit").click()
    page.wait_for_url("https://www.google.com/**")
    context.unroute("https://www.google.com/**")
    _nothing_personal_left(page)


def test_a_push_shows_a_notification_with_nothing_personal(pwa_page, live_server):
    """The service worker's push handler, fed the exact payload the server
    sends (webapp/push/service.py): the notification shows the generic line
    and keeps only the alert's URL for the tap."""
    import json
    import time

    page, _errors = pwa_page
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    cdp = page.context.new_cdp_session(page)
    registrations: list[str] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda e: registrations.extend(r["registrationId"] for r in e["registrations"]
                                          if not r.get("isDeleted")))
    try:
        cdp.send("ServiceWorker.enable")
        deadline = time.time() + 5
        while not registrations and time.time() < deadline:
            page.wait_for_timeout(100)
        assert registrations, "no service worker registration reported"
        payload = {"title": "Footing", "body": "Urgent: please open Footing now.",
                   "url": "/alerts/7", "tag": "alert-7"}
        cdp.send("ServiceWorker.deliverPushMessage", {
            "origin": live_server.url, "registrationId": registrations[-1],
            "data": json.dumps(payload)})
        shown = []
        deadline = time.time() + 5
        while not shown and time.time() < deadline:
            page.wait_for_timeout(100)
            shown = page.evaluate("""() => navigator.serviceWorker.ready
                .then((reg) => reg.getNotifications())
                .then((list) => list.map((n) => ({title: n.title, body: n.body, tag: n.tag,
                                                  data: n.data})))""")
    finally:
        cdp.detach()
    assert shown == [{"title": "Footing", "body": "Urgent: please open Footing now.",
                      "tag": "alert-7", "data": {"url": "/alerts/7"}}], shown


def _tap_notification(page, url: str) -> None:
    """Show a notification as the push handler does, then tap it: the
    service worker receives the same `notificationclick` event a tap gives."""
    page.evaluate("""(url) => navigator.serviceWorker.ready.then((reg) =>
        reg.showNotification("Footing", {body: "Please open Footing.", tag: "tap-test",
                                         data: {url}}))""", url)
    worker = next(w for w in page.context.service_workers if w.url.endswith("/sw.js"))
    worker.evaluate("""async () => {
        const [notification] = await self.registration.getNotifications({tag: "tap-test"});
        self.dispatchEvent(new NotificationEvent("notificationclick", {notification}));
    }""")


def test_tapping_a_notification_opens_its_page_and_only_on_this_site(pwa_page, live_server):
    """Issue #6: the tap opens what the alert points at, in the open window.
    A URL of another site in a payload is ignored (the window stays)."""
    page, _errors = pwa_page
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.goto("/signin")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    _tap_notification(page, "/language")
    page.wait_for_url("**/language")
    assert page.get_by_role("heading", level=1).count() == 1

    _tap_notification(page, "https://elsewhere.example/steal")
    page.wait_for_timeout(500)
    assert page.url == live_server.url + "/language"


def test_a_session_ended_elsewhere_leaves_nothing_readable(pwa_page, live_server):
    """The session ended on the server (timed out, the account disabled or
    deleted by the caseworker): the next page the phone asks for online is the
    sign-in page, and the pages kept of that session are forgotten with it."""
    from .conftest import activate_returnee

    page, _errors = pwa_page
    context = page.context
    account = live_server.new_returnee("Gone Elsewhere")
    activate_returnee(page, account)
    for path in ("/home", "/plan/"):
        page.goto(path)
    assert _personal_copies(page), "the returnee's pages were not kept for offline reading"
    context.clear_cookies(name="footing_session")  # as the server's end of the session looks
    page.goto("/plan/")
    page.wait_for_url("**/signin**")
    _nothing_personal_left(page)
