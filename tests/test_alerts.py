"""Alerts: from a signal to the right person's inbox and phone, in time.

The push service is a local receiver that checks the VAPID signature and
decrypts the payload as a browser would (tests/push_receiver.py)."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webapp import outbox, queue, tasks
from webapp.alerts import signals
from webapp.alerts.models import Alert, AlertRecipient
from webapp.alerts.routing import ROUTES
from webapp.models import Role, utcnow
from webapp.push import service as push
from webapp.push.models import PushAttempt, PushDelivery, PushSubscription


@pytest.fixture()
def people(make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER, display_name="Caseworker Sesay")
    coordinator = make_staff(Role.COORDINATOR, display_name="Coordinator Kamara")
    person, _ = make_returnee(caseworker=cw, name="Secret Name")
    return cw, coordinator, person


def subscribe(ctx, session, receiver, user, name):
    sub = receiver.subscription(name)
    with ctx():
        push.subscribe(session, user, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                       auth=sub["keys"]["auth"])
    session.commit()


def emit_and_commit(ctx, session, person, kind="concern.safety_now"):
    """What a request that writes a signal does: commit, then run the outbox."""
    with ctx():
        signal = signals.emit(session, returnee=person, kind=kind, source_type="concern",
                              source_id=41)
        session.commit()
        outbox.run_after_commit()
    return signal


def test_every_signal_kind_has_a_route():
    assert set(ROUTES) == set(signals.KINDS)


def test_urgent_signal_reaches_the_caseworkers_phone_with_nothing_personal(
        ctx, session, people, receiver, vapid):
    cw, _coordinator, person = people
    subscribe(ctx, session, receiver, cw, "cw-phone")
    emit_and_commit(ctx, session, person)
    (msg,) = receiver.wait_for(1)
    assert receiver.errors == []
    alert = session.scalars(select(Alert)).one()
    assert msg.payload == {"title": "Footing", "body": "Urgent: please open Footing now.",
                           "url": f"/alerts/{alert.id}", "tag": f"alert-{alert.id}"}
    text = json.dumps(msg.payload)
    for secret in ("Secret Name", "safety", "concern", "Sesay", "medicine"):
        assert secret.lower() not in text.lower()
    assert int(msg.headers["ttl"]) == 6 * 3600
    assert msg.headers["urgency"] == "high"
    assert msg.headers["topic"] == f"alert-{alert.id}"
    assert len(json.dumps(msg.payload).encode()) <= 1024
    delivery = session.scalars(select(PushDelivery)).one()
    session.refresh(delivery)
    assert delivery.status == "delivered"


@pytest.mark.parametrize("lang", ["nl", "en_SL@kri", "ar"])
def test_push_text_is_in_the_recipients_language(ctx, session, people, receiver, vapid, lang):
    cw, _c, person = people
    cw.locale = lang
    session.commit()
    subscribe(ctx, session, receiver, cw, "phone")
    emit_and_commit(ctx, session, person, kind="support.new")
    (msg,) = receiver.wait_for(1)
    from flask_babel import force_locale

    with ctx(), force_locale(lang):
        theirs = str(push.MESSAGES["alert"])
    assert theirs != "Something new needs your attention in Footing."
    assert msg.payload["body"] == theirs
    assert msg.headers["urgency"] == "low"


def test_alert_goes_to_the_caseworker_and_shows_in_their_inbox(
        web, session, ctx, people, make_staff):
    cw, _coordinator, person = people
    other_cw = make_staff(Role.CASEWORKER)
    emit_and_commit(ctx, session, person, kind="checkin.unsafe")
    alert = session.scalars(select(Alert)).one()
    assert [r.user_id for r in session.scalars(select(AlertRecipient))] == [cw.id]
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    page = web.get("/alerts/").get_data(as_text=True)
    assert "Check-in: not feeling safe" in page and "Secret Name" in page
    # The label and the name are one text in the link (a flex box), so they
    # wrap together instead of splitting into two columns.
    assert re.search(r'class="alert-title"[^>]*><span><strong>Check-in: not feeling safe</strong>'
                     r' · <bdi>Secret Name</bdi></span></a>', page)
    assert 'class="badge">1' in web.get("/home").get_data(as_text=True)
    # Someone else's alert answers 404, and acknowledging it changes nothing.
    from .conftest import Web

    other = Web(web.client.application.test_client())
    sign_in_staff(other, other_cw)
    assert other.get(f"/alerts/{alert.id}").status_code == 404
    assert other.post(f"/alerts/{alert.id}/ack", form_page="/alerts/").status_code == 404
    session.refresh(alert)
    assert alert.acknowledged_at is None
    assert other.get("/alerts/999999").status_code == 404


def test_no_caseworker_means_the_coordinators_are_told_at_once(
        session, ctx, make_staff, make_returnee):
    coordinator = make_staff(Role.COORDINATOR)
    person, _ = make_returnee()
    from webapp.people.models import CaseworkerAssignment

    for a in session.scalars(select(CaseworkerAssignment)):
        a.ended_at = utcnow()
    session.commit()
    emit_and_commit(ctx, session, person, kind="concern.urgent")
    (rung,) = session.scalars(select(AlertRecipient)).all()
    assert rung.user_id == coordinator.id and rung.reason == "escalated"


def test_unacknowledged_urgent_alert_escalates_after_30_minutes(
        session, ctx, people, receiver, vapid):
    cw, coordinator, person = people
    subscribe(ctx, session, receiver, coordinator, "coord-phone")
    emit_and_commit(ctx, session, person)
    alert = session.scalars(select(Alert)).one()
    start = alert.created_at
    with ctx():
        assert tasks.escalate(start + timedelta(minutes=29)) == []
        tasks.escalate(start + timedelta(minutes=31))
    session.expire_all()
    ladder = session.scalars(select(AlertRecipient).order_by(AlertRecipient.id)).all()
    assert [(r.user_id, r.reason) for r in ladder] == [(cw.id, "assigned"),
                                                     (coordinator.id, "escalated")]
    assert session.get(Alert, alert.id).escalated_at is not None
    (msg,) = receiver.wait_for(1)
    assert msg.path.endswith("/coord-phone")
    with ctx():  # escalation happens once
        assert tasks.escalate(start + timedelta(hours=5)) == []


def test_a_backlog_of_overdue_alerts_escalates_in_batches_the_most_severe_first(
        session, ctx, people, make_returnee, monkeypatch):
    """Many alerts overdue at once (the worker was stopped): each batch is
    committed before the next, the urgent one goes first, and after a failure
    half-way the next sweep escalates the rest, each alert once."""
    from webapp.alerts import service as alerts

    cw, coordinator, _person = people
    for n in range(3):
        emit_and_commit(ctx, session, make_returnee(caseworker=cw, name=f"P{n}")[0],
                        kind="checkin.unsafe")
    emit_and_commit(ctx, session, make_returnee(caseworker=cw, name="Urgent")[0])
    urgent = session.scalars(select(Alert).where(Alert.kind == "concern.safety_now")).one()
    monkeypatch.setattr(tasks, "BATCH", 2)
    tell = alerts._tell
    told = []

    def tell_until_the_database_goes_away(session_, alert, users, reason, new=False):
        told.append(alert.id)
        if len(told) == 3:
            raise RuntimeError("the database went away")
        return tell(session_, alert, users, reason, new)

    monkeypatch.setattr(alerts, "_tell", tell_until_the_database_goes_away)
    later = utcnow() + timedelta(days=3)
    with ctx(), pytest.raises(RuntimeError):
        tasks.escalate(later)

    def escalated():
        session.expire_all()
        return session.execute(select(AlertRecipient.alert_id, func.count()).where(
            AlertRecipient.user_id == coordinator.id, AlertRecipient.reason == "escalated")
            .group_by(AlertRecipient.alert_id)).all()

    first = dict(escalated())
    assert len(first) == 2 and urgent.id in first  # the first batch, committed
    monkeypatch.setattr(alerts, "_tell", tell)
    with ctx():
        tasks.escalate(later)
    assert sorted(n for _id, n in escalated()) == [1, 1, 1, 1]


def test_acknowledged_alert_does_not_escalate(web, session, ctx, people):
    cw, coordinator, person = people
    emit_and_commit(ctx, session, person)
    alert = session.scalars(select(Alert)).one()
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    assert web.post(f"/alerts/{alert.id}/ack", form_page=f"/alerts/{alert.id}").status_code == 302
    with ctx():
        tasks.escalate(alert.created_at + timedelta(hours=1))
    assert session.scalar(select(func.count()).select_from(AlertRecipient)) == 1
    page = web.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Caseworker Sesay" in page  # the ladder shows who acknowledged


def test_resolve_needs_a_note_and_then_closes(web, session, ctx, people):
    cw, _c, person = people
    emit_and_commit(ctx, session, person, kind="checkin.no_medicine")
    alert = session.scalars(select(Alert)).one()
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    r = web.post(f"/alerts/{alert.id}/resolve", {"note": "  "}, form_page=f"/alerts/{alert.id}")
    assert r.status_code == 400
    session.refresh(alert)
    assert alert.resolved_at is None
    r = web.post(f"/alerts/{alert.id}/resolve", {"note": "Medicine found at the clinic"},
                 form_page=f"/alerts/{alert.id}")
    assert r.status_code == 302
    session.refresh(alert)
    assert alert.resolved_at is not None and alert.acknowledged_by_id == cw.id
    assert "No open alerts" in web.get("/alerts/").get_data(as_text=True)


def test_inbox_orders_by_severity_then_age_and_refreshes_as_a_partial(web, session, ctx, people):
    cw, _c, person = people
    for kind in ("support.new", "checkin.unsafe", "concern.safety_now", "checkin.low_mood"):
        emit_and_commit(ctx, session, person, kind=kind)
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    page = web.get("/alerts/").get_data(as_text=True)
    order = [page.index(str(ROUTES[k].label)) for k in
             ("concern.safety_now", "checkin.unsafe", "checkin.low_mood", "support.new")]
    assert order == sorted(order)
    partial = web.get("/alerts/", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="alert-list"') and "<html" not in body
    assert 'hx-trigger="every 30s"' in body


def test_a_long_inbox_goes_page_by_page_and_each_page_refreshes_itself(
        web, session, ctx, people, make_returnee, monkeypatch):
    from webapp import db

    from .conftest import sign_in_staff

    cw, _c, _person = people
    monkeypatch.setattr(db, "PAGE_SIZE", 2)
    # A new request (normal), an urgent safety concern, a check-in "not safe" (serious).
    for name, kind in (("Ama", "support.new"), ("Bintu", "concern.safety_now"),
                       ("Chernor", "checkin.unsafe")):
        emit_and_commit(ctx, session, make_returnee(caseworker=cw, name=name)[0], kind=kind)
    sign_in_staff(web, cw)
    first = web.get("/alerts/").get_data(as_text=True)
    assert first.index("Bintu") < first.index("Chernor") and "Ama" not in first
    assert "Page 1 of 2" in first and 'href="/alerts/?page=2">Next' in first
    second = web.get("/alerts/?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Ama" in second and "Bintu" not in second
    assert 'hx-get="/alerts/?page=2"' in second  # the refresh stays on this page


def test_inbox_queries_do_not_grow_with_alerts(web, session, ctx, people, make_returnee,
                                              count_queries):
    cw, _c, person = people
    emit_and_commit(ctx, session, person)
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    with count_queries() as few:
        web.get("/alerts/")
    # Alerts about ten other people: each row names its person.
    for n in range(10):
        other, _ = make_returnee(caseworker=cw, name=f"Person {n}")
        emit_and_commit(ctx, session, other, kind="checkin.unsafe")
    with count_queries() as many:
        page = web.get("/alerts/").get_data(as_text=True)
    assert all(f"Person {n}" in page for n in range(10))
    assert many() == few()


def test_routing_twice_makes_one_alert(session, ctx, people):
    _cw, _c, person = people
    signal = emit_and_commit(ctx, session, person)
    signal = session.merge(signal)
    signal.routed_at = None  # as if a crash lost the "routed" mark
    session.commit()
    with ctx():
        tasks.route_signals()
    assert session.scalar(select(func.count()).select_from(Alert)) == 1


# --- Push faults -------------------------------------------------------------------

def one_delivery(ctx, session, people, receiver, *script):
    cw, _c, person = people
    subscribe(ctx, session, receiver, cw, "phone")
    receiver.script = list(script)
    emit_and_commit(ctx, session, person)
    return session.scalars(select(PushDelivery)).one()


def test_gone_device_loses_exactly_that_subscription(ctx, session, people, receiver, vapid):
    cw, _c, person = people
    subscribe(ctx, session, receiver, cw, "old-phone")  # told first: answers 410
    subscribe(ctx, session, receiver, cw, "new-phone")
    receiver.script = [(410, {}, 0), (201, {}, 0)]
    emit_and_commit(ctx, session, person)
    session.expire_all()
    endpoints = session.scalars(select(PushSubscription.endpoint)).all()
    assert [e.rsplit("/", 1)[-1] for e in endpoints] == ["new-phone"]
    statuses = [d.status for d in session.scalars(select(PushDelivery).order_by(PushDelivery.id))]
    assert statuses == ["gone", "delivered"]
    assert [m.path for m in receiver.wait_for(1)] == ["/push/new-phone"]


def test_429_is_retried_after_retry_after(ctx, session, people, receiver, vapid):
    delivery = one_delivery(ctx, session, people, receiver, (429, {"Retry-After": "120"}, 0))
    session.refresh(delivery)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert delivery.next_attempt_at >= utcnow() + timedelta(seconds=110)
    with ctx():
        assert tasks.send_delivery(delivery.id) == "skipped"  # not yet
        assert tasks.send_delivery(delivery.id, now=delivery.next_attempt_at) == "delivered"
    assert len(receiver.wait_for(1)) == 1


def test_server_error_and_hang_are_retried_with_backoff(ctx, session, people, receiver, vapid):
    delivery = one_delivery(ctx, session, people, receiver, (500, {}, 0), (201, {}, 3.0))
    session.refresh(delivery)
    first_retry = delivery.next_attempt_at
    assert delivery.status == "pending" and first_retry > utcnow()
    with ctx():  # the receiver now hangs past the timeout
        assert tasks.send_delivery(delivery.id, now=first_retry) == "retry"
    session.refresh(delivery)
    assert delivery.attempts == 2
    assert delivery.next_attempt_at - first_retry >= timedelta(seconds=60)
    outcomes = session.scalars(select(PushAttempt.outcome).order_by(PushAttempt.id)).all()
    assert outcomes == ["retry", "error"]
    with ctx():
        assert tasks.send_delivery(delivery.id, now=delivery.next_attempt_at) == "delivered"


def test_413_is_not_retried(ctx, session, people, receiver, vapid):
    delivery = one_delivery(ctx, session, people, receiver, (413, {}, 0))
    session.refresh(delivery)
    assert delivery.status == "failed"
    with ctx():
        assert tasks.sweep(utcnow() + timedelta(days=1))["sent"] == []


def test_worker_killed_after_sending_sends_again_and_the_inbox_shows_one_alert(
        ctx, session, people, receiver, vapid, monkeypatch):
    cw, _c, person = people
    subscribe(ctx, session, receiver, cw, "phone")
    real_record = push._record

    def crash(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr(push, "_record", crash)
    with pytest.raises(SystemExit):
        emit_and_commit(ctx, session, person)
    monkeypatch.setattr(push, "_record", real_record)
    assert len(receiver.wait_for(1)) == 1
    delivery = session.scalars(select(PushDelivery)).one()
    session.refresh(delivery)
    assert delivery.status == "pending"  # nothing recorded: it is sent again
    with ctx():
        tasks.sweep(utcnow() + tasks.LEASE + timedelta(seconds=1))
    assert len(receiver.wait_for(2)) == 2
    assert {m.headers["topic"] for m in receiver.received} == {f"alert-{delivery.alert_id}"}
    assert session.scalar(select(func.count()).select_from(Alert)) == 1


def test_the_alert_is_made_with_its_cause_and_the_sweep_sends_a_push_never_enqueued(
        ctx, session, people, receiver, vapid):
    cw, _c, person = people
    subscribe(ctx, session, receiver, cw, "phone")
    with ctx():
        signals.emit(session, returnee=person, kind="concern.urgent")
        session.commit()
        outbox.discard()  # the process died right after the commit
    # In the caseworker's inbox at once: no worker needed for that.
    alert = session.scalars(select(Alert)).one()
    assert [r.user_id for r in session.scalars(select(AlertRecipient))] == [cw.id]
    assert receiver.received == []
    with ctx():
        tasks.sweep()
    assert len(receiver.wait_for(1)) == 1
    assert receiver.received[0].headers["topic"] == f"alert-{alert.id}"


def test_a_routing_failure_keeps_the_report_and_the_sweep_routes_it(
        ctx, session, people, monkeypatch):
    _cw, _c, person = people
    from webapp.alerts import service as alerts
    from webapp.alerts.models import Signal

    def broken(*_args, **_kwargs):
        raise RuntimeError("routing table broken")

    real = alerts.route_signal
    monkeypatch.setattr(alerts, "route_signal", broken)
    signal = emit_and_commit(ctx, session, person)
    session.expire_all()
    assert session.get(Signal, signal.id).routed_at is None  # kept, not routed
    assert session.scalar(select(func.count()).select_from(Alert)) == 0
    monkeypatch.setattr(alerts, "route_signal", real)
    with ctx():
        tasks.sweep()
    assert session.scalar(select(func.count()).select_from(Alert)) == 1


# --- A stopped worker ------------------------------------------------------------------

LATE_WARNING = "Alerts are late"


def unrouted_signal(ctx, session, person, age: timedelta):
    """A signal committed `age` ago and not routed yet (its routing failed, or
    a script wrote it): the worker's sweep is what routes it."""
    from webapp.alerts.models import Signal

    signal = Signal(organisation_id=person.organisation_id, returnee_id=person.id,
                    kind="concern.safety_now", created_at=utcnow() - age)
    session.add(signal)
    session.commit()
    return signal


