"""What a request may carry: form fields, as browsers send them.

Every form here is `application/x-www-form-urlencoded` (the offline queue
replays the same). A JSON body, a file, any other content type, or form text
that is not UTF-8 is answered with 400 before a route sees it, so a route
never meets a body it was not written for (a file where text is expected
used to reach a 500). A view that takes another body says so:
`@takes("application/json")`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_to_bytes

from flask import Flask, abort, current_app, request

FORM = "application/x-www-form-urlencoded"
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def takes(*content_types: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a view as taking these content types besides form fields."""

    def mark(view: Callable[..., Any]) -> Callable[..., Any]:
        view.takes_bodies = frozenset(content_types)  # type: ignore[attr-defined]
        return view

    return mark


def init_app(app: Flask) -> None:
    app.before_request(check_body)


def check_body() -> None:
    if request.method not in _BODY_METHODS or request.endpoint is None:
        return
    length = request.content_length
    if not length and not request.headers.get("Transfer-Encoding"):
        return  # no body: a button form without fields under test, or a bare POST
    kind = request.mimetype
    view = current_app.view_functions.get(request.endpoint)
    if kind == FORM:
        if not _utf8_form(request.get_data(cache=True)):
            abort(400)
        return
    if kind not in getattr(view, "takes_bodies", ()):
        abort(400)


def _utf8_form(raw: bytes) -> bool:
    """Every name and value of a urlencoded body decodes as UTF-8. (Werkzeug
    would replace what does not, and the replacement would be stored.)"""
    # The whole body at once: "&" and "=" are ASCII, so the body is UTF-8 when
    # every name and value is (one call instead of one per field).
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
