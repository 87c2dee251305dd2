"""Page budgets of DESIGN.md §5 measured in a real Chromium (issue #8).

    make bench          # or: python bench/budgets.py [--no-lighthouse] [--no-throughput]

Starts the app like the browser tests do (a fresh SQLite database, `flask
seed-demo --json`, `flask demo-returnee` for the returnee measured here) and
measures with Chromium (/usr/bin/chromium, the tests' launch arguments):

- bytes on the wire (DevTools `Network.loadingFinished` encodedDataLength:
  compressed body plus headers) of the first visit (HTML + CSS, JavaScript,
  everything including what the service worker precaches), of every returnee
  page on a later visit (the shell is cached), and of every htmx partial;
- load times with emulated 2G (800 ms RTT, 50 kbit/s) and slow 3G (400 ms RTT,
  400 kbit/s), each with a 6x slower CPU (reported, never enforced);
- Lighthouse mobile scores (npm `lighthouse`, installed into bench/.node);
- requests per second under gunicorn (2 workers) of the returnee's home page
  and the check-in post, beside bare endpoints of the same app that exist
  only here (bench/throughput.py, bench/throughput_app.py).

Writes bench/results/budgets.md. The byte budgets are deterministic and
enforced in CI by tests/browser/test_budgets.py, which calls `measure_bytes`.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import throughput  # noqa: E402
from bench.stats import machine_load, spread  # noqa: E402
from bench.throughput import demo_env, free_port, wait_healthy  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "budgets.md"
KB = 1024

# DESIGN.md §5, in bytes.
BUDGETS = {
    "first visit: HTML + CSS": 14 * KB,
    "first visit: JavaScript": 30 * KB,
    "first visit: total incl. precache": 100 * KB,
    "returnee page": 10 * KB,
    "htmx partial": 5 * KB,
    # Issue #24: as a phone sees them.
    "error page": 5 * KB,
    "service worker script, revalidated": 1 * KB,
    "replayed check-in": 2 * KB,
}
FCP_RUNS = 5

# The returnee's pages, measured on a later visit. Pages an area has not
# built yet (the app answers 404) are listed as missing, not failed.
RETURNEE_PAGES = [
    "/home", "/plan/", "/plan/print", "/plan/goals/new", "/me/ledger", "/notifications/",
    "/me/pin", "/language",
    # issues #4 and #5
    "/checkin/", "/checkin/history", "/groups/", "/help/", "/help/ask", "/help/report", "/help/now",
    # a returnee's own data
    "/me/choices", "/me/data", "/me/delete",
]
NETWORKS = {
    # name: (round trip ms, kbit/s down and up)
    "2G": (800, 50),
    "slow 3G": (400, 400),
}
CPU_SLOWDOWN = 6


# --- Bytes on the wire -----------------------------------------------------------

class Wire:
    """Every response the page's DevTools session sees, with its wire size."""

    QUIET = 0.15  # seconds without a request in flight: the page is done loading

    def __init__(self, page):
        self.page = page
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.seen: dict[str, dict] = {}
        self.in_flight: set[str] = set()
        self.last_event = time.monotonic()
        self.cdp.on("Network.requestWillBeSent", self._sent)
        self.cdp.on("Network.responseReceived", self._response)
        self.cdp.on("Network.loadingFinished", self._finished)
        self.cdp.on("Network.loadingFailed", self._failed)

    def _sent(self, event: dict) -> None:
        self.in_flight.add(event["requestId"])
        self.last_event = time.monotonic()

    def _response(self, event: dict) -> None:
        response = event["response"]
        headers = {k.lower(): v for k, v in response.get("headers", {}).items()}
        self.seen[event["requestId"]] = {
            "url": response["url"], "type": event.get("type", ""), "status": response["status"],
            "encoding": headers.get("content-encoding", ""), "bytes": None,
            "cached": response.get("fromDiskCache") or response.get("fromServiceWorker"),
        }

    def _finished(self, event: dict) -> None:
        self.in_flight.discard(event["requestId"])
        self.last_event = time.monotonic()
        if event["requestId"] in self.seen:
            self.seen[event["requestId"]]["bytes"] = int(event["encodedDataLength"])

    def _failed(self, event: dict) -> None:
        self.in_flight.discard(event["requestId"])
        self.last_event = time.monotonic()

    def settle(self) -> None:
        """Wait until no request has been in flight for QUIET seconds, counted
        from now at the earliest (a click's request has time to start), at
        most 10 s. Playwright's "networkidle" waits 500 ms: a third of the
        budget test's time over its 30 pages."""
        self.last_event = max(self.last_event, time.monotonic())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
                self.in_flight or time.monotonic() - self.last_event < self.QUIET):
            self.page.wait_for_timeout(25)

    def take(self) -> list[dict]:
        """The responses since the last take, once every one has finished."""
        deadline = time.monotonic() + 10
        while any(r["bytes"] is None for r in self.seen.values()) and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
        out = [r for r in self.seen.values() if r["bytes"] is not None]
        self.seen = {}
        return out

    def load(self, url: str) -> list[dict]:
        self.take()
        response = self.page.goto(url)
        self.settle()
        return self.take() if response is not None else []