def test_staff_pages_warn_when_the_worker_has_not_routed_an_alert(
        web, session, ctx, people, make_staff, make_org, make_returnee, app):
    cw, coordinator, person = people
    from .conftest import Web, sign_in_staff

    sign_in_staff(web, cw)
    unrouted_signal(ctx, session, person, timedelta(seconds=30))
    assert LATE_WARNING not in web.get("/home").get_data(as_text=True)  # still normal

    unrouted_signal(ctx, session, person, timedelta(minutes=4))
    page = web.get("/home").get_data(as_text=True)
    assert LATE_WARNING in page and 'role="alert"' in page and "/caseload/" in page
    other = Web(app.test_client())
    sign_in_staff(other, coordinator)
    assert LATE_WARNING in other.get("/alerts/").get_data(as_text=True)
    # Another organisation's staff are not told about this one's reports.
    elsewhere = make_org()
    stranger = make_staff(Role.COORDINATOR, organisation=elsewhere)
    third = Web(app.test_client())
    sign_in_staff(third, stranger)
    assert LATE_WARNING not in third.get("/home").get_data(as_text=True)

    with ctx():
        tasks.sweep()  # the worker is back
    assert LATE_WARNING not in web.get("/home").get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Alert)) == 2


def test_staff_pages_warn_when_an_overdue_alert_was_not_escalated(web, session, ctx, people):
    cw, _coordinator, person = people
    from .conftest import sign_in_staff

    emit_and_commit(ctx, session, person, kind="support.new")
    alert = session.scalars(select(Alert)).one()
    sign_in_staff(web, cw)
    alert.ack_due_at = utcnow() - timedelta(minutes=1)  # due a moment ago: the sweep is coming
    session.commit()
    assert LATE_WARNING not in web.get("/home").get_data(as_text=True)
    alert.ack_due_at = utcnow() - timedelta(minutes=10)
    session.commit()
    assert LATE_WARNING in web.get("/home").get_data(as_text=True)
    with ctx():
        tasks.escalate()
    assert LATE_WARNING not in web.get("/home").get_data(as_text=True)


