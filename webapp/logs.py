"""Logs as JSON lines: one per request (id, route, status, duration, user id,
and the fields the route added with `note`, such as the id of what it
stored) and whatever the code logs, with the id of the request it happened in.

What goes in a log line: ids, names of routes and actions, counts. Never a
person's name, words, phone number, PIN or place (DESIGN §4): a log is read
by people who may not see the records, and kept as long as the backups.
"""
from __future__ import annotations

import logging
import secrets
import time

from flask import Flask, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import inspect

log = logging.getLogger("webapp.request")

REQUEST_ID_HEADER = "X-Request-ID"


class _RequestContext(logging.Filter):
    """Adds the request id to every record logged during a request."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context() and "request_id" in g:
            record.request_id = g.request_id
        return True


def configure(app: Flask) -> None:
    """JSON lines on stderr (gunicorn and systemd keep them), once per process."""
    root = logging.getLogger()
    if not any(getattr(h, "footing", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
        handler.addFilter(_RequestContext())
        handler.footing = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    app.before_request(_begin)
    app.after_request(_end)


def _begin() -> None:
    g.request_id = secrets.token_hex(8)
    g.request_started = time.perf_counter()


def note(**fields: int | str | None) -> None:
    """Fields for this request's own line (`checkin=7`): what it made, said
    without a line of its own (a line costs a check-in about 3 % of its
    time, issue #24). Ids and names only, as for every line. Outside a
    request (a job, a command) there is no such line: the fields are logged
    as one of their own."""
    if has_request_context():
        g.setdefault("log_fields", {}).update(fields)
    else:
        logging.getLogger(__name__).info(
            " ".join(f"{key}={value}" for key, value in fields.items()))


def _end(response):
    user = g.get("_login_user")
    started = g.get("request_started", time.perf_counter())
    log.info("request", extra={
        **g.get("log_fields", {}),
        "route": request.endpoint,
        "method": request.method,
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1),
        # From the identity key: the request's session is closed by now.
        "user": _user_id(user),
    })
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    return response


def _user_id(user) -> int | None:
    if user is None or not user.is_authenticated:
        return None
    identity = inspect(user).identity
    return identity[0] if identity else None
