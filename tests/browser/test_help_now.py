"""Help that never fails (issue #18), in a real Chromium profile: "I need help
now" offline from every returnee page, without the PIN after the session
ended or the binding locked, "Someone is on it", and NUL bytes in every text
field (stored cleaned or refused with 4xx, never a 500)."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from .conftest import (
    offline,
    persistent_phone,
    returnee_on_phone,
    sign_in_staff,
    wait_until,
)
from .test_vault import _idle_deadline_passes

pytestmark = pytest.mark.browser

# Every page a returnee reaches from the home page (no id in the URL).
RETURNEE_PAGES = ["/home", "/plan/", "/checkin/", "/checkin/history", "/help/", "/help/ask",
                  "/help/report", "/groups/", "/me/progress", "/me/choices", "/me/data",
                  "/me/ledger", "/notifications/"]


@pytest.fixture()
def phone(playwright_instance, live_server, tmp_path):
    """A fresh phone profile, service worker and all."""
    with persistent_phone(playwright_instance, live_server.url, tmp_path / "profile") as context:
        yield context


@pytest.fixture(scope="module")
def db(live_server):
    engine = create_engine(live_server.env["DATABASE_URL"])
    yield engine
    engine.dispose()


def scalar(db, sql: str, **params):
    with db.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def _give_caseworker_a_device(db, returnee_id: int) -> int:
    """A push subscription for the person's caseworker, straight in the
    database: the alert queues one delivery for it."""
    cw = scalar(db, "SELECT caseworker_id FROM caseworker_assignments WHERE returnee_id = :r "
                    "AND ended_at IS NULL", r=returnee_id)
    with db.begin() as conn:
        conn.execute(text(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, label, created_at) "
            "VALUES (:u, :e, 'p', 'a', 'test', CURRENT_TIMESTAMP)"),
            {"u": cw, "e": f"https://push.invalid/{returnee_id}-{time.monotonic_ns()}"})
    return cw


def _cases(db, user_id: int, **where) -> int:
    extra = "".join(f" AND {k} = :{k}" for k in where)
    return scalar(db, f"SELECT count(*) FROM support_cases WHERE returnee_id = :u{extra}",
                  u=user_id, **where)


def test_offline_from_every_returnee_page_help_now_calls_and_queues_sent_once(
        phone, live_server, db):
    account, page = returnee_on_phone(phone, live_server, "Help Offline")
    _give_caseworker_a_device(db, account.user_id)
    for path in RETURNEE_PAGES:  # online once (the help page is kept from the first)
        page.goto(path)
    wait_until(lambda: page.evaluate(
        "() => caches.open('footing-pages').then((c) => c.match('/help/now')).then(Boolean)"),
        "the help page kept for offline")
    with offline(phone):
        for path in RETURNEE_PAGES:
            try:
                page.goto(path)
            except Exception:  # a page never kept: the offline page, with the link too
                pass
            link = page.locator("a.help-now-link, main a[href='/help/now']").first
            link.click()
            page.wait_for_url("**/help/now")
            call = page.locator("main a[href^='tel:']").first
            assert call.is_visible() and call.get_attribute("href").startswith("tel:"), path
        page.locator("main form[data-help-now] button[type=submit]").click()
        note = page.locator("#help-queued")
        note.wait_for(state="visible")
        assert note.inner_text() == ("Not sent yet. It will be sent when you are online. "
                                     "Call if you can.")
        page.wait_for_function("() => FootingQueue.items().then((i) => i.length === 1)")
        assert _cases(db, account.user_id) == 0
    # Online again: sent once, one alert, one push delivery for the caseworker.
    page.goto("/home")
    wait_until(lambda: _cases(db, account.user_id) == 1, "the report stored")
    page.reload()
    page.wait_for_timeout(800)
    assert _cases(db, account.user_id, urgency="now") == 1
    case_id = scalar(db, "SELECT id FROM support_cases WHERE returnee_id = :u", u=account.user_id)
    alerts = scalar(db, "SELECT count(*) FROM alerts WHERE source_id = :c AND "
                        "source_type = 'support_case'", c=case_id)
    assert alerts == 1
    pushes = scalar(db, "SELECT count(*) FROM push_deliveries WHERE alert_id = (SELECT id FROM "
                        "alerts WHERE source_id = :c AND source_type = 'support_case')", c=case_id)
    assert pushes == 1


def test_offline_i_need_to_use_it_on_the_safety_plan_is_queued_and_alerts_once(
        phone, live_server, db):
    """Issue #22: the safety plan's "I need to use it", tapped offline, waits
    in the queue like a report and is sent once online: one alert for the
    caseworker, however often the queue replays it."""
    account, page = returnee_on_phone(phone, live_server, "Safety Offline")
    page.goto("/safety/")  # a personal copy: readable offline from now on
    wait_until(lambda: page.evaluate(
        "() => caches.open('footing-pages').then((c) => c.match('/safety/')).then(Boolean)"),
        "the safety plan kept for offline")

    def uses() -> int:
        return scalar(db, "SELECT count(*) FROM safety_plan_uses WHERE returnee_id = :u",
                      u=account.user_id)

    with offline(phone):
        page.goto("/safety/")
        page.locator("main form[data-urgent] button[type=submit]").click()
        note = page.locator("#help-queued")
        note.wait_for(state="visible")
        page.wait_for_function("() => FootingQueue.items().then((i) => i.length === 1)")
        assert uses() == 0
    page.goto("/home")
    wait_until(lambda: uses() == 1, "the tap stored")
    wait_until(lambda: page.evaluate("FootingQueue.items().then((i) => i.length)") == 0,
                "the queue emptied")
    page.reload()
    page.wait_for_timeout(800)
    assert uses() == 1
    assert scalar(db, "SELECT count(*) FROM alerts WHERE returnee_id = :u AND "
                      "kind = 'safety_plan.used'", u=account.user_id) == 1


def _help_without_pin(page) -> None:
    page.goto("/signin/pin")
    page.locator("main a[href='/help/now/phone']").click()
    page.wait_for_url("**/help/now/phone")
    assert page.locator("main a[href^='tel:']").count() >= 1
    page.get_by_role("button", name="Yes, I need help now").click()
    page.get_by_role("heading", name="Your caseworker was told.").wait_for()


def _staff_page(new_context, live_server, db, returnee_id: int):
    """The person's caseworker, signed in in a browser of their own."""
    cw = scalar(db, "SELECT caseworker_id FROM caseworker_assignments WHERE returnee_id = :u "
                    "AND ended_at IS NULL", u=returnee_id)
    email = scalar(db, "SELECT email FROM users WHERE id = :u", u=cw)
    page = new_context().new_page()
    sign_in_staff(page, live_server, next(a for a in live_server.accounts if a.email == email))
    return page


