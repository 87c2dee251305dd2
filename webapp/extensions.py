"""Extension instances, created once and bound in `create_app`."""
from __future__ import annotations

from flask import Response
from flask_babel import Babel
from flask_compress import Compress as _Compress
from flask_limiter import Limiter
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


babel = Babel()
compress = Compress()
csrf = CSRFProtect()
htmx = Htmx()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

