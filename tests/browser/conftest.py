"""Browser tests: the real app in a real Chromium (Debian's package, headless).

A live server runs `flask run` on a fresh SQLite database filled by
`flask seed-demo --json`; the accounts it prints are used to sign in the way a
person would, through the pages. Chromium is never downloaded: it is
/usr/bin/chromium (or $CHROMIUM_PATH). Without it the tests skip, except in CI
(CI=true), where a missing browser fails the run.

Run directly (the catalogs must be compiled first, `make test` does it):

    FOOTING_ENV=development .venv/bin/flask --app wsgi translate compile
    FOOTING_ENV=testing .venv/bin/python -m pytest tests/browser -m browser

Budgets to keep in mind when adding tests: all browsers come from 127.0.0.1,
so the live server raises the per-address sign-in limit (RATELIMIT_SIGNIN);
the per-account limit (20 tries an hour) still applies. Each demo returnee's
activation code works once
(`live_server.returnee(name)` hands each out once), and a staff TOTP code once
(`live_server.totp_code` takes care of that).

`page.wait_for_function` takes a function, `"() => ..."`, never a bare
expression: Playwright evaluates a bare expression again with eval() on each
poll, which the app's Content-Security-Policy refuses, so such a wait fails
whenever its condition is not true at once (on a slow machine).
"""
from __future__ import annotations

