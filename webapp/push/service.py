"""Web push: subscriptions, the outbox of deliveries, and sending one delivery.

Payload rules (DESIGN.md §3.4): a generic line in the recipient's language and a
URL with an id — never a name, report text, place or health word. TTL always
set, Urgency from the alert, a Topic so a repeat replaces the earlier one on
the device, and an explicit timeout.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app
from flask_babel import force_locale, lazy_gettext as _l
from py_vapid import Vapid01
from pywebpush import WebPusher, WebPushException, webpush
from requests import RequestException
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from .. import outbox
from ..auth.service import latest_choices_of
from ..errors import DomainError
from ..models import Role, User, utcnow
from .models import PushAttempt, PushDelivery, PushSubscription

log = logging.getLogger(__name__)

# The only texts a push may carry. Keys are stored; text is made at send time
# in the recipient's language.
MESSAGES = {
    "alert.urgent": _l("Urgent: please open Footing now."),
    "alert": _l("Something new needs your attention in Footing."),
    "checkin.due": _l("It is time for your check-in."),
    "meeting.tomorrow": _l("Your group meets tomorrow."),
    "meeting.cancelled": _l("A meeting of your group is called off."),
    "reply": _l("You have a new message in Footing."),
    "on_it": _l("Someone is on it. Open Footing to see."),
}
MAX_PAYLOAD = 1024
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)


# --- Subscriptions --------------------------------------------------------------

def _b64url_bytes(value: str, length: int) -> bool:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == length


def known_push_service(endpoint: str) -> bool:
    """An endpoint at one of the push services of PUSH_SERVICE_HOSTS (a host
    there or its subdomain), over https (or http where tests allow it)."""
    parts = urlsplit(endpoint)
    schemes = ("https", "http") if current_app.config["PUSH_ALLOW_HTTP_ENDPOINTS"] else ("https",)
    host = (parts.hostname or "").lower()
    return (parts.scheme in schemes and bool(host) and not parts.username
            and any(host == known or host.endswith("." + known)
                    for known in current_app.config["PUSH_SERVICE_HOSTS"]))


def validate_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    bad = DomainError(_l("This device could not be registered for notifications. "
                         "Please try again."))
    if not isinstance(endpoint, str) or not isinstance(p256dh, str) or not isinstance(auth, str):
        raise bad
    if len(endpoint) > 1000 or not known_push_service(endpoint):
        raise bad
    # An uncompressed P-256 public key, and a 16-byte authentication secret.
    if not (_b64url_bytes(p256dh, 65) and _b64url_bytes(auth, 16)):
        raise bad


def subscribe(session: Session, user: User, *, endpoint: str, p256dh: str, auth: str,
              label: str = "") -> PushSubscription:
    validate_subscription(endpoint, p256dh, auth)
    existing = session.scalar(select(PushSubscription).where(PushSubscription.endpoint == endpoint))
    if existing is not None and existing.user_id != user.id:
        # The same browser now belongs to someone else (a shared phone): the
        # earlier person must stop getting notifications on it.
        session.delete(existing)
        session.flush()
        existing = None
    if existing is None:
        existing = PushSubscription(user_id=user.id, endpoint=endpoint)
        session.add(existing)
    existing.p256dh, existing.auth, existing.label = p256dh, auth, label[:100]
    session.flush()
    return existing


def devices_of(session: Session, user: User) -> list[PushSubscription]:
    """The person's devices that get notifications, in the order they were added."""
    return list(session.scalars(select(PushSubscription).where(
        PushSubscription.user_id == user.id).order_by(PushSubscription.id)))


def own_subscription(session: Session, viewer: User,
                     subscription_id: int) -> PushSubscription | None:
    """The access scope "subscription": a device of the viewer's own; nobody
    else's, whatever their role."""
    sub = session.get(PushSubscription, subscription_id)
    return sub if sub is not None and sub.user_id == viewer.id else None


def unsubscribe(session: Session, subscription: PushSubscription) -> None:
    """Stop notifications on one device (found through `own_subscription`)."""
    session.delete(subscription)
    session.flush()


# --- The outbox ----------------------------------------------------------------

def queue(session: Session, user_ids: Iterable[int], message: str, url: str, *, topic: str,
          urgency: str = "normal", ttl: int = 24 * 3600, alert_id: int | None = None
          ) -> list[int]:
    """One delivery per device of each of these people, in the caller's
    transaction; returns their ids. A few statements per 500 people, not
    one per person or device (the reminder jobs run over everyone)."""
    if message not in MESSAGES:
        raise ValueError(f"unknown push message {message!r}")
    ids = sorted(set(user_ids))
    deliveries: list[int] = []
    for start in range(0, len(ids), 500):  # well under any database's parameter limit
        devices = session.execute(select(PushSubscription.id, PushSubscription.user_id).where(
            PushSubscription.user_id.in_(ids[start:start + 500]))).all()
        if devices:
            deliveries += session.scalars(insert(PushDelivery).returning(PushDelivery.id), [
                {"user_id": user_id, "subscription_id": sub_id, "alert_id": alert_id,
                 "message": message, "url": url, "topic": topic, "urgency": urgency, "ttl": ttl}
                for sub_id, user_id in devices]).all()
    return deliveries