def total(responses: list[dict], types: set[str] | None = None) -> int:
    return sum(r["bytes"] for r in responses if types is None or r["type"] in types)


@dataclass
class Row:
    what: str
    measured: int | None
    budget: int | None
    note: str = ""

    @property
    def ok(self) -> bool:
        """Within its budget. A budget with no figure is not: the measurement
        broke (a row said "not seen" and passed for weeks)."""
        return self.budget is None or (self.measured is not None and self.measured <= self.budget)

    @property
    def verdict(self) -> str:
        if self.budget is None:
            return ""
        if self.measured is None:
            return "**not measured**"
        return "ok" if self.ok else "**over**"


@dataclass
class ByteReport:
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)

    def failures(self) -> list[Row]:
        return [r for r in self.rows if not r.ok]


def _shell_urls(page) -> list[str]:
    body = page.evaluate("fetch('/sw.js', {cache: 'no-store'}).then((r) => r.text())")
    return json.loads(re.search(r"const SHELL\s*=\s*(\[.*?\]);", body).group(1))


def measure_bytes(browser, base_url: str, returnee, context_options: dict,
                  activate) -> ByteReport:
    """The byte budgets, measured in `browser` against a running app.

    `returnee` is an unused demo account and `activate(page, account)` signs
    this browser in as it (tests/browser/conftest.py's helpers)."""
    report = ByteReport()

    # First visit: an empty browser opens the app's address.
    context = browser.new_context(**context_options, base_url=base_url, service_workers="allow")
    page = context.new_page()
    wire = Wire(page)
    first = wire.load("/")
    html_css = total(first, {"Document", "Stylesheet"})
    js = total(first, {"Script"})
    page.evaluate("""() => Promise.race([navigator.serviceWorker.ready,
                                        new Promise((r) => setTimeout(r, 10000))])""")
    # The service worker's own requests are not in the page's DevTools
    # session (and once it controls the page, the page's fetches are answered
    # from its cache): its script and the precache list the page did not load
    # itself are measured in a fresh browser without service workers.
    loaded = {r["url"] for r in first}
    # The install icons of the manifest: fetched by the browser when it
    # offers to install, so counted too.
    icons = [i["src"] for i in page.evaluate(
        "fetch('/manifest.webmanifest').then((r) => r.json())")["icons"]]
    extra_urls = ["/sw.js", "/manifest.webmanifest"] + [
        u for u in dict.fromkeys(_shell_urls(page) + icons) if base_url + u not in loaded]
    context.close()
    context = browser.new_context(**context_options, base_url=base_url, service_workers="block")
    page = context.new_page()
    wire = Wire(page)
    page.goto("/healthz")
    wire.take()
    page.evaluate("(urls) => Promise.all(urls.map((u) => fetch(u).then((r) => r.arrayBuffer())))",
                  extra_urls)
    page.wait_for_timeout(200)
    precache = wire.take()
    precache_js = [r for r in precache if r["url"].endswith(".js") or "/sw.js" in r["url"]]
    js += total(precache_js)
    # What the JavaScript row counted, by file name without its content hash.
    counted = [r for r in first if r["type"] == "Script"] + precache_js
    scripts = ", ".join(dict.fromkeys(
        re.sub(r"\.[0-9a-f]{12}\.js$", ".js", r["url"].rsplit("/", 1)[-1]) for r in counted))
    everything = total(first) + total(precache)
    report.rows += [
        Row("first visit: HTML + CSS", html_css, BUDGETS["first visit: HTML + CSS"],
            "document(s) incl. the redirect from / + app.css"),
        Row("first visit: JavaScript", js, BUDGETS["first visit: JavaScript"],
            scripts),
        Row("first visit: total incl. precache", everything,
            BUDGETS["first visit: total incl. precache"],
            f"{len(first) + len(precache)} responses, with the service worker, the manifest "
            "and its install icons"),
    ]
    # The service worker script, asked again as the browser does on every
    # navigation (with its validator).
    page.evaluate("fetch('/sw.js').then((r) => r.text())")
    wire.take()
    page.evaluate("fetch('/sw.js', {cache: 'no-cache'}).then((r) => r.text())")
    page.wait_for_timeout(300)
    again = [r for r in wire.take() if r["url"].endswith("/sw.js")]
    report.rows.append(Row("service worker script, revalidated",
                           again[-1]["bytes"] if again else None,
                           BUDGETS["service worker script, revalidated"],
                           "a 304 (DevTools shows the cached 200)" if again else "not seen"))
    for r in first + precache:
        report.details.append(f"{r['url'].replace(base_url, '')} {r['type']} {r['status']} "
                              f"{r['encoding'] or 'identity'} {r['bytes']} B")
    context.close()

    # The returnee's pages on a later visit: signed in, the shell cached.
    context = browser.new_context(**context_options, base_url=base_url, service_workers="block")
    page = context.new_page()
    activate(page, returnee)
    wire = Wire(page)
    wire.load("/home")  # the shell is in the browser's cache from here on
    for path in RETURNEE_PAGES:
        responses = wire.load(path)
        document = [r for r in responses if r["type"] == "Document"]
        report.details.append(f"{path}: " + ", ".join(
            f"{r['url'].replace(base_url, '')} {r['status']} {r['bytes']} B" for r in responses))
        if not document or document[-1]["status"] == 404:
            report.rows.append(Row(f"returnee page {path}", None, None, "not in this build"))
            continue
        report.rows.append(Row(f"returnee page {path}", total(responses),
                               BUDGETS["returnee page"], f"{len(responses)} responses"))

    # htmx partials: a goal with a step, then the step ticked.
    page.goto("/plan/goals/new?area=housing")
    page.locator("#title").fill("A room near the market")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r".*/plan/goals/\d+$"))
    wire.take()
    page.locator("#goal-steps #text").fill("Ask at the market office")
    partials = (("add a step", "/steps", page.locator("#goal-steps form button[type=submit]").last),
                ("tick a step", "/tick", page.locator("#goal-steps .tick").first))
    for what, suffix, button in partials:
        button.click()
        wire.settle()
        for r in wire.take():
            if r["url"].endswith(suffix):
                report.rows.append(Row(f"htmx partial: {what}", r["bytes"],
                                       BUDGETS["htmx partial"]))
    if not any(r.what.startswith("htmx partial") for r in report.rows):
        report.rows.append(Row("htmx partial", None, BUDGETS["htmx partial"],
                               "no partial seen: selectors changed?"))

    # A check-in replayed from the offline queue (queue.js's request), a
    # check-in with a mistake (its form again, 400), a page that is not there.
    page.goto("/checkin/")
    wire.take()
    sends = {
        "replayed check-in": ("/checkin/", {"mood": "3", "visibility": "caseworker"}, True),
        "error page 400 (check-in with a mistake)": ("/checkin/", {"mood": "9"}, False),
    }
    for what, (path, fields, replay) in sends.items():
        page.evaluate("""([path, fields, replay]) => {
            const token = JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken'];
            const body = new URLSearchParams({...fields, client_uuid: crypto.randomUUID(),
                                              csrf_token: token});
            const headers = replay ? {'X-Footing-Replay': '1'} : {};
            // The body is read: until it is, DevTools never sees the load finish.
            return fetch(path, {method: 'POST', body, headers, credentials: 'same-origin',
                                redirect: replay ? 'manual' : 'follow'})
                .then((r) => r.arrayBuffer().then(() => r.status));
        }""", [path, fields, replay])
        wire.settle()  # DevTools' events of the fetch arrive after it resolves
        seen = [r for r in wire.take() if r["url"].endswith(path)]
        budget = BUDGETS["replayed check-in" if replay else "error page"]
        report.rows.append(Row(what, seen[-1]["bytes"] if seen else None, budget,
                               f"status {seen[-1]['status']}, {seen[-1]['encoding'] or 'identity'}"
                               if seen else "not seen"))
    missing = wire.load("/no-such-page")
    report.rows.append(Row("error page 404", total(missing), BUDGETS["error page"],
                           f"{len(missing)} responses"))
    context.close()
    return report