def test_worker_health_says_whether_the_sweep_runs(client, ctx, monkeypatch):
    import time

    queue.huey.delete(queue.HEARTBEAT)
    r = client.get("/healthz/worker")
    assert (r.status_code, r.json) == (503, {"worker": "not seen"})
    # The web app itself stays healthy: a load balancer keeps sending people.
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json.items() >= {"status": "ok", "database": "ok",
                                                       "worker": "not seen"}.items()
    with ctx():
        tasks.sweep()
    r = client.get("/healthz/worker")
    assert (r.status_code, r.json) == (200, {"worker": "ok"})
    queue.huey.put(queue.HEARTBEAT, time.time() - 600)
    assert client.get("/healthz/worker").json == {"worker": "late"}
    assert client.get("/healthz/worker").status_code == 503

    def unreachable(*_args, **_kwargs):
        raise ConnectionError("queue storage down")

    monkeypatch.setattr(queue.huey, "get", unreachable)
    assert client.get("/healthz/worker").json == {"worker": "unreachable"}
    assert client.get("/healthz").status_code == 200
    queue.huey.delete(queue.HEARTBEAT)


def test_health_says_whether_push_is_configured(app, client, tmp_path, monkeypatch):
    from webapp.push.service import generate_vapid

    monkeypatch.setattr(app, "instance_path", str(tmp_path))  # no vapid_private.pem there
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", "")
    r = client.get("/healthz")
    assert (r.status_code, r.json["push"]) == (200, "not configured")
    generate_vapid(tmp_path / "vapid_private.pem")
    assert client.get("/healthz").json["push"] == "ok"


