"""Domain errors and the translated error pages."""
from __future__ import annotations

import logging
import math
import time
from typing import TypeAlias

from flask import Flask, current_app, g, url_for
from flask_babel import LazyString, force_locale, lazy_gettext as _l, lazy_ngettext
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from htmx_flask import request  # Flask's request, typed with its .htmx
from werkzeug.exceptions import HTTPException

from . import i18n
from .extensions import limiter
from .security import CSRF_REFUSED_HEADER

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
    return error_page(status, title, detail or text), status


def error_page(status: int, title: object, text: object) -> str:
    """error.html, rendered without the database: with PostgreSQL down the
    500 page must still come, translated, with quick exit and a number to
    call. So no context processors (they ask who is signed in, and for their
    alerts); only a 4xx, whose database answered, may still look up the
    person (their language, their organisation's number)."""
    user = g.get("_login_user")
    if user is None and status < 500:
        try:
            user = current_user._get_current_object()
        except Exception:  # the database is down after all
            log.warning("error page: who is signed in could not be looked up")
    locale = _locale_of(user)
    with force_locale(locale):
        return current_app.jinja_env.get_template("error.html").render(
            status=status, title=title, text=text, locale_tag=i18n.locale_tag(locale),
            text_direction=i18n.text_direction(locale),
            emergency_phone=_emergency_phone(user, status))


def _loaded(obj: object, name: str) -> object:
    """An attribute this request already loaded (None otherwise): reading it
    never asks the database."""
    return vars(obj).get(name) if obj is not None and hasattr(obj, "__dict__") else None


def _locale_of(user: object) -> str:
    """The person's language as far as known without the database: their
    profile when it is loaded, else the cookie, the browser, English."""
    profile = _loaded(user, "locale")
    if isinstance(profile, str) and profile in i18n.supported():
        return profile
    # The selector would ask for the person's profile: here they are nobody.
    known = g.pop("_login_user", None)
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]
    try:
        return i18n.select_locale()
    finally:
        g.pop("_login_user")
        if known is not None:
            g._login_user = known


def _emergency_phone(user: object, status: int) -> str:
    """The person's organisation's emergency line when at hand, else the
    instance's (EMERGENCY_PHONE): someone in danger always sees a number."""
    org = _loaded(user, "organisation")
    if org is None and status < 500 and getattr(user, "is_authenticated", False):
        try:
            org = user.organisation  # type: ignore[attr-defined]
        except Exception:
            log.warning("error page: the organisation could not be looked up")
    phone = _loaded(org, "emergency_phone")
    return phone if isinstance(phone, str) and phone else current_app.config["EMERGENCY_PHONE"]


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(_e: CSRFError):
        # Said in a header too: the offline queue, which tried the page's own
        # token, then asks /csrf for this session's and sends again.
        body, status = render_error(
            400, _l("This form has expired. Please go back, reload the page and send it again."))
        return body, status, {CSRF_REFUSED_HEADER: "1"}

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        code = e.code or 500
        if code in (301, 302, 303, 307, 308):
            return e
        if code == 401 and request.htmx:
            return "", 401, {"HX-Redirect": url_for("auth.signin")}
        if code == 429:
            return render_error(429, _wait())
        return render_error(code if code in ERROR_TEXT else 400 if code < 500 else 500)

    @app.errorhandler(Exception)
    def server_error(e: Exception):
        log.exception("unhandled error on %s", request.endpoint)
        return render_error(500)


def _wait() -> Message | None:
    """How long the limit that refused this request still holds, in whole
    minutes (a sign-in window may be an hour, not "a few minutes"); None when
    no limit of the limiter's said so (the generic text then)."""
    try:
        limit = limiter.current_limit
    except Exception:  # the limiter's storage is unreachable: it failed open
        limit = None
    if limit is None or not limit.breached:
        return None
    # reset_at is a second late on purpose; never more than the limit's window.
    window = math.ceil(limit.limit.get_expiry() / 60)
    minutes = min(window, max(1, math.ceil((limit.reset_at - time.time()) / 60)))
    return lazy_ngettext("There were too many tries. Wait %(num)d minute, then try again.",
                         "There were too many tries. Wait %(num)d minutes, then try again.",
                         minutes)