def notify(session: Session, user_ids: Iterable[int], message: str, url: str, *, topic: str,
           urgency: str = "normal", ttl: int = 24 * 3600) -> None:
    """For returnee notifications (check-in due, meeting tomorrow or called
    off, a reply): written now, sent after the commit."""
    send_after_commit(queue(session, user_ids, message, url, topic=topic, urgency=urgency,
                            ttl=ttl))


def want_reminders(session: Session, users: list[User]) -> set[int]:
    """Those of `users` whose latest consent says yes to reminders. (A reply
    in their own case is not a reminder: it goes to every device they added.)"""
    choices = latest_choices_of(session, (user.id for user in users))
    return {user_id for user_id, c in choices.items() if c["push_reminders"]}


def deliveries_of_alert(session: Session, alert_id: int
                        ) -> tuple[list[PushDelivery], list[PushAttempt]]:
    """An alert's push deliveries and every attempt to send them."""
    deliveries = list(session.scalars(select(PushDelivery).where(
        PushDelivery.alert_id == alert_id).order_by(PushDelivery.id)))
    attempts = list(session.scalars(select(PushAttempt).where(
        PushAttempt.delivery_id.in_([d.id for d in deliveries])).order_by(PushAttempt.id)))
    return deliveries, attempts


def send_after_commit(delivery_ids: list[int]) -> None:
    """Hand deliveries written in this transaction to the worker once it has
    committed (the sweep sends any whose hand-over was lost)."""
    if delivery_ids:
        outbox.after_commit("push.send", delivery_ids)


def payload(delivery: PushDelivery, locale: str) -> str:
    with force_locale(locale):
        body = str(MESSAGES[delivery.message])
    data = json.dumps({"title": "Footing", "body": body, "url": delivery.url,
                       "tag": delivery.topic}, ensure_ascii=False, separators=(",", ":"))
    if len(data.encode()) > MAX_PAYLOAD:
        raise ValueError("push payload over 1 KB")
    return data


# --- Sending -------------------------------------------------------------------

def warm(session: Session, locales: Iterable[str]) -> None:
    """Do once, at a worker's start, what the first push would otherwise pay
    for (issue #18: a cold worker missed the 2 s goal): a database connection,
    the VAPID key read and a signature made with it, one payload encrypted for
    a throw-away key (OpenSSL's curve code), and every language's catalogue
    loaded. Nothing is sent."""
    session.execute(select(1))
    for locale in locales:
        with force_locale(locale):
            for text in MESSAGES.values():
                str(text)
    key = vapid_private_key()
    if key is None:
        return
    vapid = Vapid01.from_file(key) if Path(key).is_file() else Vapid01.from_string(key)
    vapid.sign({"sub": current_app.config["VAPID_SUBJECT"], "aud": "https://warm.invalid",
                "exp": int(utcnow().timestamp()) + 3600})
    receiver = ec.generate_private_key(ec.SECP256R1())
    point = receiver.public_key().public_bytes(serialization.Encoding.X962,
                                               serialization.PublicFormat.UncompressedPoint)
    keys = {"p256dh": base64.urlsafe_b64encode(point).decode().rstrip("="),
            "auth": base64.urlsafe_b64encode(bytes(16)).decode().rstrip("=")}
    WebPusher({"endpoint": "https://warm.invalid/", "keys": keys}).encode(b"warm")


def vapid_private_key() -> str | None:
    key = current_app.config.get("VAPID_PRIVATE_KEY") or ""
    if key:
        return key
    path = Path(current_app.instance_path) / "vapid_private.pem"
    return str(path) if path.exists() else None


def needs_device(session: Session, user: User) -> bool:
    """Staff who get alerts, on a server that can send pushes, with no device
    that accepts them: they see an alert only when they open Footing."""
    if user.role not in (Role.CASEWORKER.value, Role.COORDINATOR.value):
        return False
    if vapid_private_key() is None:
        return False
    return session.scalar(select(PushSubscription.id).where(
        PushSubscription.user_id == user.id).limit(1)) is None


@dataclass
class StaffReach:
    user: User
    last_delivered_at: datetime | None


def staff_without_device(session: Session, organisation_id: int) -> list[StaffReach]:
    """The organisation's caseworkers and coordinators (not disabled) that no
    push reaches: no device subscribed, e.g. the push service said their last
    one is gone (404/410). With when a push last reached one of them. Two
    queries whatever the number of staff."""
    has_device = select(PushSubscription.id).where(
        PushSubscription.user_id == User.id).exists()
    staff = list(session.scalars(select(User).where(
        User.organisation_id == organisation_id, User.disabled_at.is_(None),
        User.role.in_((Role.CASEWORKER.value, Role.COORDINATOR.value)), ~has_device)
        .order_by(User.display_name, User.id)))
    if not staff:
        return []
    last = dict(session.execute(select(PushDelivery.user_id, func.max(PushDelivery.delivered_at))
                                .where(PushDelivery.user_id.in_([u.id for u in staff]),
                                       PushDelivery.status == "delivered")
                                .group_by(PushDelivery.user_id)).all())
    return [StaffReach(user, last.get(user.id)) for user in staff]