# --- Subscriptions -------------------------------------------------------------------


NO_DEVICE = "No phone of yours gets alerts"


def test_staff_without_a_device_for_alerts_are_told_on_their_home_page(
        web, app, session, ctx, people, receiver, vapid, make_staff):
    cw, _coordinator, _person = people
    from .conftest import Web, sign_in_staff

    sign_in_staff(web, cw)
    page = web.get("/home").get_data(as_text=True)
    assert NO_DEVICE in page and 'href="/notifications/"' in page
    subscribe(ctx, session, receiver, cw, "cw-phone")
    assert NO_DEVICE not in web.get("/home").get_data(as_text=True)
    # A facilitator gets no alerts: nothing to turn on for them.
    facilitator = Web(app.test_client())
    sign_in_staff(facilitator, make_staff(Role.FACILITATOR))
    assert NO_DEVICE not in facilitator.get("/home").get_data(as_text=True)


def test_no_device_hint_without_push_on_the_server(web, app, people, tmp_path, monkeypatch):
    from .conftest import sign_in_staff

    # No key configured, none in the instance folder (a developer's may hold one).
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", "")
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    sign_in_staff(web, people[0])
    assert NO_DEVICE not in web.get("/home").get_data(as_text=True)

def test_subscribe_and_unsubscribe_from_the_settings_page(web, session, returnee_web, receiver):
    returnee_web()
    sub = receiver.subscription("returnee-phone")
    token = web.token("/notifications/")
    r = web.client.post("/notifications/subscribe", json=sub, headers={"X-CSRFToken": token})
    assert r.status_code == 201
    stored = session.scalars(select(PushSubscription)).one()
    page = web.get("/notifications/").get_data(as_text=True)
    assert "Turn off" in page
    r = web.post(f"/notifications/{stored.id}/remove", form_page="/notifications/")
    assert r.status_code == 302
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


