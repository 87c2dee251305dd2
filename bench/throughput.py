"""Requests per second under gunicorn (issue #8).

    make bench-throughput     # or: python bench/throughput.py [--workers 2] [--seconds 10]
                              #     [--database-url postgresql+psycopg://…/footing_bench_tp]

`make bench` runs the same measurement at its end (bench/budgets.py calls
`run` with the browser's cookies: one returnee); this script alone signs
`--people` returnees in (8) with Flask's test client instead, sends the
signed-in requests of each in turn, and writes bench/results/throughput-<database>.md
(sqlite or postgresql). Issue #24's figures: the check-in against the signed-in
bare insert in `--pairs` pairs of 1 s runs back to back (the verdict) and in
each of `--rounds` interleaved rounds, and the check-in's latency at 50
connections; every figure as min / median / max of its runs, each run with
the machine's load average.

The app runs under gunicorn (sync workers, production's settings and hooks,
the production app plus the bench-only endpoints of bench/throughput_app.py).
The load comes from wrk (Debian package `wrk`; one thread, four
connections), which costs a few microseconds per request. Without wrk a
Python client of four threads is used, and the report says so: that client
is itself the limit for the fastest endpoints, so it shows a lower "hello"
and higher shares.

Each endpoint is measured for `--seconds`; only 2xx and 3xx answers count,
and any other answer is reported beside the figure. Every post carries a
fresh client UUID, as a phone's would.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.stats import machine_load, percentile, spread  # noqa: E402
from tests.browser.conftest import (  # noqa: E402 (after the path is set)
    _free_port as free_port,
    _healthy,
    stop_process,  # noqa: E402
)

CHECKIN_FORM = "/checkin/"
# A usual check-in ("Okay", every question "yes", only to my caseworker)
# stores a row; "Very bad" after "Very bad" also raises a low-mood signal and
# its alert, in the same transaction, and queues its push (no worker runs
# during the bench).
CHECKIN_KINDS = {"checkin": {"mood": "3"}, "checkin_alert": {"mood": "1"}}
CONNECTIONS = 4
# Returnees signed in for the bench, whose requests the load sends in turn:
# more than the connections, so no two requests at once are one person's.
PEOPLE = 2 * CONNECTIONS
# Posts that do what the bare write does and more: shown as a share of it too.
AFTER_WRITE = ("signed_write", "form_write", *CHECKIN_KINDS)


# --- Load ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    """Whose requests a load sends: headers (the sign-in cookie, if any) and
    the form a post sends (None for a GET)."""

    headers: dict[str, str]
    fields: dict[str, str] | None = None


class Wrk:
    name = f"wrk, 1 thread, {CONNECTIONS} connections"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def rate(self, url: str, seconds: float, people: list[Person]) -> tuple[float, int]:
        """(answers per second that were 2xx or 3xx, how many were not)."""
        rate, failed, _latency = self.run(url, seconds, people, CONNECTIONS)
        return rate, failed

    def run(self, url: str, seconds: float, people: list[Person], connections: int
            ) -> tuple[float, int, dict[str, float]]:
        """(answers per second that were 2xx or 3xx, how many were not,
        latency percentiles in ms: p50, p95, p99). Each request is the next
        person's, in turn."""
        script = self.workdir / f"load-{uuid.uuid4().hex}.lua"
        post = people[0].fields is not None
        lines = ["local people = {"]
        for person in people:
            headers = dict(person.headers)
            if post:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urllib.parse.urlencode(person.fields) + "&client_uuid=" if post else ""
            lines.append("  {headers = {" + ", ".join(f'["{k}"] = [[{v}]]'
                                                      for k, v in headers.items())
                         + f"}}, body = [[{body}]]}},")
        # One Lua state (one thread): a counter turns the people and makes every UUID new.
        lines += ["}", "local n = 0", "request = function()", "  n = n + 1",
                  "  local person = people[(n % #people) + 1]",
                  # wrk.format adds Host and Content-Length to the table it is
                  # given: each request gets a copy of its person's headers.
                  "  local headers = {}",
                  "  for k, v in pairs(person.headers) do headers[k] = v end"]
        lines.append(f'  return wrk.format("POST", nil, headers, person.body .. '
                     f'string.format("{uuid.uuid4().hex[:8]}-0000-4000-8000-%012x", n))'
                     if post else '  return wrk.format("GET", nil, headers, nil)')
        lines.append("end")
        lines += ["done = function(summary, latency, requests)",
                  *[f'  io.write(string.format("p{q} %d\\n", latency:percentile({q})))'
                    for q in (50, 95, 99)],
                  "end"]
        script.write_text("\n".join(lines) + "\n")
        out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:.0f}s",
                              "--timeout", "10s", "-s", str(script), url],
                             capture_output=True, text=True, check=True).stdout
        done = re.search(r"(\d+) requests in ([\d.]+)(m?s)", out)
        elapsed = float(done.group(2)) / (1000 if done.group(3) == "ms" else 1)
        bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
        refused = int(bad.group(1)) if bad else 0
        errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                           out)
        broken = sum(int(n) for n in errors.groups()) if errors else 0
        latency = {f"p{q}": int(m.group(1)) / 1000  # wrk counts microseconds
                   for q in (50, 95, 99) if (m := re.search(rf"^p{q} (\d+)$", out, re.M))}
        return (int(done.group(1)) - refused) / elapsed, refused + broken, latency