# --- Load times ----------------------------------------------------------------------

def measure_times(browser, base_url: str, context_options: dict, cookies: list[dict],
                  runs: int = FCP_RUNS) -> list[str]:
    """Rows of min / median / max over `runs` loads (first contentful paint,
    DOM ready, load), per network: a first visit enters at the app's address,
    as a phone given the link does."""
    lines = []
    for name, (rtt, kbit) in NETWORKS.items():
        for label, path, warm in (("first visit /", "/", False),
                                  ("returnee /home (shell cached)", "/home", True)):
            timings = [_timed_load(browser, base_url, context_options, cookies, path, warm,
                                   rtt, kbit) for _ in range(runs)]
            cells = [_spread([t[k] for t in timings]) for k in ("fcp", "dcl", "load")]
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    return lines


def _timed_load(browser, base_url, context_options, cookies, path, warm, rtt, kbit) -> dict:
    context = browser.new_context(**context_options, base_url=base_url, service_workers="block")
    try:
        if warm:
            context.add_cookies(cookies)
        page = context.new_page()
        if warm:
            page.goto(path)
            page.wait_for_load_state("networkidle")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", {
            "offline": False, "latency": rtt,
            "downloadThroughput": kbit * 1000 / 8, "uploadThroughput": kbit * 1000 / 8})
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        page.goto(path, timeout=120_000)
        return page.evaluate("""() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const fcp = performance.getEntriesByName('first-contentful-paint')[0];
            return {load: nav.loadEventEnd, dcl: nav.domContentLoadedEventEnd,
                    fcp: fcp ? fcp.startTime : null};
        }""")
    finally:
        context.close()