@pytest.mark.parametrize("bad", [
    {"endpoint": "ftp://x/y", "keys": {"p256dh": "A" * 87, "auth": "A" * 22}},
    {"endpoint": "http://127.0.0.1/p", "keys": {"p256dh": "short", "auth": "A" * 22}},
    {"endpoint": "http://127.0.0.1/p", "keys": {"p256dh": "A" * 87, "auth": "!!"}},
    {"endpoint": 5, "keys": []},
    {},
])
def test_bad_subscriptions_are_refused_and_store_nothing(web, session, returnee_web, bad):
    returnee_web()
    token = web.token("/notifications/")
    r = web.client.post("/notifications/subscribe", json=bad, headers={"X-CSRFToken": token})
    assert r.status_code == 400 and r.get_json()["ok"] is False
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_subscribe_needs_the_csrf_token(web, session, returnee_web, receiver):
    returnee_web()
    r = web.client.post("/notifications/subscribe", json=receiver.subscription("x"))
    assert r.status_code == 400
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0


def test_removing_someone_elses_device_is_404(app, web, session, ctx, returnee_web,
                                               make_returnee, receiver):
    other, _ = make_returnee(name="Other")
    subscribe(ctx, session, receiver, other, "theirs")
    returnee_web()
    theirs = session.scalars(select(PushSubscription)).one()
    r = web.post(f"/notifications/{theirs.id}/remove", form_page="/notifications/")
    assert r.status_code == 404
    assert session.scalar(select(func.count()).select_from(PushSubscription)) == 1


