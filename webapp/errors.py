"""Domain errors and the translated error pages."""
from __future__ import annotations

import logging
from typing import TypeAlias

from flask import Flask, render_template
from flask_babel import LazyString, lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from htmx_flask import request  # Flask's request, typed with its .htmx
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

# Text for a person: a str, or a translation made when it is shown
# (`lazy_gettext`). Either can be flashed, shown on a form or on a page.
Message: TypeAlias = str | LazyString


class DomainError(Exception):
    """Raised by services with a message a person can read (lazily translated)."""

    status = 400

    def __init__(self, message: Message, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


ERROR_TEXT = {
    400: (_l("Something in the form was not right"),
          _l("Please go back and try again.")),
    401: (_l("Please sign in"), _l("Your session has ended. Sign in again to go on.")),
    403: (_l("Not allowed"), _l("You cannot do this.")),
    404: (_l("Page not found"), _l("This page does not exist or you cannot see it.")),
    405: (_l("Not allowed"), _l("You cannot do this.")),
    413: (_l("Too much text"), _l("What you sent is too long. Please make it shorter.")),
    429: (_l("Please wait a moment"),
          _l("There were too many tries. Wait a few minutes, then try again.")),
    500: (_l("Something went wrong"), _l("It is not your fault. Please try again later.")),
}


def render_error(status: int, detail: Message | None = None):
    title, text = ERROR_TEXT.get(status, ERROR_TEXT[500])
    return render_template("error.html", status=status, title=title,
                           text=detail or text), status


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_e: CSRFError):
        return render_error(
            400, _l("This form has expired. Please go back, reload the page and send it again."))

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = e.code or 500
        if code in (301, 302, 303, 307, 308):
            return e
        if code == 401 and request.htmx:
            from flask import url_for
            return "", 401, {"HX-Redirect": url_for("auth.signin")}
        return render_error(code if code in ERROR_TEXT else 400 if code < 500 else 500)

    @app.errorhandler(Exception)
    def server_error(e: Exception):
        log.exception("unhandled error on %s", request.endpoint)
        return render_error(500)