def _alert_says_without_pin(new_context, live_server, db, user_id: int) -> None:
    alert_id = scalar(db, "SELECT a.id FROM alerts a JOIN support_cases c ON c.id = a.source_id "
                          "AND a.source_type = 'support_case' WHERE c.returnee_id = :u "
                          "AND c.without_pin", u=user_id)
    assert alert_id, "no alert for the report sent without PIN"
    page = _staff_page(new_context, live_server, db, user_id)
    page.goto(f"/alerts/{alert_id}")
    assert "Sent from the person's phone without PIN" in page.inner_text("main")


def test_session_expired_at_the_pin_page_help_without_pin_raises_a_marked_alert(
        phone, live_server, db, new_context):
    account, page = returnee_on_phone(phone, live_server, "Help Idle")
    phone.clear_cookies(name="footing_session")  # 30 minutes idle: the session has ended
    page.goto("/home")
    page.wait_for_url("**/signin/pin")
    _help_without_pin(page)
    assert "Help Idle" not in page.content()
    assert _cases(db, account.user_id, without_pin=True) == 1
    _alert_says_without_pin(new_context, live_server, db, account.user_id)


def test_a_locked_binding_can_still_send_help_without_pin(phone, live_server, db, new_context):
    account, page = returnee_on_phone(phone, live_server, "Help Locked")
    phone.clear_cookies(name="footing_session")
    for _ in range(5):
        page.goto("/signin/pin")
        if page.locator("input#pin").count() == 0:
            break
        page.locator("input#pin").fill("975310")
        # The PIN form first prepares the phone's key (static/js/vault.js),
        # then sends: wait for the server's answer.
        with page.expect_navigation():
            page.locator("main form button[type=submit]").click()
        page.wait_for_load_state()
    assert "locked" in page.inner_text("main")
    _help_without_pin(page)
    assert _cases(db, account.user_id, without_pin=True) == 1
    _alert_says_without_pin(new_context, live_server, db, account.user_id)


