"""Accounts, activation, sign-in and sessions.

Functions take the SQLAlchemy session, flush, and raise `DomainError` with a
message a person can read. They never commit and never touch the HTTP layer.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import pyotp
from flask import current_app
from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..audit import audit
from ..db import get_locked
from ..errors import DomainError
from ..models import Role, User, utcnow
from ..passwords import hash_secret, new_token, token_digest, verify_secret
from ..privacy.models import ConsentRecord
from .models import ActivationCode, AuthSession, DeviceBinding

# No 0/O, 1/I/L: codes are read aloud, printed and typed on small keyboards.
# The cookie that names this browser's device binding (a returnee's phone).
DEVICE_COOKIE = "footing_device"
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
# The cookie that holds a bound browser's binding ("<id>.<secret>").
DEVICE_COOKIE = "footing_device"
SELECTOR_LEN = 4
VERIFIER_LEN = 8

# The consent text lives in templates/auth/_consent_text.html; a change to its
# meaning must change this version so records say which text was agreed to.
CONSENT_VERSION = "2026-11"
CONSENT_CHOICES = ("share_with_group", "caseworker_may_edit_plan", "push_reminders")


class ActivationError(DomainError):
    pass


class SigninError(DomainError):
    status = 401


@dataclass
class IssuedCode:
    user: User
    code: str  # shown once; only its hash is stored
    expires_at: datetime


# --- Accounts -----------------------------------------------------------------

def _random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isascii() and ch.isalnum())


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def issue_activation_code(session: Session, user: User, issued_by: User | None) -> IssuedCode:
    """A new single-use code; any earlier unused code of the person stops working."""
    now = utcnow()
    session.execute(
        update(ActivationCode)
        .where(ActivationCode.user_id == user.id, ActivationCode.used_at.is_(None),
               ActivationCode.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    selector = _random_code(SELECTOR_LEN)
    verifier = _random_code(VERIFIER_LEN)
    expires = now + timedelta(hours=current_app.config["ACTIVATION_HOURS"])
    session.add(ActivationCode(
        user_id=user.id, selector=selector, verifier_hash=hash_secret(verifier),
        created_by_id=issued_by.id if issued_by else None, expires_at=expires,
    ))
    audit(session, issued_by, "activation.issue", user, user.organisation_id)
    session.flush()
    return IssuedCode(user=user, code=format_code(selector + verifier), expires_at=expires)


def end_all_sessions(session: Session, user: User, reason: str) -> None:
    """Every session of the person ends now, on every device."""
    user.session_epoch += 1
    session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


# --- Activation ---------------------------------------------------------------

def find_activation(session: Session, raw_code: str) -> ActivationCode:
    """The open activation for a code, or ActivationError. One message for every
    failure, so the answer does not tell a guesser which part was right."""
    code = normalise_code(raw_code)
    invalid = ActivationError(
        _l("This code does not work. It may be wrong, used or too old. "
           "Ask your caseworker for a new code."), field="code")
    if len(code) != SELECTOR_LEN + VERIFIER_LEN:
        raise invalid
    selector, verifier = code[:SELECTOR_LEN], code[SELECTOR_LEN:]
    now = utcnow()
    candidates = session.scalars(select(ActivationCode).where(
        ActivationCode.selector == selector)).all()
    for activation in candidates:
        if verify_secret(activation.verifier_hash, verifier):
            if (activation.used_at or activation.revoked_at or activation.expires_at <= now
                    or activation.user.is_disabled):
                raise invalid
            return activation
    if not candidates:
        verify_secret(None, verifier)  # same work as a real check
    raise invalid


def open_activation(session: Session, activation_id: int | None,
                    lock: bool = False) -> ActivationCode:
    """Re-check an activation held in the browser session between steps;
    `lock` when this request may use it up (two at once: only one does)."""
    activation = get_locked(session, ActivationCode, activation_id, lock) if activation_id else None
    if (activation is None or activation.used_at or activation.revoked_at
            or activation.expires_at <= utcnow() or activation.user.is_disabled):
        raise ActivationError(_l("This activation has ended. Please enter your code again."))
    return activation


def validate_pin(pin: str, repeat: str) -> None:
    if not (len(pin) == 6 and pin.isascii() and pin.isdigit()):
        raise DomainError(_l("The PIN must be exactly 6 digits."), field="pin")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        raise DomainError(_l("This PIN is too easy to guess. Choose another."), field="pin")
    if pin != repeat:
        raise DomainError(_l("The two PINs are not the same."), field="pin_repeat")


def activate_returnee(session: Session, activation: ActivationCode, *, pin: str,
                      pin_repeat: str, choices: dict[str, bool], locale: str,
                      device_label: str) -> tuple[User, DeviceBinding, str]:
    """Record consent, set the PIN and bind this browser. Returns the device
    secret, which only the browser's cookie keeps."""
    user = activation.user
    if user.role != Role.RETURNEE.value:
        raise ActivationError(_l("This code is for a staff account."))
    validate_pin(pin, pin_repeat)
    now = utcnow()
    activation.used_at = now
    session.add(ConsentRecord(
        user_id=user.id, version=CONSENT_VERSION, locale=locale,
        choices={key: bool(choices.get(key)) for key in CONSENT_CHOICES}))
    # A new phone replaces the old one: an earlier binding stops working.
    session.execute(update(DeviceBinding).where(
        DeviceBinding.user_id == user.id, DeviceBinding.revoked_at.is_(None)
    ).values(revoked_at=now))
    user.pin_hash = hash_secret(pin)
    user.locale = locale
    end_all_sessions(session, user, "reactivated")
    secret = new_token(32)
    binding = DeviceBinding(user_id=user.id, secret_hash=token_digest(secret),
                            label=device_label[:100])
    session.add(binding)
    audit(session, None, "account.activate", user, user.organisation_id)
    session.flush()
    return user, binding, f"{binding.id}.{secret}"


