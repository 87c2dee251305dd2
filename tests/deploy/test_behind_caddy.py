"""Footing behind Caddy over HTTPS, as deploy/ ships it (issue #20).

A returnee's phone (Chromium, a persistent profile) activates with a demo
code, the service worker registers over https, the person checks
in and asks for help now; the caseworker's device, subscribed at a local push
receiver, gets the push the worker sends. Two HTTP clients whose connections
come from 127.0.0.2 and 127.0.0.3 do not share a sign-in bucket; pages come
over HTTP/2; the app compresses once (Caddy adds nothing); HSTS, the secure
cookie and the activation QR's URL see https. The tests run in order and share the phone.
"""
from __future__ import annotations

import gzip
import http.client
import re
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, field

import brotli
import pytest
import segno

from ..browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    PIN,
    ROOT,
    activate_returnee,
    sign_in_staff,
)
from ..conftest import TOKEN_RE
from .conftest import Stack

pytestmark = pytest.mark.deploy

ARGS = [*CHROMIUM_ARGS, "--ignore-certificate-errors"]
RETURNEE = "Abdul"  # a demo returnee of caseworker1
CASEWORKER = "caseworker1@"
URGENT = "Urgent: please open Footing now."


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def phone(playwright, stack, tmp_path_factory):
    """The returnee's phone: a persistent profile, service workers allowed."""
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path_factory.mktemp("phone")), executable_path=CHROMIUM, headless=True,
        args=ARGS, ignore_https_errors=True, base_url=stack.url, **PHONE)
    context.set_default_timeout(20_000)
    page = context.pages[0] if context.pages else context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="module")
def desk(playwright, stack):
    """The caseworker's browser, signed in."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    context = browser.new_context(ignore_https_errors=True, base_url=stack.url,
                                  service_workers="block")
    context.set_default_timeout(20_000)
    page = context.new_page()
    sign_in_staff(page, stack.server, stack.server.staff("caseworker", CASEWORKER), lang=None)
    yield page
    context.close()
    browser.close()


def test_a_returnee_activates_and_the_service_worker_registers_over_https(phone, stack):
    activate_returnee(phone, stack.server.returnee(RETURNEE), PIN)
    response = phone.goto("/home")
    assert response is not None and response.ok
    assert phone.url.startswith(stack.url + "/")
    headers = response.headers
    assert "max-age=" in headers.get("strict-transport-security", ""), headers
    assert headers.get("content-encoding") == "br", headers  # once, by the app
    cookie = next(c for c in phone.context.cookies() if c["name"] == "footing_session")
    assert cookie["secure"] and cookie["httpOnly"], cookie

    ready = phone.evaluate("""() => Promise.race([
        navigator.serviceWorker.ready.then((reg) => reg.active.scriptURL),
        new Promise((resolve) => setTimeout(() => resolve(null), 15000)),
    ])""")
    assert ready == stack.url + "/sw.js", f"service worker: {ready}\n{stack.tail()}"
    phone.reload()
    phone.wait_for_function("() => navigator.serviceWorker.controller !== null")


def test_pages_come_over_http2(desk, stack):
    """On the caseworker's browser, where no service worker answers instead."""
    cdp = desk.context.new_cdp_session(desk)
    protocols: dict[str, str] = {}
    cdp.on("Network.responseReceived",
           lambda e: protocols.setdefault(e["response"]["url"], e["response"].get("protocol")))
    cdp.send("Network.enable")
    try:
        desk.goto("/home")
        desk.wait_for_load_state("load")
    finally:
        cdp.detach()
    assert protocols.get(stack.url + "/home") == "h2", protocols
    assert set(protocols.values()) == {"h2"}, protocols  # the page's static files too


def test_the_returnee_checks_in(phone):
    phone.goto("/home")
    phone.get_by_role("link", name="Check in").tap()
    phone.wait_for_url("**/checkin/")
    phone.locator('label.radio-choice:has(input[name=mood][value="4"])').tap()
    phone.locator('label.radio-choice:has(input[name=visibility][value="caseworker"])').tap()
    phone.get_by_role("button", name="Send").tap()
    phone.wait_for_url("**/checkin/history")
    assert phone.get_by_text("Thank you. Your check-in is sent.").is_visible()
    assert "Good" in phone.locator("table.table tbody").inner_text()