def test_offline_and_locked_help_now_from_the_lock_page_is_queued_and_sent_once_without_pin(
        phone, live_server, db, new_context):
    """Offline, past the idle deadline: the PIN page's help-now still asks for
    help (without the PIN), shows the organisation's number, and the report
    is sent once when the phone is back online."""
    account, page = returnee_on_phone(phone, live_server, "Help Offline Locked")
    for path in ("/home", "/plan/"):
        page.goto(path)
    wait_until(lambda: page.evaluate(
        "() => caches.open('footing-public').then((c) => c.match('/help/now/phone'))"
        ".then(Boolean)"), "the page without the PIN kept for offline")
    number = scalar(db, "SELECT o.emergency_phone FROM organisations o JOIN users u "
                        "ON u.organisation_id = o.id WHERE u.id = :u", u=account.user_id)
    with offline(phone):
        _idle_deadline_passes(page)
        page.goto("/plan/")  # her copy, locked: the PIN page
        page.locator("#vault-unlock").wait_for(state="visible")
        page.locator("main a[href='/help/now']").click()
        page.wait_for_url("**/help/now")
        assert "Help Offline Locked" not in page.content()
        call = page.locator("main a[href^='tel:']").first
        assert call.get_attribute("href") == "tel:" + number.replace(" ", "")
        page.get_by_role("button", name="Yes, I need help now").click()
        note = page.locator("#help-queued")
        note.wait_for(state="visible")
        assert note.inner_text() == ("Not sent yet. It will be sent when you are online. "
                                     "Call if you can.")
        queued = page.evaluate("FootingQueue.items()")
        assert [(i["owner"], [f[0] for f in i["fields"]]) for i in queued] == [
            ("phone", ["client_uuid"])]
        assert queued[0]["action"].endswith("/help/now/phone") and "sealed" not in queued[0]
        assert _cases(db, account.user_id) == 0
    page.goto("/signin/pin")  # online again, still signed out
    wait_until(lambda: _cases(db, account.user_id, without_pin=True) == 1, "the report stored")
    wait_until(lambda: not page.evaluate("FootingQueue.items()"), "the queue emptied")
    page.reload()
    page.wait_for_timeout(800)
    assert _cases(db, account.user_id) == 1
    assert scalar(db, "SELECT count(*) FROM alerts a JOIN support_cases c ON c.id = a.source_id "
                      "AND a.source_type = 'support_case' WHERE c.returnee_id = :u",
                  u=account.user_id) == 1
    _alert_says_without_pin(new_context, live_server, db, account.user_id)


def test_i_am_on_it_shows_the_returnee_someone_is_on_it(phone, live_server, db, new_context):
    account, page = returnee_on_phone(phone, live_server, "Help Seen")
    page.goto("/help/now")
    page.get_by_role("button", name="Yes, I need help now").click()
    page.wait_for_url("**/received")
    case_id = scalar(db, "SELECT id FROM support_cases WHERE returnee_id = :u", u=account.user_id)
    page.goto(f"/help/cases/{case_id}")
    assert "Someone is on it" not in page.inner_text("main")
    alert_id = scalar(db, "SELECT id FROM alerts WHERE source_id = :c AND "
                          "source_type = 'support_case'", c=case_id)
    staff_page = _staff_page(new_context, live_server, db, account.user_id)
    staff_page.goto(f"/alerts/{alert_id}")
    staff_page.get_by_role("button", name="I am on it").click()
    staff_page.wait_for_load_state()
    page.reload()
    assert "Someone is on it" in page.inner_text("main")
    assert page.locator("main time").count() >= 1


# Forms a returnee can send, each with every text box filled with a NUL.
NUL_PAGES = ["/checkin/", "/help/report", "/help/ask", "/help/now", "/plan/goals/new?area=work"]