# Built once: the check-in form reads it on every visit.
_LATEST_CHOICES = (select(ConsentRecord.choices).where(ConsentRecord.user_id == bindparam("user"))
                   .order_by(ConsentRecord.id.desc()).limit(1))


def latest_choices(session: Session, user: User) -> dict[str, bool]:
    """What the person agreed to last (a change adds a record; the newest
    wins). No record, as for staff: nothing agreed."""
    return _known(session.scalar(_LATEST_CHOICES, {"user": user.id}))


def latest_choices_of(session: Session, user_ids: Iterable[int]) -> dict[int, dict[str, bool]]:
    """`latest_choices` of many people in one query (for the reminder runs)."""
    # Ordered by id: each person's newest record is the last one written here.
    return {user_id: _known(choices) for user_id, choices in session.execute(
        select(ConsentRecord.user_id, ConsentRecord.choices)
        .where(ConsentRecord.user_id.in_(set(user_ids))).order_by(ConsentRecord.id))}


def _known(choices: dict | None) -> dict[str, bool]:
    return {key: bool((choices or {}).get(key)) for key in CONSENT_CHOICES}


def enrolment_secret(activation: ActivationCode) -> str:
    """The TOTP secret offered while a staff member activates: the same on
    every try with this code (no scanning again after a typo), and kept
    nowhere, not even in the session cookie. It comes from the server's key
    and this activation, which works once; the account stores it when the
    activation succeeds."""
    key = current_app.config["SECRET_KEY"].encode()
    message = f"totp-enrolment:{activation.id}:{activation.verifier_hash}".encode()
    return base64.b32encode(hmac.new(key, message, hashlib.sha256).digest()[:20]).decode()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email or str(user.id),
                                               issuer_name="Footing")


def _accept_totp(user: User, secret: str, code: str) -> bool:
    """Accept the current code (±1 step) once: a code seen before is refused."""
    code = "".join(ch for ch in code if ch.isdigit())
    if len(code) != 6:
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    for offset in (0, -1, 1):
        at = now + timedelta(seconds=30 * offset)
        counter = totp.timecode(at)
        if counter > user.totp_last_counter and secrets.compare_digest(totp.at(at), code):
            user.totp_last_counter = counter
            return True
    return False


