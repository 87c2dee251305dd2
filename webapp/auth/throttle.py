"""Limits on guessing a staff password or code that do not lock the owner out
(issue #20: 21 wrong passwords from anywhere used to lock a caseworker out for
an hour). docs/SECURITY.md gives the reasoning and the tests.

Each staff sign-in step (/signin/staff, /signin/staff/code) counts tries in
the limiter's storage (Redis when REDIS_URL is set, so every gunicorn worker
sees the same counts), in two buckets:

- per address, every try (RATELIMIT_SIGNIN);
- per account, wrong tries only (RATELIMIT_ACCOUNT), from any address. A
  browser that once signed in to the account with password and code, or
  activated it, holds a known-device cookie for it; its wrong tries go to a
  bucket of its own (of the same size) instead. So a guesser, from however many
  addresses, is stopped at the account's ceiling, while the owner on her own
  computer goes on signing in. A new computer waits for the account's window.

A wrong current password at /me/password is counted per account too
(RATELIMIT_PASSWORD_CHANGE); the one that uses the limit up ends the session
it was typed in.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app, request, session
from itsdangerous import BadData, URLSafeTimedSerializer
from limits import parse
from werkzeug.wrappers import Response

from ..db import db_session
from ..extensions import limiter
from ..forms import plain_text
from . import service

KNOWN_DEVICE_COOKIE = "footing_known_device"
KNOWN_DEVICE_DAYS = 180
# A shared office computer may know a few accounts; the newest sign-in first.
KNOWN_ACCOUNTS_PER_DEVICE = 4
_SEPARATOR = "~"  # not in a signed token, and needs no quoting in a cookie


def wrong_try(response: Response) -> bool:
    """What the per-account buckets count (`deduct_when`): a wrong password or
    code answers 401. A correct one, a form with a field missing (400) and a
    refusal by a limit (429) are not guesses that failed."""
    return response.status_code == 401


def password_key() -> str:
    """The per-account bucket of a try at /signin/staff."""
    email = plain_text(request.form.get("email", "")).strip().lower()[:254]
    device = None
    if request.cookies.get(KNOWN_DEVICE_COOKIE):  # the lookup only when it can matter
        device = known_device(service.account_id_for_email(db_session(), email))
    # A digest: the limiter's storage need not hold e-mail addresses.
    return f"known:{device}" if device else "account:" + _digest("email", email)


def code_key() -> str:
    """The per-account bucket of a try at /signin/staff/code."""
    user_id = (session.get("pending_staff") or [None])[0]
    device = known_device(user_id)
    return f"known:{device}" if device else f"totp:{user_id}"


# --- Known devices ----------------------------------------------------------------

def _digest(kind: str, value: object) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]),
                                  salt="footing.known-device")


def _entries() -> list[tuple[str, str, str]]:
    """(token, account digest, device id) of each genuine, recent entry in this
    browser's cookie. A forged, altered or old one counts as none."""
    raw = request.cookies.get(KNOWN_DEVICE_COOKIE, "")
    entries = []
    for token in raw.split(_SEPARATOR)[:KNOWN_ACCOUNTS_PER_DEVICE]:
        try:
            account, device = _serializer().loads(token, max_age=KNOWN_DEVICE_DAYS * 86400)
        except (BadData, TypeError, ValueError):
            continue
        if isinstance(account, str) and isinstance(device, str):
            entries.append((token, account, device))
    return entries


def known_device(user_id: int | None) -> str | None:
    """This browser's device id for the account, when it signed in to it before."""
    if user_id is None:
        return None
    account = _digest("account", user_id)
    return next((device for _token, acct, device in _entries() if acct == account), None)


def remember_device(response: Response, user_id: int) -> None:
    """After a sign-in with password and code, or an activation: from now on
    this browser's wrong tries for the account are counted on their own. A new
    device id each time, so a copy of an older cookie has a bucket of its own."""
    account = _digest("account", user_id)
    token = _serializer().dumps([account, secrets.token_urlsafe(12)])
    others = [old for old, acct, _device in _entries() if acct != account]
    cfg = current_app.config
    response.set_cookie(
        KNOWN_DEVICE_COOKIE, _SEPARATOR.join([token, *others][:KNOWN_ACCOUNTS_PER_DEVICE]),
        max_age=KNOWN_DEVICE_DAYS * 86400, path="/signin", httponly=True,
        secure=cfg["SESSION_COOKIE_SECURE"], samesite="Lax")


# --- Changing the password ----------------------------------------------------------

def count_wrong_current_password(user_id: int) -> bool:
    """Count a wrong current password at /me/password for the account; True
    when it used up RATELIMIT_PASSWORD_CHANGE (the caller ends the session)."""
    if not limiter.enabled:
        return False
    item = parse(current_app.config["RATELIMIT_PASSWORD_CHANGE"])
    key = ("password-change", str(user_id))
    limiter.limiter.hit(item, *key)
    return not limiter.limiter.test(item, *key)
