"""Urgent concern committed → push accepted by the push service, with one worker.

Runs the real pieces on the embedded default: a file SQLite database, a Huey
consumer process with one worker polling Huey's SQLite queue, and a local push
receiver that checks the VAPID signature and decrypts every payload (the one
the tests use). For each of N urgent safety signals the clock starts right
after the commit that wrote it and stops when the receiver has accepted and
decrypted the push. Writes bench/results/push_latency.md.

Then the first push after a worker start (issue #18), `--cold` times: a fresh
consumer process is started; as soon as it says it is running, one urgent
signal is committed; the clock stops when its push is accepted; the consumer
is stopped. What the worker does at start (webapp.worker: tasks.warm) counts
before the clock starts, as it does for a person: a worker is started long
before the report that needs it.

    make bench-push            # or: python bench/push_latency.py --count 200 --cold 20
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.stats import percentile  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--gap", type=float, default=0.25, help="seconds between concerns")
    parser.add_argument("--cold", type=int, default=20, help="first pushes after a worker start")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="footing-bench-"))
    env = {
        "FOOTING_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp}/bench.db",
        "FOOTING_INSTANCE": str(tmp),
        "SECRET_KEY": secrets.token_hex(32),
        "PUSH_ALLOW_HTTP_ENDPOINTS": "1",
        "PUSH_SERVICE_HOSTS": "127.0.0.1",  # tests/push_receiver.py
        "VAPID_PRIVATE_KEY": str(tmp / "vapid.pem"),
    }
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)

    from tests.push_receiver import PushReceiver
    from webapp import create_app, outbox
    from webapp.alerts import signals
    from webapp.db import db_session
    from webapp.demo import seed_demo
    from webapp.models import Role, User
    from webapp.push import service as push

    app = create_app()
    with app.app_context():
        push.generate_vapid(tmp / "vapid.pem")
        from alembic import command

        from webapp.cli import alembic_config

        command.upgrade(alembic_config(), "head")
        session = db_session()
        seed_demo(session)
        session.commit()

    def start_worker(log_name: str, quiet: bool = True) -> subprocess.Popen:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "huey_consumer"), "webapp.worker.huey",
             "--workers", "1", "--worker-type", "thread", "--delay", "0.05", "--max-delay", "0.5",
             "--backoff", "1.1"] + (["--quiet"] if quiet else []),
            cwd=ROOT, env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=(tmp / log_name).open("w"))

    def stop(process: subprocess.Popen) -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()

    worker = start_worker("worker.log")
    committed: dict[int, float] = {}
    try:
        with PushReceiver() as receiver:
            with app.app_context():
                session = db_session()
                caseworker = session.query(User).filter_by(
                    role=Role.CASEWORKER.value, email="caseworker1@footing-demo.example.org").one()
                person = session.query(User).filter_by(display_name="Sahr").one()
                sub = receiver.subscription("caseworker-phone")
                push.subscribe(session, caseworker, endpoint=sub["endpoint"],
                               p256dh=sub["keys"]["p256dh"], auth=sub["keys"]["auth"])
                session.commit()
            time.sleep(1.5)  # the consumer is up
            for _ in range(args.count):
                with app.app_context():
                    session = db_session()
                    signal = signals.emit(session, returnee=session.get(User, person.id),
                                          kind="concern.safety_now", source_type="concern")
                    session.commit()
                    committed[signal.id] = time.time()
                    outbox.run_after_commit()  # as the request edge does
                time.sleep(args.gap)
            received = receiver.wait_for(args.count, timeout=60)
            errors = list(receiver.errors)
            stop(worker)
            cold = first_pushes(args.cold, start_worker, stop, receiver, app, person.id,
                                tmp, len(received))
            errors = list(receiver.errors)
    finally:
        stop(worker)

    with app.app_context():
        from webapp.alerts.models import Alert

        by_alert = {a.id: a.signal_id for a in db_session().query(Alert)}
    latencies = []
    for msg in received:
        alert_id = int(msg.payload["url"].rsplit("/", 1)[-1])
        signal_id = by_alert.get(alert_id)
        if signal_id in committed:
            latencies.append(msg.at - committed[signal_id])
    missing = args.count - len(latencies)
    if not latencies:
        print(f"no push arrived; see {tmp / 'worker.log'}")
        return 1
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    cold_p95 = percentile(cold, 0.95) if cold else None
    report = [
        "# Push latency: urgent concern committed → push accepted",
        "",
        f"- when: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, on `{os.uname().nodename}` "
        f"({os.cpu_count()} cores)",
        "- command: `make bench-push` (`python bench/push_latency.py "
        f"--count {args.count} --gap {args.gap} --cold {args.cold}`)",
        "- setup: SQLite file database, one Huey worker (thread) polling Huey's SQLite queue "
        "(delay 0.05 s, max 0.5 s, as `make run`), local push receiver verifying VAPID and "
        "decrypting aes128gcm",
        "",
        "| concerns | received | p50 | p95 | max | target p95 |",
        "|---|---|---|---|---|---|",
        f"| {args.count} | {len(latencies)} | {p50:.3f} s | {p95:.3f} s | "
        f"{max(latencies):.3f} s | ≤ 2 s |",
        "",
        f"Receiver errors: {len(errors)}. Missing pushes: {missing}.",
        "",
        "## The first push after a worker start",
        "",
        "| worker starts | received | p50 | p95 | max | target p95 |",
        "|---|---|---|---|---|---|",
        (f"| {args.cold} | {len(cold)} | {percentile(cold, 0.5):.3f} s | {cold_p95:.3f} s | "
         f"{max(cold):.3f} s | ≤ 2 s |" if cold else f"| {args.cold} | 0 | | | | ≤ 2 s |"),
    ]
    out = ROOT / "bench" / "results" / "push_latency.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(report) + "\n")
    print("\n".join(report))
    cold_ok = not args.cold or (len(cold) == args.cold and cold_p95 is not None
                                and cold_p95 <= 2.0)
    return 0 if (missing == 0 and not errors and p95 <= 2.0 and cold_ok) else 1


def first_pushes(times: int, start_worker, stop, receiver, app, person_id: int, tmp: Path,
                 already: int) -> list[float]:
    """Seconds from commit to push accepted, for the first signal each fresh
    worker process handles."""
    from webapp import outbox
    from webapp.alerts import signals
    from webapp.db import db_session
    from webapp.models import User

    latencies: list[float] = []
    for n in range(times):
        log = tmp / f"worker-cold-{n}.log"
        worker = start_worker(log.name, quiet=False)
        try:
            deadline = time.monotonic() + 60
            # Huey logs this once the module (and its warm-up) is imported.
            while "consumer started" not in log.read_text(errors="replace").lower():
                if worker.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start; see {log}")
                time.sleep(0.02)
            with app.app_context():
                session = db_session()
                signals.emit(session, returnee=session.get(User, person_id),
                             kind="concern.safety_now", source_type="concern")
                session.commit()
                start = time.time()
                outbox.run_after_commit()
            got = receiver.wait_for(already + n + 1, timeout=30)
            if len(got) > already + n:
                latencies.append(got[-1].at - start)
        finally:
            stop(worker)
    return latencies


if __name__ == "__main__":
    sys.exit(main())
