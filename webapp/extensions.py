"""Extension instances, created once and bound in `create_app`."""
from __future__ import annotations

from flask import Flask, Response
from flask_babel import Babel
from flask_compress import Compress as _Compress
from flask_limiter import Limiter as _Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx


class Compress(_Compress):
    """Flask-Compress, for error pages too (issue #24). It leaves out every
    answer but a 2xx, and an error page is a whole page on 2G: a check-in with
    a mistake comes back as its form with a 400 (15.6 KB uncompressed), and a
    404, 429 or 500 page carries the icons and quick exit. What they reflect
    of the request is no more than a 200 form page does (see security.py on
    BREACH); a cross-site POST carries no session (SameSite=Lax)."""

    def after_request(self, response: Response | None) -> Response:
        if response is None or not 400 <= response.status_code < 600:
            return super().after_request(response)
        status = response.status_code
        response.status_code = 200  # the only thing the library checks it for
        try:
            return super().after_request(response)
        finally:
            response.status_code = status


class Limiter(_Limiter):
    """Flask-Limiter, with limits only on the routes that declare them
    (`@limiter.limit` on sign-in, activation, the PIN): a declared limit is
    checked by its decorator when the route runs. The check the extension adds
    before every request only adds default, application and blueprint limits;
    there are none, so it found nothing to check, at about 0.05 ms on every
    page (issue #24: a tenth of what a check-in costs over a bare insert). It
    stays whenever such limits are configured; tests/test_signin_limits.py
    checks that no blueprint declares one."""

    def init_app(self, app: Flask) -> None:
        super().init_app(app)
        manager = self.limit_manager
        if not (manager.default_limits or manager.application_limits):
            app.before_request_funcs[None].remove(self._check_request_limit)


babel = Babel()
compress = Compress()
csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

