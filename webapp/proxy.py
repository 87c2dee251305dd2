"""The proxies in front of the app: TRUSTED_PROXIES (issue #20).

Behind Caddy (deploy/) gunicorn sees Caddy's address and plain http. Caddy
says who asked in X-Forwarded-For, -Proto and -Host. TRUSTED_PROXIES is how
many proxies in front of gunicorn add those headers (Caddy alone: 1); with it
Werkzeug's ProxyFix takes the client's address, scheme and host from them, so
that everything reading the request sees the real client: the per-address
sign-in limits (Flask-Limiter keys on request.remote_addr), HSTS (sent on
https requests only, security.py), external URLs (the activation QR code) and
gunicorn's access log (it reads the same environ).

0, the default: the headers are ignored, so a client that reaches the app
directly cannot choose its address. Never count more proxies than there are:
the client writes the first entries of X-Forwarded-For itself.

X-Forwarded-Port and -Prefix are never read: Caddy passes a client's own
through unchanged (it sets only -For, -Proto and -Host), and the port comes
with the host.
"""
from __future__ import annotations

import re

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix


def trusted_proxies(value: object) -> int:
    """TRUSTED_PROXIES as a number of hops; a clear error for anything else."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    text = str(value if value is not None else "").strip()
    if text == "":
        return 0
    if not re.fullmatch(r"[0-9]{1,2}", text):
        raise RuntimeError(
            f"TRUSTED_PROXIES must be the number of proxies in front of the app "
            f"(0 when none, 1 behind Caddy alone), not {value!r}.")
    return int(text)


def init_app(app: Flask) -> None:
    """Wrap the whole app (outside WhiteNoise) when proxies are trusted."""
    hops = trusted_proxies(app.config.get("TRUSTED_PROXIES"))
    app.config["TRUSTED_PROXIES"] = hops
    if hops:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=0, x_prefix=0)