def test_a_nul_in_every_text_field_is_stored_cleaned_or_refused_never_a_500(
        phone, live_server, db):
    _account, page = returnee_on_phone(phone, live_server, "Help Nul")
    statuses = {}
    for path in NUL_PAGES:
        page.goto(path)
        statuses[path] = page.evaluate("""async () => {
            const forms = document.querySelectorAll('main form[method=post]');
            const form = forms[forms.length - 1];  // the one with text boxes
            if (!form) return location.pathname + ': no form';
            const groups = new Set();
            for (const input of form.querySelectorAll('input[type=radio]')) {
                if (!groups.has(input.name)) { input.checked = true; groups.add(input.name); }
            }
            const data = new FormData(form);
            const boxes = 'textarea, input[type=text], input[type=tel], input:not([type])';
            for (const el of form.querySelectorAll(boxes)) {
                if (el.name) data.set(el.name, 'a\\u0000b\\u0007c');
            }
            const checkbox = form.querySelector('input[type=checkbox]');
            if (checkbox) data.set(checkbox.name, 'y');
            const res = await fetch(form.action, { method: 'POST', body: new URLSearchParams(data),
                                                   credentials: 'same-origin' });
            return res.status;
        }""")
    assert all(isinstance(s, int) and s < 500 for s in statuses.values()), statuses
    # Stored, and cleaned: the check-in's note and the help-now report at least.
    rows = scalar(db, "SELECT count(*) FROM support_cases c JOIN users u ON u.id = c.returnee_id "
                      "WHERE u.display_name = 'Help Nul'")
    assert rows >= 1
    with db.connect() as conn:
        texts = [v for row in conn.execute(text(
            "SELECT text, district, medicine_name, callback_phone FROM support_cases"))
            for v in row if v]
        texts += [v for (v,) in conn.execute(text("SELECT note FROM checkins")) if v]
    assert texts and not any("\x00" in v or "\x07" in v for v in texts)


HELP_KEPT = """(version) => caches.open('footing-pages').then((c) => c.match('/help/now'))
  .then((r) => Boolean(r)
    && (!version || r.headers.get('X-Copy-X-Footing-Help-Version') === version))"""
PUBLIC_KEPT = """(path) => caches.open('footing-public').then((c) => c.match(path))
  .then((r) => r ? r.text() : '')"""


def test_after_a_handover_help_offline_offers_the_new_organisations_numbers(
        phone, live_server, db):
    """Offline, "I need help now" must not offer the last organisation's number
    once the person's case has moved (a handover, issue #21; the copies were
    kept before and are fetched again only once a day). The next page online
    fetches them again: the sealed copy, and the ones for the locked phone."""
    account, page = returnee_on_phone(phone, live_server, "Help Moved")
    page.goto("/home")
    wait_until(lambda: page.evaluate(HELP_KEPT, ""), "the help page kept for offline")
    wait_until(lambda: page.evaluate(PUBLIC_KEPT, "/help/now/phone"), "the page without PIN kept")
    old = scalar(db, "SELECT o.emergency_phone FROM organisations o JOIN users u "
                     "ON u.organisation_id = o.id WHERE u.id = :u", u=account.user_id)
    with db.begin() as conn:  # as accepting a handover does (network.service)
        conn.execute(text("UPDATE users SET organisation_id = (SELECT id FROM organisations "
                          "WHERE emergency_phone = '+31 20 000 0000') WHERE id = :u"),
                     {"u": account.user_id})
    page.goto("/home")  # online once, after the handover
    version = page.locator("a.help-now-link").get_attribute("data-keep")
    wait_until(lambda: page.evaluate(HELP_KEPT, version), "the help page kept again")
    for path in ("/help/now/phone", "/offline"):
        wait_until(lambda path=path: "tel:+31200000000" in page.evaluate(PUBLIC_KEPT, path),
                   f"{path} kept again, with the new number")
    with offline(phone):
        page.goto("/help/now")
        calls = [a.get_attribute("href") for a in page.locator("main a[href^='tel:']").all()]
        assert "tel:+31200000000" in calls, calls
        assert f"tel:{old.replace(' ', '')}" not in calls, calls