def _spread(values: list) -> str:
    """min / median / max of times in ms, in seconds."""
    shown = spread([v / 1000 for v in values if v is not None], "{:.2f}")
    return shown if shown == "–" else shown + " s"


def _ms(value) -> str:
    return "–" if value is None else f"{value / 1000:.2f} s"


# --- Lighthouse ------------------------------------------------------------------------

def lighthouse(base_url: str, cookies: list[dict], chromium: str) -> list[str]:
    """Lighthouse on the pages a returnee sees (bench/lighthouse.py; `make
    bench-lighthouse` adds the caseworker's case page)."""
    from bench.lighthouse import run_pages

    cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
    return run_pages(base_url, [("/signin (signed out)", "/signin", None),
                                ("/home (returnee)", "/home", cookie),
                                ("/checkin/ (returnee)", "/checkin/", cookie),
                                ("/plan/ (returnee)", "/plan/", cookie)], chromium)


# --- The app ---------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-lighthouse", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--seconds", type=float, default=10, help="per throughput run")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL URL to run on (emptied first); default: SQLite")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import (
        CHROMIUM,
        CHROMIUM_ARGS,
        PHONE,
        Account,
        activate_returnee,
    )

    tmp = Path(tempfile.mkdtemp(prefix="footing-budgets-"))
    env = demo_env(str(tmp), args.database_url, RATELIMIT_SIGNIN="600 per minute")
    database = env["DATABASE_URL"]

    def returnee(name: str) -> Account:
        data = throughput.demo_returnee(env, name)
        return Account(**{k: data.get(k) for k in Account.__dataclass_fields__})

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(tmp / "server.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "run", "--host",
                               "127.0.0.1", "--port", str(port), "--no-reload"],
                              cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    sections: list[str] = []
    failures: list[Row] = []
    try:
        wait_healthy(url, server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            report = measure_bytes(browser, url, returnee("Budget Reader"), PHONE,
                                   activate_returnee)
            failures = report.failures()
            rows = ["| what | measured | budget | |", "|---|---|---|---|"]
            for r in report.rows:
                measured = "–" if r.measured is None else f"{r.measured / KB:.1f} KB"
                budget = "–" if r.budget is None else f"≤ {r.budget / KB:.0f} KB"
                rows.append(f"| {r.what} | {measured} | {budget} | {r.verdict} {r.note} |")
            sections.append("## Bytes on the wire (enforced in CI)\n\n" + "\n".join(rows))
            sections.append("<details><summary>Response by response</summary>\n\n```\n"
                            + "\n".join(report.details) + "\n```\n</details>")

            # A signed-in returnee for the timed and scored runs.
            context = browser.new_context(**PHONE, base_url=url, service_workers="block")
            page = context.new_page()
            activate_returnee(page, returnee("Budget Timer"))
            cookies = context.cookies()
            context.close()
            lines = measure_times(browser, url, PHONE, cookies)
            sections.append(
                f"## Load times (reported, not enforced; CPU {CPU_SLOWDOWN}x slower; "
                f"min / median / max of {FCP_RUNS} runs; goal FCP ≤ 2.5 s at / on 2G)\n\n"
                f"Machine: {machine_load()} before the runs.\n\n"
                "| network | page | first contentful paint | DOM ready | load |\n"
                "|---|---|---|---|---|\n"
                + "\n".join(lines))
            browser.close()
        if args.no_lighthouse:
            sections.append("## Lighthouse\n\nSkipped (--no-lighthouse).")
        else:
            sections.append("## Lighthouse (mobile, default profile)\n\n"
                            + "\n".join(lighthouse(url, cookies, CHROMIUM)))
        if args.no_throughput:
            sections.append("## Throughput\n\nSkipped (--no-throughput).")
        else:
            cookie = "; ".join(f"{c['name']}={c['value']}" for c in cookies)
            sections.append(f"## Throughput (on {database.split(':')[0]})\n\n"
                            + "\n".join(throughput.run(env, [cookie], args.seconds, args.workers)))
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()

    head = (f"# Page budgets\n\nMade by `make bench` (bench/budgets.py) on "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
            f"Chromium at {CHROMIUM}. Bytes are compressed body plus headers as DevTools "
            "counts them (encodedDataLength); 1 KB = 1024 bytes.\n")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(head + "\n" + "\n\n".join(sections) + "\n")
    print(RESULTS.read_text())
    if failures:
        print("over budget: " + ", ".join(r.what for r in failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
