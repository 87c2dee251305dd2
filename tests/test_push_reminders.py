"""Pushes to returnees: a reply from the caseworker, a check-in that is due, a
meeting tomorrow — each once, with nothing personal in it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp import tasks
from webapp.auth.models import ActivationCode
from webapp.checkins.reminders import checkin_due
from webapp.groups.reminders import meeting_tomorrow
from webapp.models import Role, utcnow
from webapp.push.models import PushDelivery

from .conftest import record_consent
from .test_alerts import subscribe


@pytest.fixture()
def activated(session, make_returnee, make_staff):
    """A returnee who activated 8 days ago, said yes to reminders, and has a
    caseworker."""
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw, name="Private Person")
    code = session.scalars(select(ActivationCode).where(ActivationCode.user_id == person.id)).one()
    code.used_at = utcnow() - timedelta(days=8)
    record_consent(session, person, push_reminders=True)
    return person, cw


def test_a_caseworkers_reply_reaches_the_returnee_but_an_internal_note_does_not(
        ctx, session, activated, receiver, vapid):
    from webapp.support import service as support

    person, cw = activated
    subscribe(ctx, session, receiver, person, "returnee-phone")
    with ctx():
        case = support.create_request(session, person, category="housing", contact_way="app")
        session.commit()
        support.add_message(session, case, cw, "Internal: call the landlord", internal=True)
        session.commit()
        from webapp import outbox

        outbox.run_after_commit()
    assert [d.message for d in session.scalars(select(PushDelivery))] == []
    with ctx():
        support.add_message(session, case, cw, "We found a room for you in Kissy")
        session.commit()
        from webapp import outbox

        outbox.run_after_commit()
    (msg,) = receiver.wait_for(1)
    assert msg.payload["body"] == "You have a new message in Footing."
    assert msg.payload["url"] == f"/help/cases/{case.id}"
    assert "Kissy" not in str(msg.payload) and "room" not in str(msg.payload)


def test_checkin_due_is_sent_once_per_period(ctx, app, session, activated, receiver, vapid):
    person, _cw = activated
    subscribe(ctx, session, receiver, person, "phone")
    with ctx():
        first = tasks.send_reminders(app)
        second = tasks.send_reminders(app)
    assert first["checkin_due"] == [person.id] and second["checkin_due"] == []
    (msg,) = receiver.wait_for(1)
    assert msg.payload["url"] == "/checkin/"
    assert msg.payload["body"] == "It is time for your check-in."
    # After a check-in, the next reminder comes a period later, not before.
    from webapp.checkins import service as checkins

    with ctx():
        checkins.record_checkin(session, person, mood=4, answers={}, note="",
                                share_with_group=False)
        session.commit()
        assert tasks.send_reminders(app, utcnow() + timedelta(days=6))["checkin_due"] == []
        later = tasks.send_reminders(app, utcnow() + timedelta(days=7, hours=1))
    assert later["checkin_due"] == [person.id]


def test_nobody_without_a_device_is_reminded(ctx, app, session, activated):
    with ctx():
        assert tasks.send_reminders(app)["checkin_due"] == []
    assert session.scalars(select(PushDelivery)).all() == []


def test_meeting_tomorrow_reminds_members_once_unless_they_are_not_coming(
        ctx, app, session, activated, make_returnee, receiver, vapid):
    from webapp.groups.models import GroupMember, Meeting, MeetingResponse, PeerGroup

    person, _cw = activated
    other, _ = make_returnee(name="Not Coming")
    record_consent(session, other, push_reminders=True)
    group = PeerGroup(organisation_id=person.organisation_id, name="Wednesday group",
                      language="en")
    session.add(group)
    session.flush()
    session.add_all([GroupMember(organisation_id=group.organisation_id, group_id=group.id,
                                 user_id=u.id) for u in (person, other)])
    meeting = Meeting(organisation_id=group.organisation_id, group_id=group.id,
                      starts_at=utcnow() + timedelta(hours=20), place="Community hall")
    session.add(meeting)
    session.flush()
    session.add(MeetingResponse(organisation_id=group.organisation_id, meeting_id=meeting.id,
                                user_id=other.id, coming=False))
    session.commit()
    subscribe(ctx, session, receiver, person, "phone")
    subscribe(ctx, session, receiver, other, "other-phone")
    with ctx():
        first = meeting_tomorrow(session)
        session.commit()
        again = meeting_tomorrow(session)
    assert first == [(person.id, meeting.id)] and again == []
    queued = session.scalars(select(PushDelivery).where(
        PushDelivery.message == "meeting.tomorrow")).all()
    assert [(d.user_id, d.url) for d in queued] == [
        (person.id, f"/groups/{group.id}/meetings/{meeting.id}")]


def test_no_reminders_for_someone_who_said_no_to_them_but_replies_still_come(
        ctx, app, session, activated, receiver, vapid):
    """The consent's "reminders on this phone": a later "no" stops the check-in
    and meeting reminders; a reply in their own case is not a reminder."""
    from webapp.groups.models import GroupMember, Meeting, PeerGroup
    from webapp.support import service as support

    person, cw = activated
    record_consent(session, person, push_reminders=False)
    group = PeerGroup(organisation_id=person.organisation_id, name="Friday group", language="en")
    session.add(group)
    session.flush()
    session.add(GroupMember(organisation_id=group.organisation_id, group_id=group.id,
                            user_id=person.id))
    session.add(Meeting(organisation_id=group.organisation_id, group_id=group.id,
                        starts_at=utcnow() + timedelta(hours=20), place="Hall"))
    session.commit()
    subscribe(ctx, session, receiver, person, "phone")
    with ctx():
        assert tasks.send_reminders(app) == {"checkin_due": [], "meeting_tomorrow": []}
        case = support.create_request(session, person, category="housing", contact_way="app")
        support.add_message(session, case, cw, "We called the landlord")
        session.commit()
        from webapp import outbox

        outbox.run_after_commit()
    (msg,) = receiver.wait_for(1)
    assert msg.payload["url"] == f"/help/cases/{case.id}"
    assert [d.message for d in session.scalars(select(PushDelivery))] == ["reply"]
    # Saying yes again brings the reminders back.
    record_consent(session, person, push_reminders=True)
    with ctx():
        assert tasks.send_reminders(app)["checkin_due"] == [person.id]


def test_the_reminder_job_asks_the_database_as_often_for_many_returnees_as_for_two(
        ctx, session, make_returnee, make_staff, count_queries):
    """The check-in reminder runs over every returnee of every organisation:
    its statements must not grow with how many are due."""
    from webapp.push.models import PushSubscription

    cw = make_staff(Role.CASEWORKER)

    def due(n: int) -> list[int]:
        ids = []
        for i in range(n):
            person, _ = make_returnee(caseworker=cw, name=f"Due {i}")
            code = session.scalars(select(ActivationCode).where(
                ActivationCode.user_id == person.id)).one()
            code.used_at = utcnow() - timedelta(days=8)
            session.add_all(PushSubscription(user_id=person.id, p256dh="k", auth="a",
                                             endpoint=f"https://push.example.org/{person.id}/{d}")
                            for d in range(2))
            record_consent(session, person, push_reminders=True)
            ids.append(person.id)
        return ids

    statements = []
    for n in (2, 8):
        ids = due(n)
        with ctx(), count_queries() as queries:
            assert sorted(checkin_due(session)) == sorted(ids)
            statements.append(queries())
        queued = session.scalars(select(PushDelivery.user_id).where(
            PushDelivery.message == "checkin.due")).all()
        assert sorted(queued) == sorted(ids * 2)  # each of their two devices
        session.rollback()
        session.execute(PushDelivery.__table__.delete())
        session.execute(PushSubscription.__table__.delete())
        session.commit()
    assert statements[0] == statements[1], statements
