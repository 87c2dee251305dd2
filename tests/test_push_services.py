"""Only the push services browsers use may be a device's endpoint: the worker
POSTs to it, so any other address would let a signed-in person make the
server call a host of their choosing (issue #20)."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webapp.models import Role
from webapp.push import service as push
from webapp.push.models import PushDelivery, PushSubscription

KEYS = {"p256dh": "A" * 87, "auth": "A" * 22}


def _subscribe(web, endpoint: str):
    token = web.token("/notifications/")
    return web.client.post("/notifications/subscribe", json={"endpoint": endpoint, "keys": KEYS},
                           headers={"X-CSRFToken": token})


@pytest.mark.parametrize("endpoint", [
    "https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b",                 # Chrome, Android
    "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",        # Firefox
    "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB",            # Edge
    "https://web.push.apple.com/QGXr0ZaUoQ",                             # Safari
])
def test_a_device_of_a_known_push_service_is_registered(web, session, returnee_web, endpoint):
    returnee_web()
    assert _subscribe(web, endpoint).status_code == 201
    assert session.scalars(select(PushSubscription.endpoint)).all() == [endpoint]


@pytest.mark.parametrize("endpoint", [
    "https://attacker.example.org/collect",
    "https://fcm.googleapis.com.attacker.example.org/fcm/send/x",   # a look-alike suffix
    "https://notfcm.googleapis.com/fcm/send/x",                      # not a subdomain
    "https://user@fcm.googleapis.com/fcm/send/x",                    # credentials in the URL
    "http://fcm.googleapis.com/fcm/send/x",                          # not https
    "https://10.0.0.7/push",
    "https:///fcm.googleapis.com/x",
])
def test_any_other_endpoint_is_refused_with_a_clear_error_and_nothing_stored(
        app, web, session, returnee_web, monkeypatch, endpoint):
    monkeypatch.setitem(app.config, "PUSH_ALLOW_HTTP_ENDPOINTS", False)
    returnee_web()
    answer = _subscribe(web, endpoint)
    assert answer.status_code == 400
    assert answer.get_json()["error"].startswith("This device could not be registered")
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_the_worker_never_posts_to_a_device_stored_before_its_service_was_dropped(
        app, ctx, session, make_staff, vapid, monkeypatch):
    caseworker = make_staff(Role.CASEWORKER)
    sub = PushSubscription(user_id=caseworker.id, endpoint="https://old-service.example.org/x",
                           p256dh=KEYS["p256dh"], auth=KEYS["auth"])
    session.add(sub)
    session.commit()
    with ctx():
        [delivery_id] = push.queue(session, [caseworker.id], "alert", "/alerts/1",
                                   topic="alert-1")
        session.commit()

    def no_post(**_kwargs):
        raise AssertionError("the worker called an unknown push service")

    monkeypatch.setattr(push, "webpush", no_post)
    with ctx():
        delivery = session.get(PushDelivery, delivery_id)
        assert push.send(session, delivery).status == "refused"
        session.commit()
    assert session.get(PushDelivery, delivery_id).status == "failed"
