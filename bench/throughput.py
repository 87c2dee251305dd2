"""Requests per second under gunicorn (issue #8).

    make bench-throughput     # or: python bench/throughput.py [--workers 2] [--seconds 10]
                              #     [--database-url postgresql+psycopg://…/footing_bench_tp]

`make bench` runs the same measurement at its end (bench/budgets.py calls
`run` with the browser's cookies); this script alone signs a returnee in with
Flask's test client instead and writes bench/results/throughput-<database>.md
(sqlite or postgresql). Issue #24's figures: the check-in against the signed-in
bare insert in each of `--rounds` interleaved rounds, and the check-in's
latency at 50 connections; every figure as min / median / max of its runs,
each run with the machine's load average.

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
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.stats import machine_load, percentile  # noqa: E402
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
# Posts that do what the bare write does and more: shown as a share of it too.
AFTER_WRITE = ("signed_write", "form_write", *CHECKIN_KINDS)


# --- Load ---------------------------------------------------------------------------

class Wrk:
    name = f"wrk, 1 thread, {CONNECTIONS} connections"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def rate(self, url: str, seconds: float, headers: dict[str, str],
             fields: dict[str, str] | None = None) -> tuple[float, int]:
        """(answers per second that were 2xx or 3xx, how many were not)."""
        rate, failed, _latency = self.run(url, seconds, headers, fields, CONNECTIONS)
        return rate, failed

    def run(self, url: str, seconds: float, headers: dict[str, str],
            fields: dict[str, str] | None, connections: int
            ) -> tuple[float, int, dict[str, float]]:
        """(answers per second that were 2xx or 3xx, how many were not,
        latency percentiles in ms: p50, p95, p99)."""
        script = self.workdir / f"load-{uuid.uuid4().hex}.lua"
        lines = [f'wrk.headers["{k}"] = [[{v}]]' for k, v in headers.items()]
        if fields is not None:
            # One Lua state (one thread): a counter makes every UUID new.
            body = urllib.parse.urlencode(fields) + "&client_uuid="
            lines += ['wrk.method = "POST"',
                      'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"',
                      "local n = 0",
                      "request = function()",
                      "  n = n + 1",
                      f'  return wrk.format(nil, nil, nil, [[{body}]] .. '
                      f'string.format("{uuid.uuid4().hex[:8]}-0000-4000-8000-%012x", n))',
                      "end"]
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

    def rate(self, url: str, seconds: float, headers: dict[str, str],
             fields: dict[str, str] | None = None) -> tuple[float, int]:
        done, failed = [0], [0]
        stop = time.monotonic() + seconds
        lock = threading.Lock()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        post_headers = {**headers, "Content-Type": "application/x-www-form-urlencoded"}

        def client():
            ok_count = bad_count = 0
            while time.monotonic() < stop:
                if fields is None:
                    request = urllib.request.Request(url, headers=headers)
                else:
                    data = urllib.parse.urlencode({**fields, "client_uuid": str(uuid.uuid4())})
                    request = urllib.request.Request(url, data=data.encode(), headers=post_headers)
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


def _spread(values: list[float], fmt: str = "{:.0f}") -> str:
    """min / median / max, as every figure of the report is shown."""
    if not values:
        return "–"
    return " / ".join(fmt.format(v) for v in (min(values), percentile(values, .5), max(values)))


def run(env: dict, cookie: str, seconds: float, workers: int, rounds: int = ROUNDS,
        latency: bool = True) -> list[str]:
    """The throughput section of the report, as markdown lines.

    Every row is measured in each of `rounds` interleaved rounds (the order
    turns by one row each round), so a machine whose load changes during the
    run weighs on every row alike; the check-in's share of the signed-in bare
    insert is taken within each round, from two runs back to back. Then,
    with wrk, the check-in alone at LATENCY_CONNECTIONS connections, `rounds`
    times, for its latency."""
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
    signed = {"Cookie": cookie, "Accept-Encoding": "br, gzip"}
    # key -> [(requests/s, failed, load average during that run)]
    runs: dict[str, list[tuple[float, int, float]]] = {}
    slow: list[tuple[float, int, dict[str, float], float]] = []
    try:
        wait_healthy(url, proc, seconds=120)  # a shared machine can take its time
        forms = {key: checkin_fields(url, cookie, overrides)
                 for key, overrides in CHECKIN_KINDS.items()}
        # The bare posts send the same body as the check-in, without the cookie.
        bare = forms["checkin"] or {"mood": "3", "note": ""}
        targets = {
            "hello": (url + "/bench/hello", {}, None),
            "form": (url + "/bench/form", {}, bare),
            "write": (url + "/bench/write", {}, bare),
            "signed_write": (url + "/bench/signed-write", signed, bare),
            "form_write": (url + "/bench/form-write", signed, bare),
            "home": (url + "/home", signed, None),
            **{key: (url + CHECKIN_FORM, signed, fields)
               for key, fields in forms.items() if fields is not None},
        }
        # The check-in and the signed-in insert it is compared with run back
        # to back (which goes first alternates); the rest turns around them.
        pair = ("signed_write", "checkin") if "checkin" in targets else ("signed_write",)
        order: list[tuple[str, ...]] = [(k,) for k in targets if k not in pair]
        order.insert(3, pair)
        for n in range(rounds):
            turned = order[n % len(order):] + order[:n % len(order)]
            keys = [k for unit in turned for k in (unit if n % 2 == 0 else unit[::-1])]
            for key in keys:
                target, headers, fields = targets[key]
                before = _load_now()
                rate, failed = load.rate(target, seconds, headers, fields)
                runs.setdefault(key, []).append((rate, failed, max(before, _load_now())))
        if latency and isinstance(load, Wrk) and forms["checkin"] is not None:
            for _ in range(rounds):
                before = _load_now()
                rate, failed, percentiles = load.run(url + CHECKIN_FORM, seconds, signed,
                                                     forms["checkin"], LATENCY_CONNECTIONS)
                slow.append((rate, failed, percentiles, max(before, _load_now())))
    finally:
        stop_process(proc, 30)
        shutil.rmtree(workdir, ignore_errors=True)
    return _report(runs, slow, load, seconds, workers, rounds)


def _report(runs, slow, load, seconds: float, workers: int, rounds: int) -> list[str]:
    def median(key: str) -> float:
        return percentile([r for r, _f, _l in runs.get(key, [])], .5) or 1

    lines = [f"Load: {load.name}; gunicorn {workers} sync workers with production's settings "
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
        shown = _spread(rates) + (f" ({failed} failed)" if failed else "")
        of_write = f"{median(key) / write:.0%}" if key in AFTER_WRITE else "–"
        share = "100 %" if key == "hello" else f"{median(key) / hello:.0%}"
        lines.append(f"| {label} | {shown} | {share} | {of_write} | "
                     f"{_spread([ld for _r, _f, ld in runs[key]], '{:.1f}')} |")
    if "checkin" in runs and "signed_write" in runs:
        pairs = list(zip([r for r, _f, _l in runs["checkin"]],
                         [r for r, _f, _l in runs["signed_write"]], strict=True))
        ratios = [c / w for c, w in pairs if w]
        mid = percentile(ratios, .5)
        lines += ["", f"POST {CHECKIN_FORM} against the signed-in bare insert, each round's own "
                  f"pair (goal ≥ {RESTATED_GOAL:.0%} as the median: "
                  f"{'met' if mid >= RESTATED_GOAL else 'NOT met'}):", "",
                  "| round | check-in/s | signed insert/s | share |", "|---|---|---|---|"]
        lines += [f"| {n} | {c:.0f} | {w:.0f} | {c / w:.0%} |"
                  for n, (c, w) in enumerate(pairs, start=1) if w]
        lines.append(f"| min / median / max | | | {_spread([r * 100 for r in ratios])} % |")
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
        lines.append(f"| min / median / max | {_spread([r for r, _f, _p, _l in slow])} | "
                     f"{_spread([p.get('p50', 0) for _r, _f, p, _l in slow])} | {_spread(p95)} | "
                     f"{_spread([p.get('p99', 0) for _r, _f, p, _l in slow])} | | "
                     f"{_spread([ld for _r, _f, _p, ld in slow], '{:.1f}')} |")
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
    parser.add_argument("--database-url", default="",
                        help="PostgreSQL URL to run on (emptied first); default: SQLite")
    args = parser.parse_args()

    env = demo_env(tempfile.mkdtemp(prefix="footing-throughput-"), args.database_url)
    _app, web, _token = signed_in_here(env, "Throughput Reader")
    cookie = "; ".join(f"{c.key}={c.value}" for c in web.client._cookies.values())
    database = env["DATABASE_URL"].split(":")[0].split("+")[0]
    lines = run(env, cookie, args.seconds, args.workers, args.rounds)
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