@dataclass
class Outcome:
    status: str  # delivered | retry | gone | refused | error | skipped
    retry_at: datetime | None = None


def _retry_after(response, now: datetime) -> timedelta | None:
    value = (getattr(response, "headers", None) or {}).get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value))
    try:
        return max(parsedate_to_datetime(value) - now, timedelta(0))
    except (TypeError, ValueError):
        return None


def _record(session: Session, delivery: PushDelivery, outcome: str, code: int | None,
            detail: str = "") -> None:
    session.add(PushAttempt(delivery_id=delivery.id, status_code=code, outcome=outcome,
                            detail=detail[:200]))


def send(session: Session, delivery: PushDelivery, now: datetime | None = None) -> Outcome:
    """Try one delivery once; record what happened. The caller commits."""
    now = now or utcnow()
    if delivery.status != "pending":
        return Outcome("skipped")
    sub = delivery.subscription
    if sub is None:  # the device unsubscribed meanwhile
        delivery.status = "gone"
        return Outcome("gone")
    if not known_push_service(sub.endpoint):  # stored before the list changed
        delivery.status = "failed"
        _record(session, delivery, "refused", None, "unknown push service")
        return Outcome("refused")
    key = vapid_private_key()
    if key is None:
        log.warning("push not sent: no VAPID key configured (delivery=%s)", delivery.id)
        return Outcome("skipped")
    user = session.get_one(User, delivery.user_id)
    data = payload(delivery, user.locale or current_app.config["BABEL_DEFAULT_LOCALE"])
    delivery.attempts += 1
    code = None
    response = None
    try:
        response = webpush(
            subscription_info={"endpoint": sub.endpoint,
                               "keys": {"p256dh": sub.p256dh, "auth": sub.auth}},
            data=data,
            vapid_private_key=key,
            # pywebpush adds "aud" and "exp" to the dict it is given: a fresh
            # one for every send.
            vapid_claims={"sub": current_app.config["VAPID_SUBJECT"]},
            ttl=delivery.ttl,
            timeout=current_app.config["PUSH_TIMEOUT_SECONDS"],
            headers={"Urgency": delivery.urgency, "Topic": delivery.topic},
        )
        code = getattr(response, "status_code", None)
    except WebPushException as exc:
        response = exc.response
        code = getattr(response, "status_code", None)
    except (RequestException, OSError) as exc:
        return _retry(session, delivery, now, None, "error", type(exc).__name__)
    if code is not None and 200 <= code < 300:
        delivery.status = "delivered"
        delivery.delivered_at = now
        _record(session, delivery, "delivered", code)
        return Outcome("delivered")
    if code in (404, 410):
        # That device is gone for good: remove exactly that subscription.
        _record(session, delivery, "gone", code)
        delivery.status = "gone"
        gone = session.get(PushSubscription, sub.id)
        delivery.subscription_id = None
        if gone is not None:
            session.delete(gone)
        return Outcome("gone")
    if code == 429 or (code is not None and code >= 500):
        return _retry(session, delivery, now, _retry_after(response, now), "retry", "", code)
    # 400, 403, 413 and anything else: the request itself is wrong; retrying
    # would fail the same way.
    delivery.status = "failed"
    _record(session, delivery, "refused", code)
    return Outcome("refused")


def _retry(session: Session, delivery: PushDelivery, now: datetime, wait: timedelta | None,
           outcome: str, detail: str, code: int | None = None) -> Outcome:
    _record(session, delivery, outcome, code, detail)
    if delivery.attempts >= MAX_ATTEMPTS:
        delivery.status = "failed"
        return Outcome("refused")
    backoff = min(BACKOFF_BASE * (2 ** (delivery.attempts - 1)), BACKOFF_MAX)
    delivery.next_attempt_at = now + max(backoff, wait or timedelta(0))
    return Outcome("retry", delivery.next_attempt_at)


def due_deliveries(session: Session, now: datetime, limit: int = 200) -> list[int]:
    return list(session.scalars(select(PushDelivery.id).where(
        PushDelivery.status == "pending", PushDelivery.next_attempt_at <= now
    ).order_by(PushDelivery.id).limit(limit)))


def generate_vapid(path: Path) -> str:
    """Write a new VAPID private key (PEM) and return the public key for the
    browser (base64url, uncompressed point)."""
    vapid = Vapid01()
    vapid.generate_keys()
    path.parent.mkdir(parents=True, exist_ok=True)
    vapid.save_key(str(path))
    path.chmod(0o600)
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def vapid_public_key() -> str | None:
    configured = current_app.config.get("VAPID_PUBLIC_KEY")
    if configured:
        return configured
    key = vapid_private_key()
    if key is None:
        return None

    vapid = Vapid01.from_file(key) if Path(key).exists() else Vapid01.from_string(key)
    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
