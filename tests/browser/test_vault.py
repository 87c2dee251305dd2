"""Nothing readable on a shared phone without the PIN, offline too (issue #19).

A real Chromium profile with the service worker in control; what the phone
keeps is read raw, as someone holding the phone with developer tools would,
through the DevTools protocol: every Cache Storage entry's body and every
IndexedDB record, whole. The idle deadline is passed by moving the vault's
deadline into the past and dropping the session cookie (the server's 30
minutes cannot be waited for here); the rest is what a person does.
"""
from __future__ import annotations

import base64
import json

import pytest

from .conftest import PIN, activate_returnee, persistent_phone, sign_in_pin

pytestmark = pytest.mark.browser

SECRET = "Qzxv the words of my safety worry"
PERSIAN_PIN = PIN.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
REPORT_FORM = "main form[method=post]"


@pytest.fixture()
def phone(playwright_instance, live_server, tmp_path):
    with persistent_phone(playwright_instance, live_server.url, tmp_path / "profile") as context:
        yield context


def _person(context, live_server, name: str):
    """A returnee activated on this phone, her pages read once (kept as copies)."""
    account = live_server.new_returnee(name)
    page = context.pages[0] if context.pages else context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    activate_returnee(page, account)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    for path in ("/home", "/plan/", "/home"):
        page.goto(path)
    assert name in page.inner_text("main")
    return account, page, errors


def _queue_concern(page, text: str) -> None:
    """A concern with her own words, made offline: it waits on the phone (the
    phone stays offline, else it would be sent at once)."""
    page.goto("/help/report")  # online, or her copy of it offline
    page.context.set_offline(True)
    page.evaluate("""([form, text]) => {
        const f = document.querySelector(form);
        const groups = new Set();
        for (const input of f.querySelectorAll('input[type=radio]')) {
            if (!groups.has(input.name)) { input.checked = true; groups.add(input.name); }
        }
        for (const box of f.querySelectorAll('textarea')) box.value = text;
    }""", [REPORT_FORM, text])
    page.locator(f"{REPORT_FORM} [type=submit]").last.click()
    page.wait_for_function("() => document.querySelector('#queue-status:not([hidden])') !== null")


def _idle_deadline_passes(page) -> None:
    """30 idle minutes later: the server's session is gone and the phone's
    deadline has passed (nothing on the page is touched but the clock)."""
    page.evaluate("""() => new Promise((resolve, reject) => {
        const req = indexedDB.open('footing-vault');
        req.onsuccess = () => {
            const t = req.result.transaction('vault', 'readwrite'), s = t.objectStore('vault');
            const get = s.get('open');
            get.onsuccess = () => { if (get.result) { get.result.until = Date.now() - 1000;
                                                      s.put(get.result, 'open'); } };
            t.oncomplete = () => { req.result.close(); resolve(); };
            t.onerror = () => reject(t.error);
        };
    })""")
    page.context.clear_cookies(name="footing_session")


def _raw_storage(page) -> str:
    """Everything the phone keeps for the site, read through the DevTools
    protocol: each cache entry's body and each IndexedDB record in full
    (byte arrays as text), one string."""
    cdp = page.context.new_cdp_session(page)
    origin = page.evaluate("location.origin")
    out: list[str] = []
    for cache in cdp.send("CacheStorage.requestCacheNames", {"securityOrigin": origin})["caches"]:
        entries = cdp.send("CacheStorage.requestEntries",
                           {"cacheId": cache["cacheId"], "skipCount": 0, "pageSize": 500})
        for entry in entries["cacheDataEntries"]:
            body = cdp.send("CacheStorage.requestCachedResponse", {
                "cacheId": cache["cacheId"], "requestURL": entry["requestURL"],
                "requestHeaders": []})["response"]["body"]
            out.append(f"{cache['cacheName']} {entry['requestURL']} "
                       + base64.b64decode(body).decode("utf-8", "replace"))
    cdp.send("Runtime.enable")
    dump = """function () {
        const seen = new WeakSet();
        return JSON.stringify(this, (k, v) => {
            if (v instanceof ArrayBuffer) return new TextDecoder().decode(v);
            if (ArrayBuffer.isView(v)) return new TextDecoder().decode(v);
            if (v && typeof v === 'object') { if (seen.has(v)) return null; seen.add(v); }
            return v;
        });
    }"""
    for db in cdp.send("IndexedDB.requestDatabaseNames", {"securityOrigin": origin})[
            "databaseNames"]:
        info = cdp.send("IndexedDB.requestDatabase", {"securityOrigin": origin,
                                                      "databaseName": db})
        for store in info["databaseWithObjectStores"]["objectStores"]:
            data = cdp.send("IndexedDB.requestData", {
                "securityOrigin": origin, "databaseName": db, "objectStoreName": store["name"],
                "skipCount": 0, "pageSize": 500})
            for entry in data["objectStoreDataEntries"]:
                value = entry["value"]
                if "objectId" in value:
                    text = cdp.send("Runtime.callFunctionOn", {
                        "objectId": value["objectId"], "functionDeclaration": dump,
                        "returnByValue": True})["result"].get("value", "")
                else:
                    text = json.dumps(value.get("value"))
                out.append(f"{db}/{store['name']} {text}")
    cdp.detach()
    return "\n".join(out)


def _copies_kept(raw: str) -> bool:
    return "\nfooting-pages http" in "\n" + raw


def _queued(page) -> list[dict]:
    return page.evaluate("FootingQueue.items()")


def _unlock_offline(page, pin: str) -> None:
    page.locator("#vault-pin").fill(pin)
    page.locator("#vault-unlock button[type=submit]").click()