class PythonClient:
    name = (f"Python urllib, {CONNECTIONS} threads "
            "(wrk not found: the client limits the fastest rows)")

    def rate(self, url: str, seconds: float, people: list[Person]) -> tuple[float, int]:
        done, failed = [0], [0]
        turn = itertools.count()
        stop = time.monotonic() + seconds
        lock = threading.Lock()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)

        def client():
            ok_count = bad_count = 0
            while time.monotonic() < stop:
                person = people[next(turn) % len(people)]
                if person.fields is None:
                    request = urllib.request.Request(url, headers=person.headers)
                else:
                    data = urllib.parse.urlencode({**person.fields,
                                                   "client_uuid": str(uuid.uuid4())})
                    headers = {**person.headers,
                               "Content-Type": "application/x-www-form-urlencoded"}
                    request = urllib.request.Request(url, data=data.encode(), headers=headers)
                try:
                    with opener.open(request, timeout=30) as r:
                        r.read()
                        ok = r.status < 400
                except urllib.error.HTTPError as e:
                    ok = e.code < 400
                except OSError:
                    ok = False
                ok_count += ok
                bad_count += not ok
            with lock:
                done[0] += ok_count
                failed[0] += bad_count

        started = time.monotonic()
        threads = [threading.Thread(target=client) for _ in range(CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return done[0] / (time.monotonic() - started), failed[0]


def load_client(workdir: Path):
    return Wrk(workdir) if shutil.which("wrk") else PythonClient()


# --- The check-in form ----------------------------------------------------------------

def checkin_fields(url: str, cookie: str, overrides: dict[str, str]) -> dict[str, str] | None:
    """The check-in form's fields as its page offers them (the first choice of
    every question, the CSRF token) with `overrides`; None if there is no form."""
    try:
        with urllib.request.urlopen(urllib.request.Request(url + CHECKIN_FORM,
                                                           headers={"Cookie": cookie})) as r:
            page = r.read().decode()
    except urllib.error.HTTPError:
        return None
    fields: dict[str, str] = {}

    class Form(HTMLParser):
        select: str | None = None

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "option" and self.select and a.get("value"):
                fields.setdefault(self.select, a["value"])
                return
            name = a.get("name")
            if not name:
                return
            if tag == "input" and a.get("type") in ("radio", "checkbox"):
                fields.setdefault(name, a.get("value", "on"))
            elif tag == "input" and a.get("type") != "submit":
                fields.setdefault(name, a.get("value", ""))
            elif tag == "select":
                self.select = name
            elif tag == "textarea":
                fields.setdefault(name, "")

        def handle_startendtag(self, tag, attrs):
            self.handle_starttag(tag, attrs)

    Form().feed(page)
    if "client_uuid" not in fields:
        return None
    fields.pop("client_uuid")
    return {**fields, **overrides}


# --- The server -------------------------------------------------------------------------

def wait_healthy(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not _healthy(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the app did not start at {url}")
        time.sleep(0.2)


def flask(env: dict, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120, check=True)
    return result.stdout


def demo_env(tmp: str, database_url: str = "", **settings: str) -> dict:
    """The environment of a production-like app with demo data, on a fresh
    SQLite file in `tmp` or on `database_url` (PostgreSQL, emptied first)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "FLASK_DEBUG")}
    database = database_url or f"sqlite:///{tmp}/bench.db"
    if database.startswith("postgresql"):
        from bench.caseload import ensure_database

        ensure_database(database)
    env.update({"FOOTING_ENV": "development", "DATABASE_URL": database,
                "SECRET_KEY": secrets.token_hex(32), "SESSION_COOKIE_SECURE": "0",
                "FOOTING_INSTANCE": str(tmp), **settings})
    flask(env, "db", "upgrade")
    flask(env, "seed-demo", "--json")
    return env


def demo_returnee(env: dict, name: str) -> dict:
    """A new returnee of the demo organisation (`flask demo-returnee`): its
    JSON, with the activation code."""
    out = flask(env, "demo-returnee", name)
    return json.loads(out[out.index("{"):])


def signed_in_here(env: dict, name: str):
    """The bench app in this process (configured by `env`) and a test client
    of a new returnee, activated and signed in, whose session holds the CSRF
    token of the check-in form: (app, web, that token)."""
    code = demo_returnee(env, name)["activation_code"]
    os.environ.update(env)
    from bench.throughput_app import app
    from tests.conftest import Web, activate_returnee

    web = Web(app.test_client())
    activate_returnee(web, code)
    return app, web, web.token(CHECKIN_FORM)


ROUNDS = 5
RESTATED_GOAL = 0.8  # issue #24: POST /checkin/ against a signed-in bare insert
# Issue #24's verdict on that share: many short pairs, the two runs of each
# back to back, so that a change in the machine's speed between the two
# weighs little (two 5 s runs of a round differ by up to ±20 % on a shared
# machine, with the same code).
QUICK_PAIRS = 30
QUICK_SECONDS = 1
PAIR = ("signed_write", "checkin")
LATENCY_CONNECTIONS = 50  # issue #24: check-in p95 at 50 connections, 2 workers
LATENCY_GOAL_MS = 250
LABELS = {
    "hello": "bare hello (bench only)",
    "form": "bare form post: read the form, redirect (bench only)",
    "write": "bare write: one row inserted and committed, no sign-in, no CSRF (bench only)",
    "signed_write":
        "+ signed in (session lookup) + thank-you message in the cookie (bench only)",
    "form_write": "+ CSRF check + the check-in form validated (bench only)",
    "checkin": f'POST {CHECKIN_FORM}: a usual check-in ("Okay", all "yes")',
    "checkin_alert": f'POST {CHECKIN_FORM}: "Very bad" again, so it also raises an alert '
                     "(signal + alert + queued push)",
    "home": "GET /home (returnee)",
}


def _load_now() -> float:
    return os.getloadavg()[0]


def run(env: dict, cookies: list[str], seconds: float, workers: int, rounds: int = ROUNDS,
        latency: bool = True, quick_pairs: int = QUICK_PAIRS) -> list[str]:
    """The throughput section of the report, as markdown lines.

    Every row is measured in each of `rounds` interleaved rounds (the order
    turns by one row each round), so a machine whose load changes during the
    run weighs on every row alike; the check-in's share of the signed-in bare
    insert is taken within each round, from two runs back to back, and again
    from `quick_pairs` pairs of QUICK_SECONDS runs (the verdict). Then, with
    wrk, the check-in alone at LATENCY_CONNECTIONS connections, `rounds`
    times, for its latency.

    `cookies` are the signed-in returnees' (one or more): a signed-in row's
    requests are theirs in turn, each with that person's own form, as a
    service's load comes from many people. (One person's check-ins sent back
    to back would also wait for each other on that person's rows, which no
    phone does: a check-in is one person's, one at a time.)"""
    subprocess.run([sys.executable, "-c", "from bench.throughput_app import create_rows_table; "
                    "create_rows_table()"], cwd=ROOT, env=env, check=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    # Production's settings and hooks (deploy/footing-web.service), with the bench's app.
    proc = subprocess.Popen([str(gunicorn), "-c", "python:webapp.gunicorn_conf",
                             "--workers", str(workers),
                             "--bind", f"127.0.0.1:{port}",
                             "--log-level", "warning", "bench.throughput_app:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workdir = Path(tempfile.mkdtemp(prefix="footing-load-"))
    load = load_client(workdir)
    signed = [{"Cookie": cookie, "Accept-Encoding": "br, gzip"} for cookie in cookies]
    # key -> [(requests/s, failed, load average during that run)]
    runs: dict[str, list[tuple[float, int, float]]] = {}
    slow: list[tuple[float, int, dict[str, float], float]] = []
    quick: list[tuple[float, float, int]] = []  # check-in/s, signed insert/s, failed
    try:
        wait_healthy(url, proc, seconds=120)  # a shared machine can take its time
        # Each person's check-in form (its CSRF token is that person's), per kind.
        forms = {key: [checkin_fields(url, cookie, overrides) for cookie in cookies]
                 for key, overrides in CHECKIN_KINDS.items()}
        usual = forms["checkin"]
        # Every post sends the check-in's body: the bare ones without the cookie.
        bare = usual[0] or {"mood": "3", "note": ""}
        own = [Person(h, fields or bare) for h, fields in zip(signed, usual, strict=True)]
        targets: dict[str, tuple[str, list[Person]]] = {
            "hello": (url + "/bench/hello", [Person({})]),
            "form": (url + "/bench/form", [Person({}, bare)]),
            "write": (url + "/bench/write", [Person({}, bare)]),
            "signed_write": (url + "/bench/signed-write", own),
            "form_write": (url + "/bench/form-write", own),
            "home": (url + "/home", [Person(h) for h in signed]),
            **{key: (url + CHECKIN_FORM,
                     [Person(h, f) for h, f in zip(signed, fields, strict=True)])
               for key, fields in forms.items() if all(fields)},
        }
        # The check-in and the signed-in insert it is compared with run back
        # to back (which goes first alternates); the rest turns around them.
        pair = PAIR if "checkin" in targets else ("signed_write",)
        order: list[tuple[str, ...]] = [(k,) for k in targets if k not in pair]
        order.insert(3, pair)
        for n in range(rounds):
            turned = order[n % len(order):] + order[:n % len(order)]
            keys = [k for unit in turned for k in (unit if n % 2 == 0 else unit[::-1])]
            for key in keys:
                target, people = targets[key]
                before = _load_now()
                rate, failed = load.rate(target, seconds, people)
                runs.setdefault(key, []).append((rate, failed, max(before, _load_now())))
        for n in range(quick_pairs if "checkin" in targets else 0):
            got = {key: load.rate(targets[key][0], QUICK_SECONDS, targets[key][1])
                   for key in (PAIR if n % 2 == 0 else PAIR[::-1])}
            quick.append((got["checkin"][0], got["signed_write"][0],
                          got["checkin"][1] + got["signed_write"][1]))
        if latency and isinstance(load, Wrk) and "checkin" in targets:
            for _ in range(rounds):
                before = _load_now()
                rate, failed, percentiles = load.run(url + CHECKIN_FORM, seconds,
                                                     targets["checkin"][1], LATENCY_CONNECTIONS)
                slow.append((rate, failed, percentiles, max(before, _load_now())))
    finally:
        stop_process(proc, 30)
        shutil.rmtree(workdir, ignore_errors=True)
    return _report(runs, slow, quick, load, seconds, workers, rounds, len(cookies))


def _report(runs, slow, quick, load, seconds: float, workers: int, rounds: int,
            people: int) -> list[str]:
    def median(key: str) -> float:
        return percentile([r for r, _f, _l in runs.get(key, [])], .5) or 1

    lines = [f"Load: {load.name}; signed-in requests from {people} returnee"
             f"{'s in turn' if people > 1 else ''}; "
             f"gunicorn {workers} sync workers with production's settings "
             f"(webapp/gunicorn_conf.py); {seconds:.0f} s per run; "
             f"{rounds} interleaved rounds. Figures are min / median / max of the rounds; "
             "the load average (1 min) is the highest seen at the start or end of each run.",
             "", "| endpoint | requests/s | share of hello (medians) | share of bare write "
             "(medians) | load average |", "|---|---|---|---|---|"]
    hello, write = median("hello"), median("write")
    for key, label in LABELS.items():
        if key not in runs:
            lines.append(f"| {label} | not measured (no check-in form) | | | |")
            continue
        rates = [r for r, _f, _l in runs[key]]
        failed = sum(f for _r, f, _l in runs[key])
        shown = spread(rates) + (f" ({failed} failed)" if failed else "")
        of_write = f"{median(key) / write:.0%}" if key in AFTER_WRITE else "–"
        share = "100 %" if key == "hello" else f"{median(key) / hello:.0%}"
        lines.append(f"| {label} | {shown} | {share} | {of_write} | "
                     f"{spread([ld for _r, _f, ld in runs[key]], '{:.1f}')} |")
    if quick:
        shares = [c / w * 100 for c, w, _f in quick if w]
        mid = percentile(shares, .5)
        failed = sum(f for _c, _w, f in quick)
        lines += ["", f"POST {CHECKIN_FORM} against the signed-in bare insert (goal ≥ "
                  f"{RESTATED_GOAL:.0%} as the median: "
                  f"{'met' if mid >= RESTATED_GOAL * 100 else 'NOT met'}): {len(quick)} pairs of "
                  f"{QUICK_SECONDS} s runs back to back, which goes first alternating; the "
                  "check-in's share min / median / max "
                  f"**{spread(shares)} %** (check-in {spread([c for c, _w, _f in quick])}/s, "
                  f"signed insert {spread([w for _c, w, _f in quick])}/s"
                  f"{f', {failed} failed' if failed else ''}). Short pairs, because the "
                  f"machine's speed changes from one run to the next: the {seconds:.0f} s runs "
                  "of each round, further apart, below."]
    if "checkin" in runs and "signed_write" in runs:
        pairs = list(zip([r for r, _f, _l in runs["checkin"]],
                         [r for r, _f, _l in runs["signed_write"]], strict=True))
        ratios = [c / w for c, w in pairs if w]
        lines += ["", f"POST {CHECKIN_FORM} against the signed-in bare insert in each round "
                  f"({seconds:.0f} s runs back to back; not the verdict):", "",
                  "| round | check-in/s | signed insert/s | share |", "|---|---|---|---|"]
        lines += [f"| {n} | {c:.0f} | {w:.0f} | {c / w:.0%} |"
                  for n, (c, w) in enumerate(pairs, start=1) if w]
        lines.append(f"| min / median / max | | | {spread([r * 100 for r in ratios])} % |")
    if slow:
        p95 = [p.get("p95", 0) for _r, _f, p, _l in slow]
        mid = percentile(p95, .5)
        lines += ["", f"POST {CHECKIN_FORM} alone at {LATENCY_CONNECTIONS} connections (wrk, one "
                  f"thread), gunicorn {workers} sync workers, {len(slow)} runs of {seconds:.0f} s "
                  f"(goal p95 ≤ {LATENCY_GOAL_MS} ms as the median: "
                  f"{'met' if mid <= LATENCY_GOAL_MS else 'NOT met'}):", "",
                  "| run | requests/s | p50 ms | p95 ms | p99 ms | failed | load average |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {n} | {r:.0f} | {p.get('p50', 0):.0f} | {p.get('p95', 0):.0f} | "
                  f"{p.get('p99', 0):.0f} | {f} | {ld:.1f} |"
                  for n, (r, f, p, ld) in enumerate(slow, start=1)]
        lines.append(f"| min / median / max | {spread([r for r, _f, _p, _l in slow])} | "
                     f"{spread([p.get('p50', 0) for _r, _f, p, _l in slow])} | {spread(p95)} | "
                     f"{spread([p.get('p99', 0) for _r, _f, p, _l in slow])} | | "
                     f"{spread([ld for _r, _f, _p, ld in slow], '{:.1f}')} |")
    elif not isinstance(load, Wrk):
        lines += ["", "Latency at 50 connections not measured: it needs wrk."]
    lines += ["", f"Machine: {machine_load()} at the end; `uptime`: {_uptime()}."]
    return lines


def _uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "not available"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--rounds", type=int, default=ROUNDS,
                        help="interleaved rounds of every row (and latency runs)")
    parser.add_argument("--pairs", type=int, default=QUICK_PAIRS,
                        help=f"{QUICK_SECONDS} s pairs of the check-in and the signed-in "
                             "insert (issue #24's verdict)")
    parser.add_argument("--people", type=int, default=PEOPLE,
                        help="signed-in returnees whose requests the load sends in turn")
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL URL to run on (emptied first); default: SQLite")
    args = parser.parse_args()

    env = demo_env(tempfile.mkdtemp(prefix="footing-throughput-"), args.database_url)
    cookies = []
    for n in range(1, args.people + 1):
        _app, web, _token = signed_in_here(env, f"Throughput Reader {n}")
        cookies.append("; ".join(f"{c.key}={c.value}" for c in web.client._cookies.values()))
    database = env["DATABASE_URL"].split(":")[0].split("+")[0]
    lines = run(env, cookies, args.seconds, args.workers, args.rounds,
                quick_pairs=args.pairs)
    report = (f"# Throughput on {database}\n\nMade by `make bench-throughput"
              f"{' BENCH_ARGS=...' if len(sys.argv) > 1 else ''}` (bench/throughput.py "
              f"{' '.join(a for a in sys.argv[1:] if 'postgres' not in a)}) on "
              f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs.\n\n"
              + "\n".join(lines) + "\n")
    out = RESULTS / f"throughput-{database}.md"
    out.write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