import functools
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import pyotp
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-first-run", "--disable-quic",
]
# A small Android phone: the layout must work here and at 320 px.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "screen": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": ("Mozilla/5.0 (Linux; Android 13; Pixel 5) AppleWebKit/537.36 "
                   "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"),
    "locale": "en-GB",
}
PIN = "246810"
SERVER_START_SECONDS = 30


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a browser test may not skip (a skipped browser test proves
    nothing): its skip is reported as a failure."""
    report = yield
    if (in_ci() and report.skipped and not hasattr(report, "wasxfail")
            and item.get_closest_marker("browser") is not None):
        report.outcome = "failed"
        report.longrepr = f"CI=true: browser test skipped: {report.longrepr}"
    return report


def require_chromium() -> None:
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return
    reason = f"Chromium not installed ({CHROMIUM} missing): apt-get install chromium"
    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


# --- The live server -------------------------------------------------------------

@dataclass
class Account:
    role: str
    name: str
    user_id: int
    email: str | None = None
    password: str | None = None
    totp_secret: str | None = None
    activation_code: str | None = None


# Every live server this process started, by its URL: a step that fails
# shows the last lines of the log of the server its page is on (`_expect_path`).
_SERVERS: dict[str, LiveServer] = {}


@dataclass
class LiveServer:
    url: str
    log: Path
    env: dict
    organisation: str
    accounts: list[Account]
    # The demo's sending organisation (issue #21): its counsellor and the
    # person preparing their return, kept apart from the partner's accounts.
    sending: list[Account] = field(default_factory=list)
    _returnees_taken: set[str] = field(default_factory=set)
    _totp_steps: dict[str, int] = field(default_factory=dict)
    # A staff account's cookies from its first sign-in here (`sign_in_staff`).
    staff_cookies: dict[str, list] = field(default_factory=dict)
    _maker: subprocess.Popen | None = None  # `flask demo-returnee --stdin` (`new_returnee`)
    _maker_log: IO[str] | None = None

    def __post_init__(self) -> None:
        _SERVERS[self.url] = self

    def staff(self, role: str, email_prefix: str | None = None) -> Account:
        for a in self.accounts:
            if a.role == role and (a.email or "").startswith(email_prefix or ""):
                return a
        raise LookupError(f"no demo account {role} {email_prefix or ''}")

    def returnee(self, name: str | None = None) -> Account:
        """A demo returnee whose activation code has not been used in this run.
        Each code works once, so every browser that activates takes its own."""
        for a in self.accounts:
            if (a.role == "returnee" and a.activation_code and a.name not in self._returnees_taken
                    and (name is None or a.name == name)):
                self._returnees_taken.add(a.name)
                return a
        raise LookupError(f"no unused demo returnee {name or ''} (taken: {self._returnees_taken})")

    def new_returnee(self, name: str, caseworker_email: str | None = None,
                     locale: str = "en") -> Account:
        """A returnee made for one test (`flask demo-returnee`), with its own code:
        for tests that need more people than the five the demo seeds. One
        process makes them all (`--stdin`): each flask process takes about 2 s
        of a core to start, and the suite makes about thirty."""
        if self._maker is None:
            self._maker_log = open(self.log.with_name("maker.log"), "w")
            self._maker = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "demo-returnee", "--stdin"],
                cwd=ROOT, env=self.env, text=True, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=self._maker_log)
        assert self._maker.stdin is not None and self._maker.stdout is not None
        self._maker.stdin.write(json.dumps({"name": name, "caseworker": caseworker_email,
                                            "locale": locale}) + "\n")
        self._maker.stdin.flush()
        data: dict = {}
        while "role" not in data and "error" not in data:  # log lines are JSON too
            line = self._maker.stdout.readline()
            if not line:
                pytest.fail("flask demo-returnee --stdin ended:\n"
                            + self.log.with_name("maker.log").read_text(), pytrace=False)
            data = json.loads(line) if line.startswith("{") else {}
        if "error" in data:
            pytest.fail(f"flask demo-returnee {name}: {data['error']}", pytrace=False)
        self._returnees_taken.add(name)
        account = Account(**{k: data.get(k) for k in Account.__dataclass_fields__})
        self.accounts.append(account)
        return account

    def close(self) -> None:
        """Stop the process `new_returnee` started, if it did."""
        if self._maker is not None:
            assert self._maker.stdin is not None and self._maker.stdout is not None
            self._maker.stdin.close()
            stop_process(self._maker, 10)
            self._maker.stdout.close()
        if self._maker_log is not None:
            self._maker_log.close()

    def returnees(self) -> list[Account]:
        return [a for a in self.accounts if a.role == "returnee"]

    def totp_code(self, account: Account) -> str:
        """A code the server has not seen yet for this account.

        The server refuses a code whose time step is not newer than the last one
        it accepted (replay protection) and accepts ±1 step, so a second sign-in
        within the same 30 s uses the next step's code, and a third waits."""
        now_step = int(time.time() // 30)
        step = max(now_step, self._totp_steps.get(account.email or "", -1) + 1)
        while step > int(time.time() // 30) + 1:
            time.sleep(1)
        self._totp_steps[account.email or ""] = step
        return pyotp.TOTP(account.totp_secret).at(step * 30)

    def requests_logged(self, method: str, path: str) -> int:
        """How many `method path` requests the server has logged so far."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return 0
        return text.count(f"{method} {path} HTTP/")

    def wait_for_request(self, method: str, path: str, before: int, seconds: float = 5) -> None:
        """Wait until the server logged one more `method path` than `before`."""
        deadline = time.monotonic() + seconds
        while self.requests_logged(method, path) <= before:
            if time.monotonic() > deadline:
                raise AssertionError(f"the server never got {method} {path}:\n{self.tail_log(20)}")
            time.sleep(0.05)

    def tail_log(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flask_command(env: dict, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        pytest.fail(f"flask {' '.join(args)} failed ({result.returncode}):\n"
                    f"{result.stdout}\n{result.stderr}", pytrace=False)
    return result


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _fresh_database(tmp: Path) -> str:
    """SQLite in a temp folder, or, with BROWSER_DATABASE_URL set (CI runs the
    offline tests on PostgreSQL too), that database dropped and made anew."""
    url = os.environ.get("BROWSER_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp}/browser.db"
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker:  # each xdist worker's live server has a database of its own
        target = target.set(database=f"{target.database}_{worker}")
        url = target.render_as_string(hide_password=False)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()
    return url


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    require_chromium()
    tmp = tmp_path_factory.mktemp("browser")
    env = dict(os.environ)
    env.pop("REDIS_URL", None)  # in-process defaults: memory rate limits, SQLite Huey
    env.pop("FLASK_DEBUG", None)
    env.update({
        "FOOTING_ENV": "development",
        "DATABASE_URL": _fresh_database(tmp),
        "SECRET_KEY": secrets.token_hex(32),
        "SESSION_COOKIE_SECURE": "0",
        # Every browser here comes from 127.0.0.1: the per-address sign-in
        # limit would count all tests as one person (tests/test_security.py
        # covers the limits themselves).
        "RATELIMIT_SIGNIN": "600 per minute",
        # A production hash costs ~160 ms of a core; the suite signs in
        # hundreds of times (tests/test_config.py checks the setting is read).
        "ARGON2_TIME_COST": "1",
        "ARGON2_MEMORY_COST": "8",
        "FOOTING_INSTANCE": str(tmp),
        "PYTHONUNBUFFERED": "1",
    })
    flask_command(env, "db", "upgrade")
    seeded = flask_command(env, "seed-demo", "--json")
    try:
        start = seeded.stdout.index("{")
        data = json.loads(seeded.stdout[start:])
    except ValueError:
        pytest.fail(f"seed-demo --json printed no JSON:\n{seeded.stdout}\n{seeded.stderr}",
                    pytrace=False)
    accounts = [Account(role=a["role"], name=a["name"], user_id=a["user_id"], email=a.get("email"),
                        password=a.get("password"), totp_secret=a.get("totp_secret"),
                        activation_code=a.get("activation_code"))
                for a in data["accounts"]]
    sending = [Account(role=a["role"], name=a["name"], user_id=a["user_id"], email=a.get("email"),
                       password=a.get("password"), totp_secret=a.get("totp_secret"),
                       activation_code=a.get("activation_code"))
               for a in data.get("sending_accounts", [])]

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp / "server.log"
    with open(log, "w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host", "127.0.0.1",
             "--port", str(port), "--no-reload"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LiveServer(url=url, log=log, env=env, organisation=data["organisation"],
                        accounts=accounts, sending=sending)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _healthy(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"live server did not answer /healthz at {url}:\n{server.tail_log()}",
                            pytrace=False)
            time.sleep(0.2)
        yield server
    finally:
        server.close()
        stop_process(proc, 10)


def stop_process(proc: subprocess.Popen, seconds: float) -> None:
    """Ask a server to stop; kill it when it has not within `seconds`."""
    proc.terminate()
    try:
        proc.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- Chromium ----------------------------------------------------------------------

@pytest.fixture(scope="session")
def playwright_instance():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def launch_options() -> dict:
    return {"executable_path": CHROMIUM, "headless": True, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def chromium(playwright_instance):
    browser = playwright_instance.chromium.launch(**launch_options())
    yield browser
    browser.close()


@pytest.fixture(scope="session")
def new_context(chromium, live_server):
    """new_context(**overrides): a phone-sized context on the live server.

    Service workers are blocked unless asked for: these contexts test pages,
    and request interception (quick exit) must see every request. The service
    worker has its own tests in a persistent profile."""
    made = []

    def make(**overrides):
        options = {**PHONE, "base_url": live_server.url, "service_workers": "block", **overrides}
        context = chromium.new_context(**options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        try:
            context.close()
        except Exception:  # already closed by the test
            pass


# --- Signing in through the pages ------------------------------------------------------

def _expect_path(page, path: str, step: str) -> None:
    """Wait for the navigation to `path`; fail with what the page says instead."""
    try:
        page.wait_for_url(f"**{path}")
    except Exception:
        try:
            text = page.inner_text("main")
        except Exception:
            text = page.content()[:2000]
        server = next((s for url, s in _SERVERS.items() if page.url.startswith(url + "/")), None)
        seen = server.tail_log(40) if server else "(no live server of this test at that address)"
        raise AssertionError(f"{step}: expected {path}, still at {page.url}:\n{text}\n"
                             f"the server's last lines:\n{seen}") from None


def sign_in_staff(page, server: LiveServer, account: Account, lang: str | None = "en") -> None:
    """Sign a demo staff account in, then (unless lang=None) set its language:
    the demo accounts are shared, and another test may have left one in Dari.

    The first sign-in of an account goes through the pages; later ones carry
    its session cookie over while the session lasts, as a second tab of the
    same browser would. Each new sign-in needs a TOTP step the server has not
    seen, up to 30 s away (`totp_code`): it was most of the suite's waiting."""
    kept = server.staff_cookies.get(account.email or "")
    if kept:
        page.context.add_cookies(kept)
        page.goto("/home")
    if not kept or urlsplit(page.url).path != "/home":
        page.goto("/signin/staff")
        page.get_by_label("E-mail address").fill(account.email)
        page.get_by_label("Password").fill(account.password)
        page.get_by_role("button", name="Next").click()
        _expect_path(page, "/signin/staff/code", f"staff sign-in of {account.email}")
        page.get_by_label("6-digit code from your authenticator app").fill(
            server.totp_code(account))
        page.get_by_role("button", name="Sign in").click()
        _expect_path(page, "/home", f"TOTP of {account.email}")
        server.staff_cookies[account.email or ""] = page.context.cookies()
    # The home page speaks the account's language, which another test may have changed.
    heading = page.get_by_role("heading", level=1)
    assert account.name in heading.inner_text(), page.content()
    if lang is not None and page.locator("html").get_attribute("lang") != _locale_tag(lang):
        switch_language(page, lang)
        page.reload()


def activate_returnee(page, account: Account, pin: str = PIN) -> None:
    """Activate this browser for a demo returnee: code, consent, PIN.

    The consent page speaks the returnee's own language (set by the
    caseworker), so its fields are found by id, not by their English labels."""
    page.goto("/activate")
    page.get_by_label("Activation code").fill(account.activation_code)
    page.get_by_role("button", name="Next").click()
    _expect_path(page, "/activate/returnee", f"activation code of {account.name}")
    page.locator("input#agree").check()
    page.locator("input#pin").fill(pin)
    page.locator("input#pin_repeat").fill(pin)
    page.locator("main form button[type=submit]").click()
    _expect_path(page, "/home", f"activation of {account.name}")
    heading = page.get_by_role("heading", level=1)
    assert account.name in heading.inner_text(), page.content()


# --- A phone of its own: service worker, going offline -------------------------------

@contextmanager
def persistent_phone(playwright_instance, base_url: str, profile: Path) -> Iterator:
    """A fresh phone profile (service worker and all) on `base_url`: for the
    tests of what the phone keeps, queues and replays."""
    context = playwright_instance.chromium.launch_persistent_context(
        str(profile), **launch_options(), **PHONE, base_url=base_url)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


@contextmanager
def offline(context) -> Iterator[None]:
    context.set_offline(True)
    try:
        yield
    finally:
        context.set_offline(False)


def wait_until(check, what: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {what}")
        time.sleep(0.1)


def returnee_on_phone(context, live_server: LiveServer, name: str) -> tuple[Account, object]:
    """A new returnee activated on this phone, its page controlled by the
    service worker."""
    account = live_server.new_returnee(name)
    page = context.pages[0] if context.pages else context.new_page()
    activate_returnee(page, account)
    page.evaluate("navigator.serviceWorker.ready")
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15_000)
    return account, page


def sign_in_pin(page, pin: str = PIN) -> None:
    page.goto("/signin/pin")
    page.get_by_label("Your PIN (6 digits)").fill(pin)
    page.get_by_role("button", name="Sign in").click()
    _expect_path(page, "/home", "PIN sign-in")


def switch_language(page, code: str) -> None:
    """Set the language as the /language form does, in one request from this
    page's browser (its cookies and session): the next page it loads speaks
    `code`; the page shown stays as it was. Two page loads fewer than
    clicking the button, for the tests whose subject is not the language
    page (the crawls audit that page itself). Signed out, there is no /csrf
    to ask a token of: the button is clicked (`choose_language`)."""
    token = page.request.get("/csrf", max_redirects=0)
    if token.status != 200:
        choose_language(page, code)
        return
    sent = page.request.post("/language", max_redirects=0,
                             form={"lang": code, "csrf_token": token.json()["token"]})
    assert sent.status == 302, f"choosing {code}: HTTP {sent.status}\n{sent.text()[:500]}"


def choose_language(page, code: str) -> None:
    """Click the language's button on /language, as a person would; the
    browser follows the form to the home (or sign-in) page."""
    page.goto("/language")
    page.locator(f'button[name="lang"][value="{code}"]').click()
    page.wait_for_load_state()
    expected = _locale_tag(code)
    actual = page.locator("html").get_attribute("lang")
    assert actual == expected, f"after choosing {code}: <html lang={actual!r}> at {page.url}"


def _locale_tag(code: str) -> str:
    # Imported here: the benches import this module before they set the
    # environment the app's configuration is read from.
    from webapp.i18n import locale_tag

    return locale_tag(code)


# --- Page checks: axe, width, direction, console -------------------------------------------

AXE_OPTIONS = {"runOnly": {"type": "tag",
                           "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
               "resultTypes": ["violations"]}


@dataclass
class AxeTally:
    pages: int = 0
    violations: int = 0
    # Rules axe could not decide on a page ("needs review"): listed, not failed.
    incomplete: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"pages": self.pages, "violations": self.violations,
                "incomplete": self.incomplete}

    def add(self, other: dict) -> None:
        self.pages += other["pages"]
        self.violations += other["violations"]
        for rule, labels in other["incomplete"].items():
            self.incomplete.setdefault(rule, []).extend(labels)


AXE_TALLY = AxeTally()


@functools.cache
def _axe_script() -> str:
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


def axe_violations(page, label: str, *, tally: bool = True) -> list[dict]:
    """Run axe (WCAG 2.0-2.2 A/AA) on the page as it is; count it in the summary.
    Only the violations and the ids of the rules axe could not decide come
    back: the whole result (every rule that passed or did not apply) took a
    third of each page's audit to hand over."""
    page.evaluate(_axe_script())
    response = page.evaluate("""(options) => axe.run(options).then((r) => ({
        violations: r.violations, incomplete: r.incomplete.map((i) => i.id)}))""", AXE_OPTIONS)
    violations = response["violations"]
    if not tally:
        return violations
    AXE_TALLY.pages += 1
    for rule in response["incomplete"]:
        AXE_TALLY.incomplete.setdefault(rule, []).append(label)
    AXE_TALLY.violations += len(violations)
    return violations


def format_violations(violations: list[dict]) -> str:
    out = []
    for v in violations:
        out.append(f"- {v['id']} ({v.get('impact')}): {v['help']} [{v.get('helpUrl', '')}]")
        for node in v["nodes"][:10]:
            out.append(f"    at {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            if summary:
                out.append(f"      {summary[:400]}")
    return "\n".join(out)


def horizontal_overflow(page) -> dict | None:
    """None when the page fits the viewport's width; else the numbers.

    Not window.innerWidth alone: on a phone (is_mobile) Chromium zooms out to
    show a too-wide page whole, and innerWidth grows with it; the layout
    viewport (clientWidth) stays the phone's width."""
    m = page.evaluate("""() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
        innerWidth: window.innerWidth,
        bodyScrollWidth: document.body ? document.body.scrollWidth : 0,
    })""")
    limit = min(m["innerWidth"], m["clientWidth"], page.viewport_size["width"])
    if max(m["scrollWidth"], m["bodyScrollWidth"]) > limit:
        return m
    return None


def pytest_sessionfinish(session):
    """An xdist worker hands its tally to the controller (tests/conftest.py
    adds them up and prints the axe summary)."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["axe_tally"] = AXE_TALLY.as_dict()
