"""Server cost of one request, in process: where the throughput goes (issue #8).

    make bench-hot                  # or: python bench/hot_path.py [--requests 300]

The gunicorn figures in `make bench` are requests per second through a real
server and a real client on a shared machine: noisy, and they do not say
which part of a request costs what. This runs the production app (a fresh
SQLite file, real commits) through Flask's test client, one request at a
time, and reports per request:

- CPU time (min / median / max of three runs of `--requests` requests each);
- Python function calls (cProfile's count: the same on every run, so a
  change that makes a request do more work shows here even on a busy machine);
- SQL statements sent to the database.

for the bench-only "hello" endpoint, the returnee's /home and the check-in
post (a usual one, and one that raises an alert). `--profile checkin` adds
the cProfile listing of that case. Writes bench/results/hot_path.md.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "hot_path.md"
sys.path.insert(0, str(ROOT))

from bench.stats import machine_load, spread  # noqa: E402
from bench.throughput import CHECKIN_KINDS, demo_env, signed_in_here  # noqa: E402

LABELS = {"hello": "bare hello (bench only)", "home": "GET /home (returnee)",
          "signed_write": "signed-in bare insert (bench only)",
          "checkin": "POST /checkin/, usual",
          "checkin_alert": "POST /checkin/, raises an alert"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", choices=["hello", "home", "signed_write", *CHECKIN_KINDS])
    args = parser.parse_args()

    env = demo_env(tempfile.mkdtemp(prefix="footing-hot-"))
    app, web, token = signed_in_here(env, "Hot Path")
    from bench.throughput_app import create_rows_table

    create_rows_table()

    import logging

    logging.disable(logging.INFO)  # the check-in log line is not what we measure
    cases = _cases(web.client, token)
    engine = app.extensions["footing_db"].engine
    rows = {name: _measure(run, engine, args.requests) for name, run in cases.items()}
    report = [_heading(args.requests), _table(rows)]
    if engine.dialect.name == "sqlite":
        report.append(_sqlite_rows(cases, engine))
    if args.profile:
        report.append(_profile_listing(cases[args.profile], args.requests, LABELS[args.profile]))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n\n".join(report) + "\n")
    print(RESULTS.read_text())
    return 0


def _cases(client, token: str) -> dict:
    """The requests measured, by name: each a function that sends one."""
    # Every request starts from the same cookies, as the gunicorn bench does.
    cookies = {c.key: c.value for c in client._cookies.values()}

    def signed_in():
        for key, value in cookies.items():
            client.set_cookie(key, value)

    # The check-in's body; the bare insert is sent the same one, as in the
    # gunicorn bench (reading a bigger form costs the same on both sides).
    body = {"csrf_token": token, "visibility": "caseworker", "note": "", "mood": "3",
            **{q: "yes" for q in ("income", "shelter", "medicine", "safe", "someone")}}

    def checkin(overrides):
        def run():
            signed_in()
            r = client.post("/checkin/", data={**body, **overrides,
                                               "client_uuid": str(uuid.uuid4())})
            assert r.status_code == 302, r.status_code
        return run

    def signed_write():
        signed_in()
        r = client.post("/bench/signed-write", data={**body, "client_uuid": str(uuid.uuid4())})
        assert r.status_code == 303, r.status_code

    def home():
        signed_in()
        assert client.get("/home").status_code == 200

    def hello():
        assert client.get("/bench/hello").status_code == 200

    return {"hello": hello, "home": home, "signed_write": signed_write,
            **{key: checkin(overrides) for key, overrides in CHECKIN_KINDS.items()}}


def _measure(run, engine, requests: int) -> tuple[list[float], float, int]:
    """CPU ms (of each of three runs), Python calls and SQL statements of one request."""
    from sqlalchemy import event

    for _ in range(20):  # warm up: imports, caches, compiled statements
        run()
    cpu = [_cpu_ms(run, requests) for _ in range(3)]
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(50):
        run()
    profile.disable()
    calls = pstats.Stats(profile).total_calls / 50
    statements = [0]

    def count(*_args):
        statements[0] += 1

    event.listen(engine, "before_cursor_execute", count)
    run()
    event.remove(engine, "before_cursor_execute", count)
    return cpu, calls, statements[0]


def _heading(requests: int) -> str:
    return (f"# Server cost per request, in process\n\nMade by `make bench-hot` "
            f"(bench/hot_path.py) on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"{os.cpu_count()} CPUs, {machine_load()} at the end, {requests} requests per "
            "run, 3 runs: CPU ms as min / median / max of the runs (its share of hello from "
            "the minimums). Python calls are the same on every run. The signed-in bare insert "
            "is sent the check-in's body (as in `make bench-throughput`). SQL statements as "
            "SQLAlchemy sends them (BEGIN counted, COMMIT not).\n")


def _table(rows: dict[str, tuple[list[float], float, int]]) -> str:
    hello_cpu, hello_calls, _ = rows["hello"]
    lines = ["| request | CPU ms | share of hello | Python calls | share of hello "
             "| SQL statements |",
             "|---|---|---|---|---|---|"]
    for name, (cpu, calls, sql) in rows.items():
        lines.append(f"| {LABELS[name]} | {spread(cpu, '{:.2f}')} | "
                     f"{min(hello_cpu) / min(cpu):.0%} | "
                     f"{calls:.0f} | {hello_calls / calls:.0%} | {sql} |")
    checkin, insert = rows.get("checkin"), rows.get("signed_write")
    if checkin and insert:
        lines += ["", f"POST /checkin/ makes {checkin[1] / insert[1]:.2f}x the Python calls of "
                  "the signed-in bare insert (issue #24: ≤ 1.3, guarded in "
                  "tests/test_checkin_cost.py)."]
    return "\n".join(lines)


def _sqlite_rows(cases: dict, engine) -> str:
    """SQLite's own work for the row of each write, without the app: the
    INSERT a check-in and the signed-in bare insert sent (captured as they
    ran), sent again straight to SQLite on the same file, each in its own
    BEGIN IMMEDIATE ... COMMIT, with a new client UUID each time. Triggers,
    indexes and the commit are in it; Python's part is not."""
    import sqlite3

    from sqlalchemy import event

    sent: dict[str, tuple[str, tuple]] = {}  # request -> the INSERT it sent
    running = [""]  # the request being sent, for the listener

    def keep(_conn, _cursor, statement: str, parameters, *_args) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            sent.setdefault(running[0], (statement, tuple(parameters)))

    event.listen(engine, "before_cursor_execute", keep)
    for name in ("checkin", "signed_write"):
        running[0] = name
        cases[name]()
    event.remove(engine, "before_cursor_execute", keep)
    database = sqlite3.connect(engine.url.database, isolation_level=None)
    database.execute("PRAGMA foreign_keys=ON")  # the app's settings (webapp/db.py)
    database.execute("PRAGMA synchronous=NORMAL")

    def insert(statement: str, parameters: tuple):
        # Each time a new UUID where the request sent one (the row is its own claim).
        fresh = [i for i, p in enumerate(parameters) if _is_uuid(p)]

        def run() -> None:
            values = list(parameters)
            new = str(uuid.uuid4())
            for i in fresh:
                values[i] = new
            database.execute("BEGIN IMMEDIATE")
            database.execute(statement, values).fetchall()
            database.execute("COMMIT")
        return run

    runs = {name: insert(*sent[name]) for name in ("checkin", "signed_write")}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for n in range(8):  # interleaved, so a change in the machine's speed weighs on both
        for name in (runs if n % 2 == 0 else reversed(list(runs))):
            started = time.perf_counter()
            for _ in range(500):
                runs[name]()
            times[name].append((time.perf_counter() - started) / 500 * 1e6)
    database.close()
    checkin, bare = min(times["checkin"]), min(times["signed_write"])
    return ("## SQLite's own work per row\n\nThe INSERT each request sent, sent again "
            "straight to SQLite (same file, the app's PRAGMAs), one transaction each, 8 "
            "interleaved runs of 500: µs as min / median / max of the runs. Triggers, "
            "indexes and the commit are in it, Python is not.\n\n"
            "| row | µs |\n|---|---|\n"
            f"| a check-in's (its claim, summary trigger, caseload mark, indexes) "
            f"| {spread(times['checkin'], '{:.0f}')} |\n"
            f"| the bare insert's | {spread(times['signed_write'], '{:.0f}')} |\n\n"
            f"A check-in's row costs SQLite {checkin - bare:.0f} µs more than a bare one "
            "(from the minimums).")


def _is_uuid(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _profile_listing(run, requests: int, label: str) -> str:
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        run()
    profile.disable()
    listing = io.StringIO()
    pstats.Stats(profile, stream=listing).sort_stats("cumulative").print_stats(40)
    return f"## cProfile: {label}\n\n```\n" + listing.getvalue().strip() + "\n```"


def _cpu_ms(run, n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        run()
    return (time.process_time() - started) / n * 1000


if __name__ == "__main__":
    sys.exit(main())