def test_after_the_idle_deadline_offline_nothing_is_readable_until_the_pin(phone, live_server):
    account, page, errors = _person(phone, live_server, "Vault Expiry Person")
    _queue_concern(page, SECRET)
    try:
        assert len(_queued(page)) == 1
        _idle_deadline_passes(page)
        for path in ("/home", "/plan/"):
            page.goto(path)
            assert page.get_by_role("heading", level=1).inner_text() == "You are offline"
            assert account.name not in page.content()
        page.locator("#vault-unlock").wait_for(state="visible")
        raw = _raw_storage(page)
        assert _copies_kept(raw), "the copies should still be kept, locked"
        assert account.name not in raw and SECRET not in raw and "Qzxv" not in raw
        # The report still waits, sealed: no field of it readable.
        (item,) = _queued(page)
        assert "fields" not in item and "sealed" in item

        # Her PIN, typed in Persian digits, opens the copies on the phone.
        page.goto("/home")
        _unlock_offline(page, PERSIAN_PIN)
        page.wait_for_function(
            "(name) => document.querySelector('main').innerText.includes(name)", arg=account.name)
        page.goto("/plan/")
        assert page.get_by_role("heading", level=1).inner_text() != "You are offline"
    finally:
        phone.set_offline(False)

    # Back online: she signs in, and the report made before the lock is sent.
    sign_in_pin(page)
    page.wait_for_function("() => document.querySelector('#queue-status span')"
                           " && document.querySelector('#queue-status span').innerText === 'Sent.'")
    assert _queued(page) == []
    assert not errors, errors


def test_five_wrong_pins_offline_wipe_the_copies_and_help_now_stays(phone, live_server):
    account, page, errors = _person(phone, live_server, "Vault Wrong Pins")
    page.goto("/help/report")
    page.goto("/help/now")
    phone.set_offline(True)
    try:
        # "I need help now", offline: kind and reference only, kept outside the lock.
        page.locator("main form[method=post] button[type=submit]").click()
        page.wait_for_function("() => FootingQueue.items().then((i) => i.length === 1)")
        _queue_concern(page, SECRET)
        page.wait_for_function("() => FootingQueue.items().then((i) => i.length === 2)")
        _idle_deadline_passes(page)
        page.goto("/home")
        for _ in range(5):
            _unlock_offline(page, "135799")
            page.wait_for_function(
                "() => document.querySelector('.vault-note') !== null"
                " && document.getElementById('vault-pin').value === ''")
            page.evaluate("document.querySelector('.vault-note').remove()")
        # The copies and the key are gone; her right PIN opens nothing now.
        raw = _raw_storage(page)
        assert not _copies_kept(raw)
        assert account.name not in raw and "Qzxv" not in raw
        assert not [line for line in raw.splitlines()
                    if line.startswith("footing-vault/") and "wrapped" in line]
        (help_now,) = _queued(page)
        assert help_now["action"].endswith("/help/now") and "sealed" not in help_now
        assert [name for name, _ in help_now["fields"]] == ["client_uuid"]
        page.goto("/home")
        assert page.get_by_role("heading", level=1).inner_text() == "You are offline"
    finally:
        phone.set_offline(False)
    assert not errors, errors


def test_altered_copy_is_dropped_and_the_pin_asked_for(phone, live_server):
    account, page, errors = _person(phone, live_server, "Vault Altered Copy")
    page.evaluate("""async () => {
        const cache = await caches.open('footing-pages');
        for (const req of await cache.keys()) {
            const bytes = new Uint8Array(await (await cache.match(req)).arrayBuffer());
            bytes[bytes.length - 1] ^= 1;
            await cache.put(req, new Response(bytes));
        }
    }""")
    phone.set_offline(True)
    try:
        page.goto("/home")
        assert page.get_by_role("heading", level=1).inner_text() == "You are offline"
        # The page's script shows the PIN form once it has found the copy unreadable.
        page.locator("#vault-unlock").wait_for(state="visible")
        assert page.evaluate("caches.open('footing-pages').then((c) => c.match('/home'))") is None
    finally:
        phone.set_offline(False)
    assert not errors, errors


def test_a_second_person_after_the_lock_reads_nothing_of_the_first(phone, live_server):
    first, page, errors = _person(phone, live_server, "Vault First Person")
    _queue_concern(page, SECRET)
    _idle_deadline_passes(page)
    phone.set_offline(False)
    second = live_server.new_returnee("Vault Second Person")
    activate_returnee(page, second)
    for path in ("/home", "/plan/"):
        page.goto(path)
    raw = _raw_storage(page)
    assert first.name not in raw and "Qzxv" not in raw
    assert _queued(page) == []
    phone.set_offline(True)
    try:
        page.goto("/home")
        assert second.name in page.inner_text("main")
        assert first.name not in page.content()
    finally:
        phone.set_offline(False)
    assert not errors, errors


def test_after_a_pin_change_only_the_new_pin_opens_the_copies(phone, live_server):
    account, page, errors = _person(phone, live_server, "Vault Pin Change")
    new_pin = "975310"
    page.goto("/me/pin")
    page.locator("input#current").fill(PIN)
    page.locator("input#pin").fill(new_pin)
    page.locator("input#pin_repeat").fill(new_pin)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: not url.endswith("/me/pin"))
    page.goto("/home")
    _idle_deadline_passes(page)
    phone.set_offline(True)
    try:
        page.goto("/home")
        _unlock_offline(page, PIN)
        page.wait_for_function("() => document.querySelector('.vault-note') !== null")
        assert account.name not in page.inner_text("main")
        _unlock_offline(page, new_pin)
        page.wait_for_function(
            "(name) => document.querySelector('main').innerText.includes(name)", arg=account.name)
    finally:
        phone.set_offline(False)
    assert not errors, errors
