"""The job queue's storage, and the worker's heartbeat in it.

Embedded default: Huey's SQLite storage in the instance folder. With REDIS_URL
set: Redis, for many workers on many machines. Both come from the process's
settings (`webapp.config.settings`), as the web app's do. The jobs themselves are in
`webapp.tasks`; a worker runs them with `huey_consumer webapp.worker.huey`.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from huey import Huey, RedisHuey, SqliteHuey

from .config import Config, instance_path, settings

log = logging.getLogger(__name__)


def make_huey(config: Config) -> Huey:
    """The queue `config` describes; tests run its jobs at once, in process."""
    immediate = config.ENV_NAME == "testing"
    if config.REDIS_URL:
        return RedisHuey("footing", url=config.REDIS_URL, immediate=immediate)
    instance = Path(instance_path(config))
    instance.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("footing", filename=str(instance / "huey.db"), immediate=immediate)


huey = make_huey(settings())


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
