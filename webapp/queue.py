"""The job queue's storage, and the worker's heartbeat in it.

Embedded default: Huey's SQLite storage in the instance folder. With REDIS_URL
set: Redis, for many workers on many machines. The jobs themselves are in
`webapp.tasks`; a worker runs them with `huey_consumer webapp.worker.huey`.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey

log = logging.getLogger(__name__)


def _make_huey() -> Huey:
    redis_url = os.environ.get("REDIS_URL")
    immediate = os.environ.get("FOOTING_ENV") == "testing"
    if redis_url:
        return RedisHuey("footing", url=redis_url, immediate=immediate)
    default_instance = Path(__file__).resolve().parent.parent / "instance"
    instance = Path(os.environ.get("FOOTING_INSTANCE", default_instance))
    instance.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("footing", filename=str(instance / "huey.db"), immediate=immediate)


huey = _make_huey()


# --- Is the worker running? -------------------------------------------------------
# The sweep writes the time it last finished into Huey's own storage, which
# the web app already reaches (it enqueues there). Without a worker, alerts
# still reach the inbox but no push is sent and nothing escalates:
# /healthz/worker is what to monitor for that.

HEARTBEAT = "footing:sweep-finished-at"


def beat() -> None:
    huey.put(HEARTBEAT, time.time())


def worker_state(late_after: float) -> str:
    """The worker as its sweeps show it: "ok", "late" (none finished in the
    last `late_after` seconds), "not seen" (never, on this queue) or
    "unreachable" (the queue's storage failed)."""
    try:
        finished = huey.get(HEARTBEAT, peek=True)
    except Exception:  # Redis down, a locked file: say so, do not fail the caller
        log.exception("worker heartbeat: queue storage unreachable")
        return "unreachable"
    if finished is None:
        return "not seen"
    return "ok" if time.time() - finished <= late_after else "late"
