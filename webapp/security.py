"""Response headers of the security baseline (DESIGN.md §4)."""
from __future__ import annotations

from urllib.parse import urlsplit

from functools import wraps

from flask import current_app, g, request
from flask_login import current_user

PUBLIC_CACHEABLE = {"main.manifest", "main.offline", "main.service_worker"}
OFFLINE_COPY_HEADER = "X-Offline-Copy"


def offline_copy(view):
    """Mark a returnee's own page as readable offline: the service worker keeps
    the last copy it fetched (network first) and deletes every such copy at
    sign-in, sign-out and quick exit, so the next person on a shared phone
    never sees it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.offline_copy = current_user.is_authenticated and current_user.role == "returnee"
        return view(*args, **kwargs)

    return wrapped


def content_security_policy() -> str:
    exit_url = urlsplit(current_app.config["QUICK_EXIT_URL"])
    exit_origin = f"{exit_url.scheme}://{exit_url.netloc}" if exit_url.netloc else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        # The quick-exit form redirects to a neutral site.
        f"form-action 'self' {exit_origin}".strip(),
        "frame-ancestors 'none'",
        "manifest-src 'self'",
        "worker-src 'self'",
    ])


def apply_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    # Pages and fragments are personal or carry a CSRF token: never stored in a
    # shared cache or the browser's disk cache (shared phones).
    if g.get("offline_copy") and response.status_code == 200:
        headers[OFFLINE_COPY_HEADER] = "1"
    if request.endpoint not in PUBLIC_CACHEABLE and request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.add("Vary", "Cookie")
        headers.add("Vary", "HX-Request")
    return response
