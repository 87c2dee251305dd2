"""Work that must happen only after the request's commit (push, jobs).

Routes and services call `after_commit(fn, *args)`; the request edge runs the
callbacks once its commit succeeded, and drops them on rollback. The rows the
work reads were written in that commit, so a crash between commit and enqueue
loses nothing: the worker's periodic sweep finds them.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from flask import g, has_app_context

log = logging.getLogger(__name__)


def after_commit(fn: Callable[..., Any], *args: Any) -> None:
    if not has_app_context():
        raise RuntimeError("after_commit needs an app context")
    g.setdefault("after_commit", []).append((fn, args))


def run_after_commit() -> None:
    for fn, args in g.pop("after_commit", []):
        try:
            fn(*args)
        except Exception:  # the periodic sweep retries whatever this missed
            log.exception("after-commit work failed: %s", getattr(fn, "__name__", fn))


def discard() -> None:
    g.pop("after_commit", None)