def validate_password(password: str, repeat: str) -> None:
    minimum = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < minimum:
        raise DomainError(_l("The password must have at least %(n)d characters.", n=minimum),
                          field="password")
    if len(password) > 200:
        raise DomainError(_l("The password is too long."), field="password")
    if password != repeat:
        raise DomainError(_l("The two passwords are not the same."), field="password_repeat")


def activate_staff(session: Session, activation: ActivationCode, *, password: str,
                   password_repeat: str, totp_secret: str, totp_code: str) -> User:
    user = activation.user
    if user.role == Role.RETURNEE.value:
        raise ActivationError(_l("This code is for a returnee account."))
    validate_password(password, password_repeat)
    if not _accept_totp(user, totp_secret, totp_code):
        raise DomainError(_l("The 6-digit code from your app is not right. Try the newest one."),
                          field="totp")
    activation.used_at = utcnow()
    user.password_hash = hash_secret(password)
    user.totp_secret = totp_secret
    end_all_sessions(session, user, "reactivated")
    audit(session, None, "account.activate", user, user.organisation_id)
    session.flush()
    return user


# --- Sign-in ------------------------------------------------------------------

WRONG_STAFF = _l("The e-mail address or password is not right.")


def account_id_for_email(session: Session, email: str) -> int | None:
    """The account an e-mail address names, if any (for the sign-in limits)."""
    return session.scalar(select(User.id).where(User.email == email.strip().lower()))