def test_a_shared_browser_moves_to_its_new_person(session, ctx, make_returnee, receiver):
    a, _ = make_returnee(name="A")
    b, _ = make_returnee(name="B")
    sub = receiver.subscription("shared")
    with ctx():
        push.subscribe(session, a, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                       auth=sub["keys"]["auth"])
        push.subscribe(session, b, endpoint=sub["endpoint"], p256dh=sub["keys"]["p256dh"],
                       auth=sub["keys"]["auth"])
    assert [s.user_id for s in session.scalars(select(PushSubscription))] == [b.id]


def test_generate_vapid_writes_a_key_once(app, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["push", "generate-vapid"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "vapid_private.pem").exists()
    assert "VAPID_PUBLIC_KEY=" in result.output
    assert runner.invoke(args=["push", "generate-vapid"]).exit_code != 0


def test_an_alert_opens_its_cause(web, session, ctx, people):
    from webapp.support import service as support

    cw, _c, person = people
    with ctx():
        case = support.create_concern(session, person, kind="medicine", sub_type="ran_out",
                                      urgency="soon")
        session.commit()
        outbox.run_after_commit()
    alert = session.scalars(select(Alert)).one()
    assert alert.kind == "concern.serious"
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    page = web.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert f'href="/help/cases/{case.id}"' in page
    assert web.get(f"/help/cases/{case.id}").status_code == 200


def test_an_alert_without_a_page_of_its_own_opens_the_persons_timeline(web, session, ctx, people):
    cw, _c, person = people
    emit_and_commit(ctx, session, person, kind="checkin.low_mood")
    alert = session.scalars(select(Alert)).one()
    from .conftest import sign_in_staff

    sign_in_staff(web, cw)
    page = web.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert f'href="/caseload/{person.id}"' in page
    assert web.get(f"/caseload/{person.id}").status_code == 200


def test_two_coordinators_closing_one_alert_at_once_keep_the_first_note(app):
    """The second is told the alert is closed (its note stays in its form)
    instead of overwriting the first one's note. Real connections, through the
    access check that loads the alert (SQLite or PostgreSQL)."""
    from flask import g
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from webapp import access
    from webapp.alerts import service as alerts
    from webapp.alerts.models import Signal
    from webapp.errors import DomainError
    from webapp.models import Organisation, User

    from .conftest import new_org, race

    engine = app.extensions["footing_db"].engine
    with Session(engine) as s:
        org = new_org(s, name="Race")
        people = [User(organisation_id=org.id, role=role.value, display_name=name)
                  for role, name in ((Role.RETURNEE, "Sia"), (Role.COORDINATOR, "Ama"),
                                     (Role.COORDINATOR, "Kofi"))]
        s.add_all(people)
        s.flush()
        signal = Signal(organisation_id=org.id, returnee_id=people[0].id, kind="concern.safety_now")
        s.add(signal)
        s.flush()
        alert = Alert(organisation_id=org.id, returnee_id=people[0].id, signal_id=signal.id,
                      kind=signal.kind, severity="urgent", severity_rank=0,
                      ack_due_at=utcnow() + timedelta(minutes=30))
        s.add(alert)
        s.commit()
        ids = {"org": org.id, "people": [p.id for p in people], "signal": signal.id,
               "alert": alert.id}

    def close(coordinator: int, note: str):
        def work(s):
            with app.test_request_context(f"/alerts/{ids['alert']}/resolve", method="POST"):
                g.db_session, g._login_user = s, s.get(User, coordinator)
                try:
                    assert access.enforce() is None
                    alerts.resolve(s, g.scoped, g._login_user, note)
                    return "closed"
                except DomainError as err:
                    return str(err.message)
                finally:
                    g.pop("db_session")  # race() commits it, not the request's teardown
        return work

    try:
        results = race(app, close(ids["people"][1], "Called her, she is safe."),
                       close(ids["people"][2], "Visited."))
        with Session(engine) as s:
            closed = s.get(Alert, ids["alert"])
            kept = (closed.resolution_note, closed.resolved_by_id)
    finally:
        with Session(engine) as s:
            s.execute(delete(Alert).where(Alert.id == ids["alert"]))
            s.execute(delete(Signal).where(Signal.id == ids["signal"]))
            s.execute(delete(User).where(User.id.in_(ids["people"])))
            s.execute(delete(Organisation).where(Organisation.id == ids["org"]))
            s.commit()
    assert results == {"first": "closed", "second": "This alert is already closed."}
    assert kept == ("Called her, she is safe.", ids["people"][1])
