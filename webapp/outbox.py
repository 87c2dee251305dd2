"""Work that must happen only after the request's commit (push, jobs).

Services name what should happen, `after_commit("push.send", delivery_ids)`;
the request edge runs it once its commit succeeded, and drops it on rollback.
The rows the work reads were written in that commit, so a crash between
commit and enqueue loses nothing: the worker's periodic sweep finds them.

The names are the outbox's vocabulary: the edge that does the work (the job
queue, `webapp.tasks`) registers a handler for each with `@handles(name)`.
So a service says what must happen and never imports the worker.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from flask import g, has_app_context

from . import logs

log = logging.getLogger(__name__)

JOBS = {
    "log": "write an audit line: it says something happened, so only once it has",
    "log.fields": "add fields to the request's own log line, once it is committed",
    "push.send": "queue these push deliveries for the worker",
    "push.send_now": "send these push deliveries at once (inside a worker)",
    "privacy.erase_again": "erase once more, a minute from now, what reached a deleted account",
}
_handlers: dict[str, Callable[..., Any]] = {}


def handles(job: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register the function that does `job` after a commit."""
    if job not in JOBS:
        raise ValueError(f"unknown outbox job {job!r}")

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        _handlers[job] = fn
        return fn

    return register


def log_after_commit(logger: logging.Logger, message: str, *args: Any) -> None:
    """An audit line ("account.delete user=7 by=3"), written once the request's
    commit succeeded and never for one rolled back: the restore procedure
    replays `account.delete` lines, so one for a deletion that did not happen
    would delete an account after a restore."""
    after_commit("log", logger.name, message, args)


@handles("log")
def _write_log(name: str, message: str, args: tuple[Any, ...]) -> None:
    logging.getLogger(name).info(message, *args)


def log_fields_after_commit(**fields: int | str | None) -> None:
    """What a request made (`checkin=7`), in the request's own log line, and
    only once it is committed: a line that says it happened without costing
    one of its own (`logs.note`). For what is replayed or audited, a line of
    its own (`log_after_commit`)."""
    after_commit("log.fields", fields)


@handles("log.fields")
def _note(fields: dict[str, Any]) -> None:
    logs.note(**fields)


def after_commit(job: str, *args: Any) -> None:
    if job not in JOBS:
        raise ValueError(f"unknown outbox job {job!r}")
    if not has_app_context():
        raise RuntimeError("after_commit needs an app context")
    g.setdefault("after_commit", []).append((job, args))


def run_after_commit() -> None:
    for job, args in g.pop("after_commit", []):
        try:
            _handlers[job](*args)
        except Exception:  # the periodic sweep retries whatever this missed
            log.exception("after-commit work failed: %s", job)


def discard() -> None:
    g.pop("after_commit", None)
