"""Caseload and the other organisation-wide staff pages at scale, on PostgreSQL.

Seeds one organisation with 10,000 returnees (20 caseworkers, 500 each) and
1,000,000 check-ins, plus plans (30,000 goals, 120,000 steps), open concerns
and requests, follow-ups, reintegration checks and alerts; then times the
pages in-process (server time: the Flask test client, no network), counts
their SQL statements, and writes bench/results/caseload.md. Only the caseload
is held to a budget (DESIGN §5: p95 ≤ 100 ms); the overview, the inboxes, the
people list and the follow-ups due are reported beside it. Then it runs the
worker's jobs on the same data and reports how long each held a transaction
(`--no-jobs` skips them; they take two to three minutes).

    make bench-caseload
    python bench/caseload.py --url postgresql+psycopg://postgres@127.0.0.1:5432/footing_bench
"""
from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import time
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import machine_load, percentile  # noqa: E402

# Issue #24: p95 of the caseload pages, per scale (returnees: ms).
BUDGETS_MS = {10_000: 50.0, 100_000: 100.0}


def ensure_database(url: str) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s",
                                      (target.database,)).scalar()
        if exists:
            conn.exec_driver_sql(f'DROP DATABASE "{target.database}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    admin.dispose()


def copy_rows(session, table: str, columns: list[str], rows) -> None:
    """COPY … FROM STDIN through psycopg: a million rows in seconds."""
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def seed(app, returnees: int, checkins_each: int) -> dict:
    from sqlalchemy import insert, select, text

    from webapp.alerts.models import Alert, Signal
    from webapp.auth import service as auth_service
    from webapp.db import db_session
    from webapp.models import Organisation, Role, User, utcnow
    from webapp.monitoring.models import ReintegrationCheck, backfill_summaries
    from webapp.people.models import CaseworkerAssignment
    from webapp.plan.models import Goal

    rng = random.Random(7)
    now = utcnow()
    with app.app_context():
        s = db_session()
        org = Organisation(name="Bench partner", country="SL", timezone="Africa/Freetown",
                           emergency_phone="+232 76 000 000", languages=["en"], currency="SLE")
        s.add(org)
        s.flush()
        coordinator = User(organisation_id=org.id, role=Role.COORDINATOR.value,
                           display_name="Coordinator", email="coord@bench.example.org")
        s.add(coordinator)
        caseworkers = [User(organisation_id=org.id, role=Role.CASEWORKER.value,
                            display_name=f"Caseworker {i}", email=f"cw{i}@bench.example.org")
                       for i in range(20)]
        s.add_all(caseworkers)
        s.flush()
        s.execute(insert(User), [
            {"organisation_id": org.id, "role": "returnee", "display_name": f"Person {i:05d}",
             "return_date": date.today() - timedelta(days=rng.randint(10, 700)),
             "pin_hash": "x", "locale": "en"} for i in range(returnees)])
        ids = list(s.scalars(select(User.id).where(User.role == "returnee")
                             .where(User.organisation_id == org.id).order_by(User.id)))
        s.execute(insert(CaseworkerAssignment), [
            {"organisation_id": org.id, "returnee_id": rid,
             "caseworker_id": caseworkers[i % 20].id} for i, rid in enumerate(ids)])
        t0 = time.time()
        # The summary's trigger would run once a row: filled in bulk below instead.
        s.connection().exec_driver_sql("ALTER TABLE checkins DISABLE TRIGGER checkin_summary")
        copy_rows(s, "checkins", ["organisation_id", "user_id", "mood", "note",
                                  "share_with_group", "created_at"],
                  ((org.id, rid, rng.randint(1, 5), "", False,
                    now - timedelta(days=7 * k + rng.random() * 3))
                   for rid in ids for k in range(checkins_each)
                   if not (k == 0 and rid % 9 == 0)))  # some people silent lately
        s.connection().exec_driver_sql(
            "INSERT INTO checkin_summaries (user_id, organisation_id, last_at, count) "
            "SELECT user_id, min(organisation_id), max(created_at), count(*) FROM checkins "
            "GROUP BY user_id")
        s.connection().exec_driver_sql("ALTER TABLE checkins ENABLE TRIGGER checkin_summary")
        seeded_checkins = time.time() - t0
        copy_rows(s, "support_cases", ["organisation_id", "returnee_id", "type", "kind", "sub_type",
                                       "urgency", "category", "text", "callback_phone", "district",
                                       "priority", "status", "created_at", "updated_at"],
                  ((org.id, rid, "concern" if rid % 2 else "request",
                    "medicine" if rid % 2 else None, "ran_out" if rid % 2 else None,
                    "soon" if rid % 2 else None, None if rid % 2 else "work", "", "", "",
                    2 if rid % 2 else 3, "new", now, now) for rid in ids[::4]))
        copy_rows(s, "followups", ["organisation_id", "returnee_id", "month", "due_on", "note",
                                   "created_at"],
                  ((org.id, rid, m, date.today() + timedelta(days=30 * m - rng.randint(0, 400)),
                    "", now) for rid in ids for m in (1, 3, 6, 12)))
        s.execute(insert(ReintegrationCheck), [
            {"organisation_id": org.id, "returnee_id": rid, "instrument_id": "footing-default",
             "instrument_version": 1, "answers": {}, "economic": 0.5, "social": 0.6,
             "psychosocial": 0.7, "composite": 0.6, "recorded_by_id": caseworkers[0].id}
            for rid in ids[::2]])
        # Core inserts and COPY bypass the ORM hook that keeps the caseload's
        # per-person summary of follow-ups and checks: fill it as the migration does.
        backfill_summaries(s.connection())
        # A plan for everyone: two goals of their own and one their caseworker
        # suggested, four steps each, some ticked; the caseload shows the
        # progress of their own goals.
        copy_rows(s, "plan_goals", ["organisation_id", "returnee_id", "area", "title", "why",
                                    "status", "state", "support_needed", "created_at"],
                  ((org.id, rid, area, f"Goal in {area}", "", "under_way",
                    "suggested" if area == "housing" else "active", False, now)
                   for rid in ids for area in ("work", "housing", "skills")))
        goals = s.execute(select(Goal.id, Goal.state).where(Goal.organisation_id == org.id)
                          .order_by(Goal.id)).all()
        copy_rows(s, "plan_steps", ["organisation_id", "goal_id", "text", "support_needed",
                                    "done_at", "created_at"],
                  ((org.id, goal_id, f"Step {n}", False,
                    now if state == "active" and rng.random() < 0.4 else None, now)
                   for goal_id, state in goals for n in range(4)))
        # Everyone activated 200 days ago, agreed to reminders, and every second
        # person has a phone for push: the hourly jobs go through all of them.
        conn = s.connection()
        conn.exec_driver_sql(
            "INSERT INTO activation_codes (user_id, selector, verifier_hash, created_at, "
            "expires_at, used_at) SELECT id, substr(md5(id::text), 1, 8), 'x', "
            "now() - interval '200 days', now() - interval '199 days', "
            "now() - interval '199 days' FROM users WHERE role = 'returnee'")
        choices = {c: c == "push_reminders" for c in auth_service.CONSENT_CHOICES}
        conn.execute(text(
            "INSERT INTO consent_records (user_id, version, locale, choices, created_at) "
            "SELECT id, :version, 'en', CAST(:choices AS json), now() - interval '199 days' "
            "FROM users WHERE role = 'returnee'"),
            {"version": auth_service.CONSENT_VERSION, "choices": json.dumps(choices)})
        conn.exec_driver_sql(
            "INSERT INTO push_subscriptions (user_id, endpoint, p256dh, auth, label, created_at) "
            "SELECT id, 'https://push.invalid/' || id, 'k', 'a', 'phone', now() FROM users "
            "WHERE role = 'returnee' AND mod(id, 2) = 0")
        signal_rows = [{"organisation_id": org.id, "returnee_id": rid, "kind": "checkin.low_mood",
                        "routed_at": now} for rid in ids[::5]]
        s.execute(insert(Signal), signal_rows)
        signal_ids = list(s.scalars(select(Signal.id).order_by(Signal.id)))
        s.execute(insert(Alert), [
            {"organisation_id": org.id, "returnee_id": ids[i * 5], "signal_id": sid,
             "kind": "checkin.low_mood", "severity": "serious", "severity_rank": 1,
             "created_at": now - timedelta(hours=i % 500), "ack_due_at": now,
             "acknowledged_at": (now - timedelta(hours=i % 500)
                                 + timedelta(minutes=rng.randint(1, 3000)))}
            for i, sid in enumerate(signal_ids)])
        s.commit()
        # As autovacuum leaves a live database: statistics, and the visibility
        # map that lets the counts read only the index (a table loaded a moment
        # ago has none, and every row would be fetched from the heap).
        with s.get_bind().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        return {"org": org.id, "coordinator": coordinator.id, "caseworker": caseworkers[3].id,
                "returnees": len(ids), "checkin_seconds": seeded_checkins}


def signed_in_client(app, user_id: int):
    from webapp.auth import service as auth_service
    from webapp.db import db_session
    from webapp.models import User

    with app.app_context():
        s = db_session()
        token = auth_service.start_session(s, s.get(User, user_id))
        s.commit()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = token
        sess["seen"] = int(time.time()) + 3600  # no idle end during the run
    return client


@contextmanager
def measured(engine):
    """Counts what runs inside: SQL statements, transactions (ended by commit
    or rollback) and the longest one, in seconds."""
    from sqlalchemy import event

    stats = {"statements": 0, "transactions": 0, "longest": 0.0, "began": 0.0,
             "in_transaction": 0, "longest_statements": 0, "most_statements": 0}

    def statement(*_args):
        stats["statements"] += 1
        stats["in_transaction"] += 1

    def began(_conn):
        stats["began"] = time.perf_counter()
        stats["in_transaction"] = 0

    def ended(_conn):
        stats["transactions"] += 1
        took = time.perf_counter() - stats["began"]
        if took > stats["longest"]:
            stats["longest"], stats["longest_statements"] = took, stats["in_transaction"]
        stats["most_statements"] = max(stats["most_statements"], stats["in_transaction"])

    listeners = [("before_cursor_execute", statement), ("begin", began), ("commit", ended),
                 ("rollback", ended)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield stats
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


@contextmanager
def timed_statements(engine):
    """Every statement run inside, with its parameters and how long it took."""
    from sqlalchemy import event

    rows: list[tuple[float, str, object]] = []

    def before(conn, _cursor, _statement, _parameters, _context, _many):
        conn.info.setdefault("bench_t0", []).append(time.perf_counter())

    def after(conn, _cursor, statement, parameters, _context, _many):
        started = conn.info["bench_t0"].pop()
        rows.append(((time.perf_counter() - started) * 1000, statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield rows
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def explain_slowest(engine, client, url: str, top: int = 2) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page's slowest statements."""
    with timed_statements(engine) as rows:
        assert client.get(url).status_code == 200, url
    out = []
    with engine.connect() as conn:
        for ms, statement, parameters in sorted(rows, key=lambda r: -r[0])[:top]:
            if not statement.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            plan = conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement,
                                        parameters).scalars().all()
            out.append(f"-- {ms:.1f} ms in the page\n{statement.strip()}\n\n" + "\n".join(plan))
        conn.rollback()
    return out


def statements(engine, client, url: str) -> int:
    """SQL statements of one request for the page (constant in the data size)."""
    with measured(engine) as stats:
        assert client.get(url).status_code == 200, url
    return stats["statements"]


JOBS = ("overdue", "escalation", "no_contact", "reminders")


def time_jobs(app, only: tuple[str, ...] = JOBS, max_batches: int | None = None
              ) -> list[tuple[str, int, dict]]:
    """The worker's jobs on the seeded data, after the pages were timed (they
    add alerts). Most seeded follow-ups are past their date, so the overdue
    job meets a backlog, as after a stopped worker, and three days later so
    does escalation. Per job: what it did, the time, the SQL statements, the
    transactions and the longest one (what SQLite's write lock would be held
    for, while check-ins wait). `only`: these jobs; `max_batches`: a job that
    works in batches stops after this many (the longest transaction does not
    depend on how many batches run; at 100,000 people the backlog would take
    an hour on a busy machine)."""
    from sqlalchemy import func, select

    from webapp import outbox, tasks
    from webapp.alerts.models import Alert
    from webapp.db import db_session
    from webapp.models import utcnow

    def escalated() -> int:
        with app.app_context():
            return db_session().scalar(select(func.count()).select_from(Alert)
                                       .where(Alert.escalated_at.is_not(None)))

    # (label, the job, what it did: from its answer, or counted around it)
    jobs = [
        ("overdue", "overdue follow-ups (scheduling everyone, then the signals)",
         lambda: tasks.signal_overdue_followups(app), None),
        ("escalation", "escalation of their alerts, 3 days later",
         lambda: tasks.escalate(utcnow() + timedelta(days=3)), escalated),
        ("no_contact", "no contact", lambda: tasks.signal_no_contact(app), None),
        ("reminders", "check-in and meeting reminders",
         lambda: sum(map(len, tasks.send_reminders(app).values())), None),
    ]
    if max_batches is not None:
        tasks.MAX_BATCHES = max_batches
    # No push leaves the bench: neither sent from the job nor queued for a worker.
    for job in ("push.send", "push.send_now"):
        outbox.handles(job)(lambda _ids: None)
    engine = app.extensions["footing_db"].engine
    results = []
    for key, label, job, count in jobs:
        if key not in only:
            continue
        before = count() if count else 0
        started = time.perf_counter()
        with measured(engine) as stats, app.app_context():
            answer = job()
        stats["seconds"] = time.perf_counter() - started
        results.append((label, count() - before if count else answer, stats))
    return results


def database_cpu(engine) -> float:
    """CPU seconds used so far by the database's server processes serving
    this database (read from /proc: PostgreSQL on this machine), or NaN."""
    with engine.connect() as conn:
        pids = conn.exec_driver_sql(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()").scalars().all()
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return float("nan")
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return total


def time_page(client, url: str, runs: int, engine=None) -> dict:
    """Wall time per request (min, p50, p95, max), and the CPU time per
    request of the app (this process) and of the database's processes: on a
    shared, loaded machine the wall time is mostly waiting for a core, the
    CPU time much less so."""
    for _ in range(3):  # warm caches
        assert client.get(url).status_code == 200, url
    times = []
    cpu0, db0 = time.process_time(), database_cpu(engine) if engine else float("nan")
    for _ in range(runs):
        t = time.perf_counter()
        r = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    app_cpu = (time.process_time() - cpu0) * 1000 / runs
    db_cpu = ((database_cpu(engine) - db0) * 1000 / runs) if engine else float("nan")
    return {"min": min(times), "p50": percentile(times, .5), "p95": percentile(times, .95),
            "max": max(times), "app_cpu": app_cpu, "db_cpu": db_cpu}


def existing(app) -> dict:
    """The ids a seeded database holds (`--reuse`)."""
    from sqlalchemy import func, select

    from webapp.db import db_session
    from webapp.models import User

    with app.app_context():
        s = db_session()
        by_email = dict(s.execute(select(User.email, User.id).where(User.email.in_(
            ["coord@bench.example.org", "cw3@bench.example.org"]))).all())
        people = s.scalar(select(func.count()).select_from(User).where(User.role == "returnee"))
    return {"coordinator": by_email["coord@bench.example.org"],
            "caseworker": by_email["cw3@bench.example.org"], "returnees": people}


def compute_order(app) -> dict:
    """The sweep's work on every stale place of the caseload's order
    (`CaseloadOrder`), batch after batch, as after the migration or the
    seeding: every place is stale then. Its stats, as `time_jobs`'s."""
    from webapp import tasks
    from webapp.monitoring.service import ORDER_BATCH, refresh_caseload_order

    engine = app.extensions["footing_db"].engine
    started, done = time.perf_counter(), 0
    with measured(engine) as stats:
        while True:
            did = tasks.in_transaction(
                lambda session: refresh_caseload_order(session, size=ORDER_BATCH), app)
            done += did
            if did < ORDER_BATCH:
                break
    stats["seconds"], stats["done"] = time.perf_counter() - started, done
    # Every place written once over: what autovacuum does next (within a
    # minute or two: more than a fifth of the rows changed), done now, so
    # that the pages are timed on the plans a running server has.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE caseload_order")
    return stats


def make_stale(app, share: float) -> int:
    """Mark this share of the places stale, as writes do (their triggers)."""
    from sqlalchemy import update

    from webapp.db import db_session
    from webapp.monitoring.models import STALE, CaseloadOrder

    with app.app_context():
        s = db_session()
        n = s.execute(update(CaseloadOrder)
                      .where(CaseloadOrder.returnee_id % round(1 / share) == 0)
                      .values(fresh_until=STALE, version=CaseloadOrder.version + 1)).rowcount
        s.commit()
    return n


def time_stale(app, coordinator, runs: int) -> list[tuple]:
    """The coordinator's page while places are stale: written about since the
    last sweep, a minute ago at most. 0.1 % is more than a minute's writes
    (100,000 people checking in weekly make 10 a minute); 1 % is beyond
    STALE_AT_MOST at 100,000 people (after the migration, or a worker
    stopped for hours): the page is then computed for everyone, as before
    the order was kept. The sweep makes them fresh again after each."""
    engine = app.extensions["footing_db"].engine
    results = []
    for share, budgeted, why in ((0.001, True, "a busy minute"),
                                 (0.01, False, "a stopped worker")):
        stale = make_stale(app, share)
        label = f"caseload, coordinator, {stale:,} places stale ({share:.1%}: {why})"
        results.append((label, "/caseload/", budgeted,
                        time_page(coordinator, "/caseload/", runs, engine),
                        statements(engine, coordinator, "/caseload/")))
        compute_order(app)
    return results


def job_row(label: str, done: int, r: dict) -> str:
    return (f"| {label} | {done:,} | {r['seconds']:.1f} s | {r['statements']:,} | "
            f"{r['transactions']:,} | {r['longest'] * 1000:.0f} ms "
            f"({r['longest_statements']:,}) | {r['most_statements']:,} |")


def jobs_section(app, args) -> list[str]:
    lines = ["", "## Worker jobs on the same data (reported)", "",
             "| job | did | time | SQL statements | transactions | longest transaction "
             "(its statements) | most statements in one transaction |",
             "|---|---|---|---|---|---|---|"]
    if args.max_batches:
        lines.insert(-2, f"Batched jobs stopped after {args.max_batches} batches "
                     "(`--max-batches`).\n")
    jobs_load = machine_load()
    for label, done, r in time_jobs(app, tuple(args.jobs.split(",")), args.max_batches):
        lines.append(job_row(label, done, r))
    lines += ["", f"Machine: {jobs_load} before the jobs, {machine_load()} after."]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get(
        "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/footing_bench"))
    parser.add_argument("--returnees", type=int, default=10_000)
    parser.add_argument("--checkins-each", type=int, default=100)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-jobs", action="store_true", help="time the pages only")
    parser.add_argument("--jobs", default=",".join(JOBS),
                        help=f"the worker jobs to time, comma-separated ({', '.join(JOBS)})")
    parser.add_argument("--max-batches", type=int, default=None,
                        help="stop a batched job after this many batches")
    parser.add_argument("--national", action="store_true",
                        help="100,000 returnees and 10,000,000 check-ins (outside CI: seeding "
                             "takes minutes and several GB)")
    parser.add_argument("--explain", type=int, default=2,
                        help="EXPLAIN ANALYZE of this many slowest statements per caseload page")
    parser.add_argument("--out", default="", help="results file (default by scale)")
    parser.add_argument("--caseload-only", action="store_true",
                        help="time the caseload pages only (those held to the budget)")
    parser.add_argument("--reuse", action="store_true",
                        help="time the pages on the database an earlier run seeded (no seeding, "
                        "no migration, no jobs): to compare two versions of the code, "
                        "interleaved, on the same data and the same machine load")
    args = parser.parse_args()
    if args.national:
        args.returnees = 100_000
    budget = BUDGETS_MS.get(args.returnees, 100.0 if args.returnees > 10_000 else 50.0)

    if not args.reuse:
        ensure_database(args.url)
    os.environ.update({"FOOTING_ENV": "development", "DATABASE_URL": args.url,
                       "SECRET_KEY": secrets.token_hex(32)})
    os.environ.pop("REDIS_URL", None)
    from alembic import command

    from webapp import create_app
    from webapp.cli import alembic_config

    app = create_app()
    if args.reuse:
        info, seeded = existing(app), 0.0
        args.no_jobs = True
    else:
        with app.app_context():
            command.upgrade(alembic_config(), "head")
        t0 = time.time()
        info = seed(app, args.returnees, args.checkins_each)
        seeded = time.time() - t0
    # The caseload's order, computed for every place as the sweep does after
    # the migration (with --reuse: only what went stale since).
    ordered = compute_order(app)
    caseworker = signed_in_client(app, info["caseworker"])
    coordinator = signed_in_client(app, info["coordinator"])
    # (label, client, url, held to the caseload's budget): the other staff
    # pages that list the whole organisation are reported beside it.
    pages = [
        (f"caseload, caseworker ({info['returnees'] // 20:,} people)", caseworker, "/caseload/",
         True),
        ("caseload, caseworker, page 10", caseworker, "/caseload/?page=10", True),
        (f"caseload, coordinator ({info['returnees']:,} people)", coordinator, "/caseload/", True),
        ("caseload, coordinator, no contact", coordinator, "/caseload/?show=no_contact", True),
        ("organisation overview", coordinator, "/overview", False),
        ("alerts inbox, coordinator", coordinator, "/alerts/", False),
        ("requests and reports inbox, coordinator", coordinator, "/help/inbox", False),
        ("people, coordinator", coordinator, "/people/", False),
        ("follow-ups due, coordinator", coordinator, "/caseload/due", False),
    ]
    if args.caseload_only:
        pages = [page for page in pages if page[3]]
    engine = app.extensions["footing_db"].engine
    load_before = machine_load()
    results = [(label, url, budgeted, time_page(client, url, args.runs, engine),
                statements(engine, client, url))
               for label, client, url, budgeted in pages]
    plans = []
    for label, client, url, budgeted in pages:
        if budgeted and args.explain:
            plans += [f"### {label} `{url}`\n\n```\n{p}\n```"
                      for p in explain_slowest(engine, client, url, args.explain)]
    results += time_stale(app, coordinator, args.runs)
    load_after = machine_load()
    lines = [
        "# Caseload and the other organisation-wide staff pages at scale (PostgreSQL)",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on `{os.uname().nodename}` "
        f"({os.cpu_count()} cores)",
        f"- command: `python bench/caseload.py {' '.join(sys.argv[1:])}` "
        f"({args.returnees:,} returnees, {args.checkins_each} check-ins each, {args.runs} runs)",
        f"- machine: {load_before} before the pages, {load_after} after (shared machine: "
        "read the figures beside it)",
        f"- data: {info['returnees']:,} returnees, {info['returnees'] * args.checkins_each:,} "
        "check-ins (minus some silent weeks), 3 plan goals of 4 steps each, a case for every "
        "4th person, 4 follow-ups each, a phone for every 2nd person, "
        f"checks and alerts; "
        f"{'seeded by an earlier run' if args.reuse else f'seeded in {seeded:.0f} s'}",
        "- server time measured in-process (Flask test client), after 3 warm-up requests",
        "",
        "- CPU per request: this process (the app), and PostgreSQL's processes serving the "
        "bench's database (from /proc), averaged over the runs",
        "",
        "| page | min | p50 (median) | p95 | max | CPU app + database | SQL statements | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    over = []
    for label, url, budgeted, r, sql in results:
        if budgeted and r["p95"] > budget:
            over.append(f"{label}: p95 {r['p95']:.1f} ms > {budget:.0f} ms")
        lines.append(f"| {label} `{url}` | {r['min']:.1f} ms | {r['p50']:.1f} ms | "
                     f"{r['p95']:.1f} ms | {r['max']:.1f} ms | "
                     f"{r['app_cpu']:.1f} + {r['db_cpu']:.1f} ms | {sql} | "
                     f"{f'p95 ≤ {budget:.0f} ms' if budgeted else 'reported'} |")
    lines += ["", "## The caseload's order, computed for every place (reported)", "",
              "As the sweep does after the migration, batch after batch (with `--reuse`: "
              "what went stale since the last run). Then the pages above were timed.", "",
              "| job | did | time | SQL statements | transactions | longest transaction "
              "(its statements) | most statements in one transaction |",
              "|---|---|---|---|---|---|---|",
              job_row("caseload order, every stale place", ordered["done"], ordered)]
    if not args.no_jobs:
        lines += jobs_section(app, args)
    if plans:
        lines += ["", "## EXPLAIN ANALYZE of the caseload's slowest statements", "", *plans]
    out = (Path(args.out) if args.out else ROOT / "bench" / "results"
           / ("caseload.md" if args.returnees <= 10_000 else f"caseload-{args.returnees}.md"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    # Exit 1 when a page is over its budget (as bench/budgets.py does), and
    # say so last: the run itself went through and wrote its results.
    if over:
        print(f"\nOver budget (results written to {out}):\n  " + "\n  ".join(over),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
