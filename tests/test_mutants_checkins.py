"""Check-ins (webapp/checkins/service.py), pinned where a mutation test found
them loose (issue #25, docs/mutation.md): which check-ins raise a signal,
whose sharing stops, and who is signalled for no contact, and when."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from webapp.alerts.models import Signal
from webapp.checkins import service
from webapp.checkins.models import CheckIn
from webapp.errors import DomainError
from webapp.groups.models import GroupMember, PeerGroup
from webapp.models import Role, User, utcnow
from webapp.tasks import signal_no_contact

from .conftest import Web, activate_returnee
from .test_checkins import T0, _activated_at, checkin, kinds


@pytest.mark.parametrize("moods,raised", [
    ((2, 2), True),    # "Bad" twice in a row is low mood
    ((1, 2), True),
    ((2, 3), False),   # "Okay" is not low
    ((3, 2), False),
    ((3, 3), False),
])
def test_low_mood_is_two_check_ins_of_bad_or_worse_in_a_row(web, session, returnee_web, moods,
                                                             raised):
    me = returnee_web()
    for mood in moods:
        checkin(web, mood=str(mood))
    assert kinds(session, me) == (["checkin.low_mood"] if raised else [])


def test_a_note_of_exactly_the_limit_is_kept(web, session, returnee_web):
    me = returnee_web()
    checkin(web, note="x" * service.NOTE_MAX)
    assert len(session.scalars(select(CheckIn.note).where(CheckIn.user_id == me.id)).one()) == 500


def test_the_service_refuses_what_the_form_would_never_send(session, ctx, make_returnee,
                                                            make_staff):
    """A check-in from anywhere but the form (a replayed or forged post, a
    script) is checked again by the service itself."""
    person, _ = make_returnee()
    staff = make_staff(Role.CASEWORKER)
    good = {"mood": 3, "answers": {}, "note": "", "share_with_group": False}
    with ctx():
        for who, changes in [(person, {"answers": {"safe": "maybe"}}),
                             (person, {"mood": 0}), (person, {"mood": 6}),
                             (person, {"note": "x" * 501}),
                             (staff, {})]:
            with pytest.raises(DomainError):
                service.record_checkin(session, who, **{**good, **changes})
        # Each question may be left out or answered with one of the three answers.
        for answer in (None, "yes", "partly", "no"):
            service.record_checkin(session, person, **{**good, "answers": {"safe": answer}})
    assert len(session.scalars(select(CheckIn).where(CheckIn.user_id == person.id)).all()) == 4


def test_stopping_sharing_takes_back_only_my_own_check_ins(app, session, make_returnee, ctx):
    """When I stop sharing with my group, my friend's shared check-ins stay
    shared: only mine are taken back."""
    people = []
    for name in ("Me", "Friend"):
        user, code = make_returnee(name=name)
        phone = Web(app.test_client())
        activate_returnee(phone, code, share_with_group=True)
        checkin(phone, visibility="group", note=f"{name}'s week")
        people.append(user)
    me, friend = people
    with ctx():
        service.stop_sharing(session, session.get(User, me.id))
    session.commit()
    session.expire_all()
    shared = dict(session.execute(select(CheckIn.user_id, CheckIn.share_with_group)).all())
    assert shared == {me.id: False, friend.id: True}


# --- No contact -----------------------------------------------------------------------

def test_a_disabled_account_is_never_signalled_for_no_contact(app, session, make_returnee):
    quiet, _ = make_returnee(name="Disabled")
    _activated_at(session, quiet, T0)
    quiet.disabled_at = T0 + timedelta(days=1)
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=30)) == 0
    assert kinds(session, quiet) == []


def test_staff_are_never_signalled_for_no_contact(app, session, make_staff, make_returnee, ctx):
    """Staff activate their accounts with a code too, and never check in."""
    from webapp.auth import service as auth_service
    from webapp.auth.models import ActivationCode

    staff = make_staff(Role.CASEWORKER)
    with ctx():
        auth_service.issue_activation_code(session, staff, issued_by=None)
    session.commit()
    code = session.scalars(select(ActivationCode).where(ActivationCode.user_id == staff.id)).one()
    code.used_at = T0
    staff.pin_hash = "x"
    session.commit()
    person, _ = make_returnee(name="Quiet")
    _activated_at(session, person, T0)
    assert signal_no_contact(app, now=T0 + timedelta(days=30)) == 1
    assert session.scalars(select(Signal.returnee_id)).all() == [person.id]


def test_no_contact_uses_the_shortest_period_of_the_persons_groups(app, session, make_returnee):
    member, _ = make_returnee(name="In two groups")
    _activated_at(session, member, T0)
    for days in (30, 7):
        group = PeerGroup(organisation_id=member.organisation_id, name=f"Every {days} days",
                          language="en", checkin_period_days=days)
        session.add(group)
        session.flush()
        session.add(GroupMember(organisation_id=member.organisation_id, group_id=group.id,
                                user_id=member.id))
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=13)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=14)) == 1


def test_silence_counts_from_a_new_activation_after_the_last_check_in(app, session,
                                                                     make_returnee):
    """A person who got a new code (a lost phone) and activated again is
    silent from that activation, not from their last check-in before it."""
    person, _ = make_returnee(name="New phone")
    session.add(CheckIn(organisation_id=person.organisation_id, user_id=person.id, mood=3,
                        created_at=T0))
    session.commit()
    _activated_at(session, person, T0 + timedelta(days=10))
    assert signal_no_contact(app, now=T0 + timedelta(days=20)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=24)) == 1


def test_check_ins_end_the_silence(app, session, make_returnee):
    """Checked in a week ago: not silent, however long ago the activation."""
    person, _ = make_returnee(name="Regular")
    _activated_at(session, person, T0)
    session.add(CheckIn(organisation_id=person.organisation_id, user_id=person.id, mood=3,
                        created_at=T0 + timedelta(days=30)))
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=37)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=44)) == 1


def test_the_history_is_my_own_newest_first(web, session, returnee_web, ctx):
    me = returnee_web()
    for mood in (1, 5, 3):
        checkin(web, mood=str(mood))
    with ctx():
        moods = [c.mood for c in service.history(session, session.get(User, me.id))]
        last = service.last_checkin(session, session.get(User, me.id))
    assert moods == [3, 5, 1] and last.mood == 3
    assert utcnow() - last.created_at < timedelta(minutes=5)


def test_a_second_gap_is_signalled_once_too(app, session, make_returnee):
    """After a check-in ends the first gap and a second one is signalled, the
    job does not signal that second gap again."""
    person, _ = make_returnee(name="Twice quiet")
    _activated_at(session, person, T0)
    assert signal_no_contact(app, now=T0 + timedelta(days=14)) == 1
    session.add(CheckIn(organisation_id=person.organisation_id, user_id=person.id, mood=3,
                        created_at=T0 + timedelta(days=20)))
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=34)) == 1
    assert signal_no_contact(app, now=T0 + timedelta(days=35)) == 0
    assert kinds(session, person) == ["checkin.no_contact", "checkin.no_contact"]


def test_a_second_activation_code_moves_the_start_of_the_silence(app, session, make_returnee,
                                                                  ctx):
    """The latest activation counts when a person activated twice."""
    from webapp.auth import service as auth_service
    from webapp.auth.models import ActivationCode

    person, _ = make_returnee(name="Two codes")
    _activated_at(session, person, T0)
    with ctx():
        auth_service.issue_activation_code(session, person, issued_by=None)
    session.commit()
    second = session.scalars(select(ActivationCode).where(
        ActivationCode.user_id == person.id, ActivationCode.used_at.is_(None))).one()
    second.used_at = T0 + timedelta(days=10)
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=20)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=24)) == 1


def test_the_history_holds_the_latest_thirty(session, ctx, returnee_web):
    me = returnee_web()
    for n in range(32):
        session.add(CheckIn(organisation_id=me.organisation_id, user_id=me.id, mood=1 + n % 5,
                            created_at=T0 + timedelta(days=n)))
    session.commit()
    with ctx():
        shown = service.history(session, session.get(User, me.id))
    assert [c.created_at for c in shown] == [T0 + timedelta(days=n) for n in range(31, 1, -1)]


def test_the_mood_line_is_drawn_oldest_left_best_at_the_top():
    class Seen:
        def __init__(self, mood):
            self.mood = mood

    chart = service.mood_chart([Seen(3), Seen(1), Seen(5)])  # newest first
    assert (chart.width, chart.height) == (300, 110)
    assert chart.points == [(12, 12, 5), (150, 98, 1), (288, 55, 3)]
    assert chart.polyline == "12,12 150,98 288,55"
    assert service.mood_chart([Seen(4)]).points == [(12, 34, 4)]
    assert service.mood_chart([Seen(2), Seen(4)]).points == [(12, 34, 4), (288, 76, 2)]
    many = service.mood_chart([Seen(1 + n % 5) for n in range(20)], width=240, height=90)
    assert len(many.points) == 12 and many.points[-1] == (228, 78, 1)
    assert many.points[:3] == [(12, 62, 2), (32, 78, 1), (51, 12, 5)]


def test_someone_elses_low_mood_does_not_count_as_my_last_check_in(app, web, session,
                                                                   returnee_web, make_returnee):
    me = returnee_web()
    other, code = make_returnee(name="Other")
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    checkin(phone, mood="1")
    checkin(web, mood="1")
    assert kinds(session, me) == [] and kinds(session, other) == []
