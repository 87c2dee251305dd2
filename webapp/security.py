"""Response headers of the security baseline (DESIGN.md §4)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, request

PUBLIC_CACHEABLE = {"main.manifest", "main.offline", "main.service_worker"}


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
    if request.endpoint not in PUBLIC_CACHEABLE and request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers.add("Vary", "Cookie")
        headers.add("Vary", "HX-Request")
    return response