def check_staff_password(session: Session, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    ok = verify_secret(user.password_hash if user else None, password)
    if not ok or user is None or user.is_disabled or not user.is_staff or not user.is_activated:
        raise SigninError(WRONG_STAFF)
    return user


def pending_staff(session: Session, user_id: int, *, lock: bool) -> User | None:
    """The staff member whose password was right a moment ago, for the code
    step; locked when the code is sent, so a code counts once even from two
    requests at once."""
    return get_locked(session, User, user_id, lock=lock)


def check_staff_totp(session: Session, user: User, code: str) -> None:
    if user.is_disabled or not user.totp_secret or not _accept_totp(user, user.totp_secret, code):
        raise SigninError(_l("The 6-digit code is not right. Try the newest one."), field="code")
    session.flush()


def binding_from_cookie(session: Session, cookie: str | None,
                        lock: bool = False) -> DeviceBinding | None:
    """The binding this browser holds, if the cookie is genuine (locked or not);
    `lock` when this request counts a PIN on it (two at once count twice)."""
    if not cookie or "." not in cookie:
        return None
    raw_id, secret = cookie.split(".", 1)
    if not raw_id.isdigit():
        return None
    binding = get_locked(session, DeviceBinding, int(raw_id), lock)
    if binding is None or binding.revoked_at is not None:
        return None
    if not secrets.compare_digest(binding.secret_hash, token_digest(secret)):
        return None
    return binding


def binding_for_help(session: Session, cookie: str | None) -> DeviceBinding | None:
    """Whose phone this is, for "I need help now" without the PIN: a genuine
    binding (locked by wrong PINs or not) of an account that is not disabled.
    A forged, revoked or unknown cookie gives None, alike."""
    binding = binding_from_cookie(session, cookie)
    if binding is None or binding.user.is_disabled:
        return None
    return binding


class PinLocked(SigninError):
    status = 403


def check_pin(session: Session, binding: DeviceBinding | None, pin: str) -> User:
    """PIN sign-in: only on a bound, unlocked browser; 5 wrong PINs lock it."""
    if binding is None:
        raise SigninError(_l("This phone is not set up for your account. "
                             "Ask your caseworker for an activation code."))
    user = binding.user
    if binding.locked_at is not None or user.is_disabled:
        raise PinLocked(_l("Sign-in on this phone is locked. "
                           "Ask your caseworker to set it up again."))
    if verify_secret(user.pin_hash, pin):
        binding.failed_pins = 0
        binding.last_signin_at = utcnow()
        session.flush()
        return user
    _wrong_pin(session, binding, field="pin")


def _wrong_pin(session: Session, binding: DeviceBinding, field: str) -> NoReturn:
    """Count a wrong PIN on this phone's binding (the caller holds it locked
    and keeps the change although it answers 4xx); the last one allowed locks
    the binding, which also ends the sessions started on it."""
    binding.failed_pins += 1
    limit = current_app.config["MAX_WRONG_PINS"]
    if binding.failed_pins >= limit:
        binding.locked_at = utcnow()
        session.flush()
        raise PinLocked(_l("Too many wrong PINs. Sign-in on this phone is locked. "
                           "Ask your caseworker to set it up again."))
    session.flush()
    left = limit - binding.failed_pins
    raise SigninError(lazy_ngettext("Wrong PIN. You can try %(num)d more time.",
                                    "Wrong PIN. You can try %(num)d more times.", left),
                      field=field)


def change_pin(session: Session, user: User, binding: DeviceBinding | None, current: str,
               pin: str, repeat: str) -> None:
    """New PIN; every session of the person ends (the caller may start a new one).
    A wrong current PIN counts as at sign-in on this phone (`binding`, locked
    by the caller): someone who finds the phone signed in cannot go on trying."""
    if not verify_secret(user.pin_hash, current):
        if binding is not None:
            _wrong_pin(session, binding, field="current")
        raise DomainError(_l("Your current PIN is not right."), field="current")
    if binding is not None:
        binding.failed_pins = 0
    validate_pin(pin, repeat)
    user.pin_hash = hash_secret(pin)
    end_all_sessions(session, user, "pin_changed")
    session.flush()


def change_password(session: Session, user: User, current: str, password: str,
                    repeat: str) -> None:
    """New password; every session of the person ends (the caller may start a
    new one). A wrong current password is a SigninError: the caller counts it."""
    if not verify_secret(user.password_hash, current):
        raise SigninError(_l("Your current password is not right."), field="current")
    validate_password(password, repeat)
    user.password_hash = hash_secret(password)
    end_all_sessions(session, user, "password_changed")
    session.flush()


# --- Sessions -----------------------------------------------------------------

def start_session(session: Session, user: User, binding: DeviceBinding | None = None) -> str:
    """A new server-side session with a fresh token: the identifier changes at
    every sign-in."""
    token = new_token(32)
    session.add(AuthSession(token_hash=token_digest(token), user_id=user.id,
                            device_binding_id=binding.id if binding else None,
                            epoch=user.session_epoch))
    session.flush()
    user.session_token = token  # read by Flask-Login's get_id()
    return token


def end_session(session: Session, token: str | None, reason: str) -> None:
    if not token:
        return
    session.execute(update(AuthSession).where(
        AuthSession.token_hash == token_digest(token), AuthSession.ended_at.is_(None)
    ).values(ended_at=utcnow(), end_reason=reason))


# Built once: this runs on every signed-in request.
_LIVE_SESSION = select(AuthSession).where(AuthSession.token_hash == bindparam("digest"),
                                          AuthSession.ended_at.is_(None))


def load_session(session: Session, token: str) -> AuthSession | None:
    """The live session for a cookie token, with its user, in one query."""
    auth = session.scalar(_LIVE_SESSION, {"digest": token_digest(token)})
    if auth is None:
        return None
    user = auth.user
    too_old = auth.created_at < utcnow() - timedelta(hours=current_app.config["SESSION_MAX_HOURS"])
    if user.is_disabled or auth.epoch != user.session_epoch or too_old:
        return None
    if auth.device_binding is not None and not auth.device_binding.usable:
        return None
    user.session_token = token
    return auth


def session_binding(session: Session, token: str) -> DeviceBinding | None:
    """The device binding of a live session, locked: changing the PIN on it
    counts a wrong current PIN there (two at once count twice)."""
    auth = load_session(session, token)
    if auth is None or auth.device_binding_id is None:
        return None
    return get_locked(session, DeviceBinding, auth.device_binding_id)


def idle_limit(user: User) -> timedelta:
    key = "STAFF_IDLE_MINUTES" if user.is_staff else "RETURNEE_IDLE_MINUTES"
    return timedelta(minutes=current_app.config[key])
