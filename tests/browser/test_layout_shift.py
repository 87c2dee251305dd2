"""Nothing moves when JavaScript shows its controls (issue #24: CLS ≤ 0.01).

On a phone on 2G the page is painted seconds before its scripts run; whatever
they show then (read aloud, the install button, offline, reports waiting or
sent, reports given up) must not push the page's content. Timing makes a
measured CLS vary, so the guard shows each of them itself, after the page has
settled, and counts the layout shifts that follows (bench/cls.py measures the
CLS on emulated 2G and writes bench/results/cls.md)."""
from __future__ import annotations

import pytest

from bench.cls import PHONE_SCRIPT, READ_SHIFTS, measure

from .conftest import activate_returnee

pytestmark = pytest.mark.browser

# What app.js and queue.js show, and how they show it.
SHOW = {
    "read aloud": "document.getElementById('read-aloud').hidden = false;"
                  "document.body.classList.add('reads-aloud');",
    "install button": "document.getElementById('install').hidden = false;",
    "offline note": "document.getElementById('offline-note').hidden = false;",
    "reports waiting": "const s = document.getElementById('queue-status');"
                       "s.querySelector('span').textContent = s.dataset.signin.replace('{n}', '2');"
                       "s.querySelector('a').hidden = false; s.hidden = false;",
    "reports given up": "const b = document.getElementById('queue-gave-up');"
                        "b.querySelector('ul').innerHTML = '<li><strong>400</strong></li>';"
                        "b.hidden = false;",
}


@pytest.fixture(scope="module")
def returnee_cookies(chromium, live_server):
    from tests.browser.conftest import PHONE

    context = chromium.new_context(**PHONE, base_url=live_server.url, service_workers="block")
    activate_returnee(context.new_page(), live_server.new_returnee("Steady Page"))
    cookies = context.cookies()
    context.close()
    return cookies


def _phone(new_context, cookies=None):
    context = new_context()
    if cookies:
        context.add_cookies(cookies)
    context.add_init_script(PHONE_SCRIPT)
    return context.new_page()


@pytest.mark.parametrize("path", ["/home", "/checkin/", "/plan/"])
def test_showing_what_javascript_shows_moves_nothing(new_context, returnee_cookies, path):
    page = _phone(new_context, returnee_cookies)
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.evaluate("window.__shifts = []")
    for what, script in SHOW.items():
        page.evaluate("(s) => { new Function(s)(); }", script)
        page.evaluate("() => new Promise((r) => requestAnimationFrame(() => "
                      "requestAnimationFrame(r)))")
        page.wait_for_timeout(100)
        shifts = page.evaluate(READ_SHIFTS)
        assert shifts["cls"] <= 0.01, f"{path}: showing the {what} moved {shifts['shifts']}"
    # With all of them shown and the page scrolled to its end, its last
    # words or button are not under any of them.
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    covered = page.evaluate("""() => {
        const shown = (e) => e.getClientRects().length > 0;
        const content = [...document.querySelectorAll("main *")].filter((e) => shown(e)
            && !e.closest("#read-aloud, #install, #offline-note, #queue-status, #queue-gave-up")
            && e.children.length === 0);
        const last = content[content.length - 1];
        const box = last.getBoundingClientRect();
        const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
        return top && (last.contains(top) || top.contains(last)) ? null : last.outerHTML;
    }""")
    assert covered is None, f"{path}: covered at the end: {covered}"


def test_signin_page_loads_without_a_shift(new_context):
    """Signed out, with a voice on the phone and the install offered: the
    controls come and the page does not move."""
    page = _phone(new_context)
    result = measure(page, "/signin", settle_ms=1500)
    assert page.locator("#read-aloud").is_visible()
    assert page.locator("#install").is_visible()
    assert result["cls"] <= 0.01, result["shifts"]