def test_i_need_help_now_reaches_the_caseworkers_device(phone, desk, stack):
    subscription = stack.receiver.subscription("caseworker-phone")
    token = desk.locator('input[name="csrf_token"]').first.get_attribute("value")
    status = desk.evaluate("""([sub, token]) => fetch('/notifications/subscribe', {
        method: 'POST', body: JSON.stringify(sub),
        headers: {'Content-Type': 'application/json', 'X-CSRFToken': token},
    }).then((r) => r.status)""", [subscription, token])
    assert status == 201, status

    phone.goto("/home")
    phone.locator("main").get_by_role("link", name="I need help now").tap()
    phone.wait_for_url("**/help/now")
    phone.get_by_role("button", name="Yes, I need help now").tap()
    phone.wait_for_url(re.compile(r"/help/cases/\d+/received$"))

    received = stack.receiver.wait_for(1, timeout=30)
    assert stack.receiver.errors == [], stack.receiver.errors
    urgent = [m for m in received if m.payload["body"] == URGENT]
    assert urgent, f"no urgent push: {[m.payload for m in received]}\n{stack.tail()}"
    alert = desk.goto(urgent[0].payload["url"])
    assert alert is not None and alert.ok, urgent[0].payload


def test_the_activation_qr_points_at_https(desk, stack):
    desk.goto("/people/new/returnee")
    desk.get_by_label("Name the person wants to be called").fill("Kadi")
    desk.get_by_role("button", name="Create and make a code").click()
    code = desk.locator(".code-big").inner_text().strip()
    svg = segno.make(f"{stack.url}/activate#code={code}", error="m").svg_inline(
        scale=4, omitsize=True)
    drawing = re.search(r' d="([^"]+)"', svg).group(1)
    assert drawing in desk.content(), "the QR does not hold the https address"


# --- HTTP clients from addresses of their own ---------------------------------------------

@dataclass
class Client:
    """HTTPS to Caddy, the connection made from `source` (a loopback address)."""

    stack: Stack
    source: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, body: dict | None = None,
                headers: dict | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.stack.port), timeout=20,
                                       source_address=(self.source, 0))
        conn = http.client.HTTPSConnection("localhost", self.stack.port, timeout=20)
        try:
            conn.sock = context.wrap_socket(raw, server_hostname="localhost")
            sent = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()),
                    "Referer": self.stack.url + path, **(headers or {})}
            data = None
            if body is not None:
                data = urllib.parse.urlencode(body)
                sent["Content-Type"] = "application/x-www-form-urlencoded"
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            content = response.read()
        finally:
            conn.close()
        for line in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return response.status, response.headers, content

    def failed_signin(self, email: str, **headers: str) -> int:
        _, _, page = self.request("GET", "/signin/staff")
        token = TOKEN_RE.search(page.decode()).group(1)
        status, _, _ = self.request("POST", "/signin/staff", {
            "csrf_token": token, "email": email, "password": "wrong-wrong-wrong"}, headers)
        return status


def test_two_clients_do_not_share_a_signin_bucket(stack):
    one, other = Client(stack, "127.0.0.2"), Client(stack, "127.0.0.3")
    statuses = [one.failed_signin("nobody-1@example.org") for _ in range(11)]
    assert statuses == [401] * 10 + [429], statuses
    assert other.failed_signin("nobody-2@example.org") == 401
    # Caddy replaces what a client says of itself: no way out of the bucket.
    assert one.failed_signin("nobody-2@example.org", **{"X-Forwarded-For": "198.51.100.7"}) == 429
    # And gunicorn's access log names the real clients.
    log = stack.access_log.read_text()
    assert re.search(r'^127\.0\.0\.3 .*"POST /signin/staff HTTP/1\.1" 401', log, re.M), log[-2000:]
    assert re.search(r'^127\.0\.0\.2 .*"POST /signin/staff HTTP/1\.1" 429', log, re.M), log[-2000:]


def test_compressed_once_by_the_app_and_hsts_on_https(stack):
    client = Client(stack, "127.0.0.4")
    # /language: a signed-out page that links the stylesheet (the entry pages
    # inline it, issue #24).
    status, headers, page = client.request("GET", "/language", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip", headers
    html = gzip.decompress(page).decode()
    assert html.lstrip().lower().startswith("<!doctype html>"), html[:200]
    assert "max-age=" in headers["Strict-Transport-Security"]
    assert "Accept-Encoding" in headers["Vary"]

    css = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    status, headers, body = client.request("GET", css, headers={"Accept-Encoding": "br, gzip"})
    assert status == 200 and headers["Content-Encoding"] == "br", headers
    assert brotli.decompress(body) == (ROOT / "webapp/static/css/app.css").read_bytes()
