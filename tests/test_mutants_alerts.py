"""Alerts (webapp/alerts/service.py and the routing table), pinned where a
mutation test found them loose (issue #25, docs/mutation.md): the severity,
time limit and push of every kind, who is told and when, who sees an alert,
and what acknowledging and closing keep."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.alerts import service as alerts, signals
from webapp.alerts.models import Alert, AlertRecipient
from webapp.errors import DomainError
from webapp.models import Role, User, utcnow
from webapp.people.models import CaseworkerAssignment
from webapp.push.models import PushDelivery, PushSubscription

from . import test_alerts
from .conftest import Web, sign_in_staff

HOUR = timedelta(hours=1)
# What each kind of signal becomes: severity, time to acknowledge, push
# urgency and time-to-live (issue #6). A change here is a change of how loud
# something is: on purpose, in webapp/alerts/routing.py and here together.
EXPECTED = {
    "concern.safety_now": ("urgent", timedelta(minutes=30), "high", 6 * 3600),
    "concern.urgent": ("urgent", timedelta(minutes=30), "high", 6 * 3600),
    "concern.serious": ("serious", 24 * HOUR, "normal", 24 * 3600),
    "checkin.unsafe": ("serious", 24 * HOUR, "normal", 24 * 3600),
    "checkin.no_medicine": ("serious", 24 * HOUR, "normal", 24 * 3600),
    "checkin.low_mood": ("serious", 24 * HOUR, "normal", 24 * 3600),
    "checkin.no_contact": ("serious", 48 * HOUR, "normal", 24 * 3600),
    "group.raised": ("serious", 24 * HOUR, "normal", 24 * 3600),
    "support.new": ("normal", 72 * HOUR, "low", 72 * 3600),
    "followup.overdue": ("normal", 72 * HOUR, "low", 72 * 3600),
    "account.deletion_requested": ("normal", 72 * HOUR, "low", 72 * 3600),
}


people = test_alerts.people  # the alerts tests' caseworker, coordinator and person


def device(session, user, name="phone") -> None:
    """A push subscription, written directly: these tests read the queued
    deliveries, nothing is sent."""
    session.add(PushSubscription(user_id=user.id, endpoint=f"http://127.0.0.1:9/{name}-{user.id}",
                                 p256dh="k", auth="a"))
    session.commit()


def emit(ctx, session, person, kind="concern.safety_now") -> Alert:
    """A signal as a request writes it, committed; its alert (made with it)."""
    with ctx():
        signal = signals.emit(session, returnee=person, kind=kind, source_type="concern",
                              source_id=41)
        session.commit()
    return session.scalars(select(Alert).where(Alert.signal_id == signal.id)).one()


def ladder(session, alert) -> list[tuple[int, str]]:
    session.expire_all()
    return [(r.user_id, r.reason) for r in session.scalars(
        select(AlertRecipient).where(AlertRecipient.alert_id == alert.id)
        .order_by(AlertRecipient.id))]


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_every_kind_has_its_severity_time_limit_and_push(ctx, session, people, kind):
    cw, _coordinator, person = people
    device(session, cw)
    alert = emit(ctx, session, person, kind)
    severity, ack_within, urgency, ttl = EXPECTED[kind]
    assert (alert.kind, alert.severity) == (kind, severity)
    assert alert.severity_rank == {"urgent": 0, "serious": 1, "normal": 2}[severity]
    assert alert.ack_due_at - alert.created_at == ack_within
    assert alert.escalated_at is None
    (delivery,) = session.scalars(select(PushDelivery).where(PushDelivery.alert_id == alert.id))
    assert (delivery.user_id, delivery.urgency, delivery.ttl) == (cw.id, urgency, ttl)
    assert delivery.message == ("alert.urgent" if severity == "urgent" else "alert")
    assert (delivery.url, delivery.topic) == (f"/alerts/{alert.id}", f"alert-{alert.id}")


def test_escalation_comes_exactly_when_the_time_to_acknowledge_is_up(ctx, session, people):
    cw, coordinator, person = people
    alert = emit(ctx, session, person, "checkin.unsafe")
    with ctx():
        assert alerts.escalate_overdue(session, alert.ack_due_at - timedelta(seconds=1))[0] == 0
        assert alerts.escalate_overdue(session, alert.ack_due_at)[0] == 1
        session.commit()
    assert ladder(session, alert) == [(cw.id, "assigned"), (coordinator.id, "escalated")]


def test_an_alert_acknowledged_or_closed_in_time_is_not_escalated(ctx, session, people):
    cw, _coordinator, person = people
    acked = emit(ctx, session, person, "checkin.unsafe")
    closed = emit(ctx, session, person, "checkin.no_medicine")
    with ctx():
        alerts.acknowledge(session, acked, cw)
        closed.acknowledged_at = None  # closed without a separate acknowledgement
        alerts.resolve(session, closed, cw, "Talked on the phone")
        closed.acknowledged_at = None
        session.commit()
        assert alerts.escalate_overdue(session, utcnow() + 3 * 24 * HOUR)[0] == 0


def test_only_active_coordinators_of_the_organisation_are_told(
        ctx, session, people, make_staff, make_org):
    cw, coordinator, person = people
    disabled = make_staff(Role.COORDINATOR)
    disabled.disabled_at = utcnow()
    make_staff(Role.COORDINATOR, organisation=make_org())  # another organisation's
    make_staff(Role.CASEWORKER)  # not a coordinator
    session.commit()
    alert = emit(ctx, session, person, "concern.urgent")
    with ctx():
        alerts.escalate_overdue(session, alert.ack_due_at)
        session.commit()
    assert ladder(session, alert) == [(cw.id, "assigned"), (coordinator.id, "escalated")]


def test_a_disabled_caseworker_is_skipped_for_the_coordinators_at_once(ctx, session, people):
    cw, coordinator, person = people
    cw.disabled_at = utcnow()
    session.commit()
    alert = emit(ctx, session, person, "checkin.unsafe")
    assert ladder(session, alert) == [(coordinator.id, "escalated")]
    assert alert.escalated_at is not None


def test_escalation_tells_a_coordinator_once_even_if_already_told(ctx, session, people,
                                                                  make_staff):
    """A coordinator who is also the person's caseworker is on the ladder
    already: escalation adds the other coordinators, and them only once."""
    cw, coordinator, person = people
    other = make_staff(Role.COORDINATOR)
    alert = emit(ctx, session, person, "checkin.unsafe")
    session.add(AlertRecipient(alert_id=alert.id, user_id=coordinator.id, reason="assigned"))
    session.commit()
    with ctx():
        alerts.escalate_overdue(session, alert.ack_due_at)
        session.commit()
    assert sorted(ladder(session, alert)) == sorted(
        [(cw.id, "assigned"), (coordinator.id, "assigned"), (other.id, "escalated")])


def test_the_first_acknowledgement_is_kept_and_closing_keeps_it(ctx, session, people,
                                                               make_staff):
    cw, coordinator, person = people
    alert = emit(ctx, session, person, "checkin.unsafe")
    with ctx():
        alerts.acknowledge(session, alert, cw)
        first = alert.acknowledged_at
        alerts.acknowledge(session, alert, coordinator)
        assert (alert.acknowledged_by_id, alert.acknowledged_at) == (cw.id, first)
        alerts.resolve(session, alert, coordinator, "  Visited her at home  ")
        assert (alert.acknowledged_by_id, alert.acknowledged_at) == (cw.id, first)
        assert (alert.resolved_by_id, alert.resolution_note) == (coordinator.id,
                                                                 "Visited her at home")
        with pytest.raises(DomainError):
            alerts.resolve(session, alert, cw, "again")
        assert alert.resolution_note == "Visited her at home"


def test_closing_needs_words_of_what_was_done(ctx, session, people):
    cw, _coordinator, person = people
    alert = emit(ctx, session, person, "checkin.unsafe")
    with ctx():
        for note in (None, "", "   "):
            with pytest.raises(DomainError):
                alerts.resolve(session, alert, cw, note)
    assert alert.resolved_at is None and alert.acknowledged_at is None


def test_closing_an_unacknowledged_alert_acknowledges_it(ctx, session, people):
    cw, _coordinator, person = people
    alert = emit(ctx, session, person, "checkin.unsafe")
    with ctx():
        alerts.resolve(session, alert, cw, "Done")
    assert alert.acknowledged_by_id == cw.id and alert.acknowledged_at == alert.resolved_at


def test_who_sees_an_alert(app, ctx, session, people, make_staff, make_org, make_returnee):
    """Its recipients, the person's current caseworker and the organisation's
    coordinators; not another caseworker, a facilitator, the person, or
    another organisation."""
    cw, coordinator, person = people
    alert = emit(ctx, session, person, "checkin.unsafe")
    new_cw = make_staff(Role.CASEWORKER)
    for a in session.scalars(select(CaseworkerAssignment)
                             .where(CaseworkerAssignment.returnee_id == person.id)):
        a.ended_at = utcnow()
    session.add(CaseworkerAssignment(organisation_id=person.organisation_id,
                                     returnee_id=person.id, caseworker_id=new_cw.id))
    session.commit()
    other_cw = make_staff(Role.CASEWORKER)
    facilitator = make_staff(Role.FACILITATOR)
    far = make_staff(Role.COORDINATOR, organisation=make_org())
    with ctx():
        seen = {u.id: alerts.visible_alert(session, session.get(User, u.id), alert.id)
                is not None
                for u in (cw, new_cw, coordinator, other_cw, facilitator, far, person)}
    assert seen == {cw.id: True, new_cw.id: True, coordinator.id: True, other_cw.id: False,
                    facilitator.id: False, far.id: False, person.id: False}
    with ctx():
        assert alerts.visible_alert(session, coordinator, 999_999) is None


def test_inboxes_hold_only_ones_own_open_alerts(app, ctx, session, people, make_staff,
                                               make_org, make_returnee):
    cw, coordinator, person = people
    other_cw = make_staff(Role.CASEWORKER)
    theirs, _ = make_returnee(caseworker=other_cw, name="Other Person")
    far_org = make_org()
    far_coordinator = make_staff(Role.COORDINATOR, organisation=far_org)
    far_person, _ = make_returnee(organisation=far_org, name="Far Person")
    mine = emit(ctx, session, person, "checkin.unsafe")
    closed = emit(ctx, session, person, "checkin.no_medicine")
    other = emit(ctx, session, theirs, "checkin.unsafe")
    far = emit(ctx, session, far_person, "checkin.unsafe")
    with ctx():
        alerts.resolve(session, closed, cw, "Done")
        session.commit()

        def inbox(user):
            return {a.id for a in alerts.inbox(session, session.get(User, user.id))[0]}

        assert inbox(cw) == {mine.id}
        assert inbox(other_cw) == {other.id}
        assert inbox(coordinator) == {mine.id, other.id}
        assert inbox(far_coordinator) == {far.id}
        count, late = alerts.header(session, session.get(User, coordinator.id),
                                    timedelta(minutes=3))
        assert (count, late) == (2, False)
        alerts.acknowledge(session, mine, cw)
        session.commit()
        assert alerts.header(session, session.get(User, cw.id), timedelta(minutes=3)) == (0, False)
        assert alerts.header(session, session.get(User, coordinator.id),
                             timedelta(minutes=3)) == (1, False)


def test_within_a_severity_the_unacknowledged_come_first_then_the_oldest(
        ctx, session, people, make_returnee):
    cw, _coordinator, _person = people
    made = {}
    for name in ("First", "Second", "Third"):
        made[name] = emit(ctx, session, make_returnee(caseworker=cw, name=name)[0],
                          "checkin.unsafe")
    with ctx():
        alerts.acknowledge(session, made["First"], cw)
        session.commit()
        order = [a.id for a in alerts.inbox(session, session.get(User, cw.id))[0]]
    assert order == [made["Second"].id, made["Third"].id, made["First"].id]


def test_a_routed_signal_never_makes_the_worker_look_late(ctx, session, people):
    """Routed with its cause, acknowledged: an hour later nothing is late."""
    cw, _coordinator, person = people
    alert = emit(ctx, session, person, "checkin.unsafe")
    with ctx():
        alerts.acknowledge(session, alert, cw)
        session.commit()
        later = utcnow() + HOUR
        assert alerts.header(session, session.get(User, cw.id), timedelta(minutes=3),
                             now=later) == (0, False)
        # The sweep finds nothing left to route.
        assert alerts.route_pending(session, later) == []
    assert session.scalars(select(Alert)).all() == [alert]


def test_a_late_alert_of_another_organisation_is_not_shown(ctx, session, people, make_org,
                                                          make_staff):
    _cw, coordinator, person = people
    emit(ctx, session, person, "checkin.unsafe")  # due in 24 hours, not escalated
    far = make_staff(Role.COORDINATOR, organisation=make_org())
    with ctx():
        later = utcnow() + 2 * 24 * HOUR
        assert alerts.header(session, session.get(User, coordinator.id), timedelta(minutes=3),
                             now=later) == (1, True)
        assert alerts.header(session, session.get(User, far.id), timedelta(minutes=3),
                             now=later) == (0, False)


def test_the_alert_page_shows_the_caseworker_what_happened(app, ctx, session, people):
    cw, _coordinator, person = people
    alert = emit(ctx, session, person, "concern.safety_now")
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    page = staff.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "Safety: needs help now" in page and "Secret Name" in page


def test_the_sweep_routes_a_signal_left_over_while_other_alerts_exist(ctx, session, people):
    """A signal whose routing failed is routed by the worker's sweep, also
    when the person has other alerts already."""
    from webapp.alerts.models import Signal

    cw, _coordinator, person = people
    emit(ctx, session, person, "checkin.unsafe")
    left = Signal(organisation_id=person.organisation_id, returnee_id=person.id,
                  kind="concern.safety_now", created_at=utcnow() - timedelta(minutes=5))
    session.add(left)
    session.commit()
    with ctx():
        alerts.route_pending(session)
        session.commit()
    alert = session.scalars(select(Alert).where(Alert.signal_id == left.id)).one()
    assert (alert.severity, ladder(session, alert)) == ("urgent", [(cw.id, "assigned")])
    session.refresh(left)
    assert left.routed_at is not None
    with ctx():  # routed once
        assert alerts.route_pending(session) == []
    assert len(session.scalars(select(Alert)).all()) == 2


def test_the_late_warning_is_about_this_organisations_work_left_undone(
        ctx, session, people, make_org, make_staff, make_returnee):
    """Staff are warned when the worker is late with their organisation's
    alerts: a signal not routed a few minutes after it came, or an overdue
    alert nobody acknowledged, closed or escalated. Not for anything else."""
    from webapp.alerts.models import Signal

    cw, coordinator, person = people
    far_org = make_org()
    far = make_staff(Role.COORDINATOR, organisation=far_org)
    late_after = timedelta(minutes=3)

    def late(user, now=None):
        with ctx():
            return alerts.header(session, session.get(User, user.id), late_after, now=now)[1]

    def unrouted(who, age):
        signal = Signal(organisation_id=who.organisation_id, returnee_id=who.id,
                        kind="checkin.unsafe", created_at=utcnow() - age)
        session.add(signal)
        session.commit()
        return signal

    fresh = unrouted(person, timedelta(seconds=30))
    assert not late(coordinator) and not late(far)
    session.delete(fresh)
    old = unrouted(person, timedelta(minutes=10))
    assert late(coordinator) and late(cw) and not late(far)
    session.delete(old)
    session.commit()
    far_person, _ = make_returnee(organisation=far_org, name="Far")
    gone = unrouted(far_person, timedelta(minutes=10))
    assert late(far) and not late(coordinator)
    session.delete(gone)
    session.commit()

    # Overdue alerts: acknowledged or closed ones are not late, open ones are.
    acked = emit(ctx, session, person, "checkin.unsafe")
    closed = emit(ctx, session, person, "checkin.no_medicine")
    with ctx():
        alerts.acknowledge(session, acked, cw)
        alerts.resolve(session, closed, cw, "Done")
        session.commit()
    two_days = utcnow() + 2 * 24 * HOUR
    assert not late(coordinator, now=two_days)
    emit(ctx, session, person, "checkin.low_mood")
    assert late(coordinator, now=two_days)
    assert not late(coordinator, now=utcnow() + 24 * HOUR - timedelta(minutes=1))


def test_the_sweep_reaches_new_signals_behind_routed_ones(ctx, session, people):
    """However many signals were routed already, the sweep's batch is made of
    the ones still waiting."""
    from webapp.alerts.models import Signal

    _cw, _coordinator, person = people
    for kind in ("checkin.unsafe", "checkin.no_medicine", "checkin.low_mood"):
        emit(ctx, session, person, kind)
    left = Signal(organisation_id=person.organisation_id, returnee_id=person.id,
                  kind="support.new", created_at=utcnow())
    session.add(left)
    session.commit()
    with ctx():
        alerts.route_pending(session, limit=2)
        session.commit()
    assert session.scalars(select(Alert.kind).where(Alert.signal_id == left.id)).all() == [
        "support.new"]


def test_being_told_about_one_alert_opens_no_other(ctx, session, people, make_staff,
                                                   make_returnee):
    cw, _coordinator, person = people
    other_cw = make_staff(Role.CASEWORKER)
    theirs, _ = make_returnee(caseworker=other_cw, name="Theirs")
    their_alert = emit(ctx, session, theirs, "checkin.unsafe")
    mine = emit(ctx, session, person, "checkin.unsafe")
    with ctx():
        assert alerts.visible_alert(session, other_cw, their_alert.id) is not None
        assert alerts.visible_alert(session, other_cw, mine.id) is None
        assert alerts.visible_alert(session, cw, their_alert.id) is None


@pytest.mark.parametrize("kind,source_type,cause,label", [
    ("concern.serious", "support_case", "/help/cases/{source}", "Serious"),
    ("followup.overdue", "followup", "/caseload/{person}/followups", "Normal"),
    ("account.deletion_requested", "account", "/people/{person}", "Normal"),
    ("concern.safety_now", "concern", "/caseload/{person}", "Urgent"),
    ("checkin.low_mood", "checkin", "/caseload/{person}", "Serious"),
])
def test_the_alert_page_says_how_urgent_and_opens_the_cause(app, ctx, session, people, kind,
                                                           source_type, cause, label):
    from webapp.support import service as support

    cw, _coordinator, person = people
    source = 41
    if source_type == "support_case":
        with ctx():
            source = support.create_concern(session, person, kind="medicine", sub_type="ran_out",
                                            urgency="soon").id
            session.commit()
    with ctx():
        signal = signals.emit(session, returnee=person, kind=kind, source_type=source_type,
                              source_id=source)
        session.commit()
    alert = session.scalars(select(Alert).where(Alert.signal_id == signal.id)).one()
    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    page = staff.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert f"<dd>{label}</dd>" in page
    link = cause.format(source=source, person=person.id)
    opens = re.search(r'href="([^"]+)">(?:(?!</a>).)*Open what caused it', page, re.S)
    assert opens and opens.group(1) == link
    assert staff.get(link).status_code == 200
    inbox = staff.get("/alerts/").get_data(as_text=True)
    assert f"{label} · " in inbox
