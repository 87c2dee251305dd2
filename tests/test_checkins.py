"""Check-ins (issue #4): the form, exactly-once submission, signals, history,
and the no-contact job with frozen time."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp.alerts.models import Signal
from webapp.auth.models import ActivationCode
from webapp.checkins import service
from webapp.checkins.models import QUESTIONS, CheckIn, NoContactGap
from webapp.groups.models import GroupMember, PeerGroup
from webapp.models import Role
from webapp.queue import huey
from webapp.submissions import ClientSubmission
from webapp.tasks import signal_no_contact

from .conftest import Web, activate_returnee, before_revision


def count(session, model, *where) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model).where(*where))


def checkin(web, *, expect: int = 302, **data):
    """Post the check-in form; asserts the answer was `expect` (a stored
    check-in by default: sent on to the history), so a refused check-in never
    passes a test silently."""
    body = {"mood": "3", "visibility": "caseworker", "client_uuid": str(uuid.uuid4())}
    body.update(data)
    r = web.post("/checkin/", {k: v for k, v in body.items() if v is not None})
    assert r.status_code == expect, (r.status_code, r.get_data(as_text=True)[:500])
    if expect == 302:
        assert r.headers["Location"].endswith("/checkin/history"), r.headers["Location"]
    return r


def kinds(session, user) -> list[str]:
    session.expire_all()
    return sorted(session.scalars(select(Signal.kind).where(Signal.returnee_id == user.id)))


def test_mood_and_who_sees_it_are_enough(web, session, returnee_web):
    me = returnee_web()
    page = web.get("/checkin/").get_data(as_text=True)
    # Five faces, each with a word; nothing chosen for the person.
    for word in ["Very bad", "Bad", "Okay", "Good", "Very good"]:
        assert f"<span>{word}</span>" in page
    assert "checked" not in page
    assert 'name="client_uuid"' in page
    r = checkin(web, mood="4")
    assert r.status_code == 302 and r.headers["Location"].endswith("/checkin/history")
    row = session.scalars(select(CheckIn).where(CheckIn.user_id == me.id)).one()
    assert (row.mood, row.income, row.share_with_group, row.note) == (4, None, False, "")
    # Its organisation is the person's (no foreign key: copied from their row).
    assert row.organisation_id == me.organisation_id is not None
    history = web.get("/checkin/history").get_data(as_text=True)
    assert "Thank you. Your check-in is sent." in history
    assert "<svg" in history and "<table" in history and "Good" in history
    assert kinds(session, me) == []


def test_answers_raise_signals_in_the_same_transaction(web, session, returnee_web):
    me = returnee_web()
    r = checkin(web, mood="2", income="partly", shelter="yes", medicine="no", safe="no",
                someone="yes", note="  The landlord shouted at me.  ")
    assert r.status_code == 302
    row = session.scalars(select(CheckIn).where(CheckIn.user_id == me.id)).one()
    assert (row.medicine, row.safe, row.note) == ("no", "no", "The landlord shouted at me.")
    assert kinds(session, me) == ["checkin.no_medicine", "checkin.unsafe"]
    signal = session.scalars(select(Signal).where(Signal.kind == "checkin.unsafe")).one()
    assert (signal.source_type, signal.source_id) == ("checkin", row.id)
    # "partly" safe is not "unsafe"; a second low mood in a row is a signal.
    checkin(web, mood="1", safe="partly", medicine="partly")
    assert kinds(session, me) == ["checkin.low_mood", "checkin.no_medicine", "checkin.unsafe"]


def test_one_low_mood_is_not_a_signal(web, session, returnee_web):
    me = returnee_web()
    checkin(web, mood="2")
    checkin(web, mood="4")
    checkin(web, mood="1")
    assert kinds(session, me) == []


def test_a_repeat_stores_nothing_new_and_a_changed_body_is_refused(web, session, returnee_web):
    me = returnee_web()
    key = str(uuid.uuid4())
    first = checkin(web, mood="1", safe="no", client_uuid=key)
    again = checkin(web, mood="1", safe="no", client_uuid=key)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"] == first.headers["Location"]
    assert count(session, CheckIn, CheckIn.user_id == me.id) == 1
    assert kinds(session, me) == ["checkin.unsafe"]
    changed = checkin(web, mood="5", client_uuid=key, expect=409)
    assert changed.status_code == 409
    page = changed.get_data(as_text=True)
    assert "already sent with different content" in page
    assert key not in page  # a fresh UUID to start again with
    assert count(session, CheckIn, CheckIn.user_id == me.id) == 1


def test_a_check_in_claimed_before_check_ins_kept_their_uuid_is_not_stored_again(
        web, session, returnee_web):
    """Before this version a check-in's UUID was claimed in client_submissions
    (the digest of the form's body). A phone that replays such a check-in
    after the upgrade (its answer was lost) must not store it twice; a
    different body with that UUID, or a UUID another form claimed, is refused."""
    from webapp.submissions import body_digest

    me = returnee_web()
    old, other = str(uuid.uuid4()), str(uuid.uuid4())
    sent = {"mood": 3, "answers": {q: None for q in QUESTIONS} | {"safe": "yes"},
            "note": "Before the upgrade", "visibility": "caseworker"}  # the old form.body()
    session.add_all([
        ClientSubmission(user_id=me.id, client_uuid=old, kind="checkin",
                         body_digest=body_digest("checkin", sent), result_url="/checkin/history"),
        ClientSubmission(user_id=me.id, client_uuid=other, kind="concern",
                         body_digest=body_digest("concern", {}), result_url="/help/")])
    session.commit()

    checkin(web, mood="3", safe="yes", note="Before the upgrade", client_uuid=old)
    assert count(session, CheckIn, CheckIn.user_id == me.id) == 0
    checkin(web, mood="4", safe="yes", note="Before the upgrade", client_uuid=old, expect=409)
    checkin(web, mood="3", client_uuid=other, expect=409)
    assert count(session, CheckIn, CheckIn.user_id == me.id) == 0
    checkin(web, mood="3", safe="yes", note="Before the upgrade")  # a new UUID: stored
    assert count(session, CheckIn, CheckIn.user_id == me.id) == 1


def test_one_uuid_from_two_people_stores_a_check_in_for_each(session, ctx, make_returnee):
    """A UUID is unique per person, not across people (a copied page, a bad
    random source): each stores their own check-in, and each repeat finds
    their own."""
    a, _ = make_returnee(name="A")
    b, _ = make_returnee(name="B")
    key = str(uuid.uuid4())
    with ctx():
        first = [service.record_checkin(session, who, mood=mood, answers={}, note="",
                                        share_with_group=False, client_uuid=key)
                 for who, mood in ((a, 2), (b, 4))]
        again = [service.record_checkin(session, who, mood=mood, answers={}, note="",
                                        share_with_group=False, client_uuid=key)
                 for who, mood in ((b, 4), (a, 2))]
    assert [s.repeat for s in first] == [False, False] and first[0].id != first[1].id
    assert again == [(first[1].id, True), (first[0].id, True)]
    assert session.execute(select(CheckIn.user_id, CheckIn.mood).order_by(CheckIn.id)).all() == [
        (a.id, 2), (b.id, 4)]


def test_a_shared_check_in_replayed_after_the_consent_is_withdrawn_is_the_same_one(
        app, session, make_returnee):
    """Withdrawing the consent unshares the check-ins shared before. The phone
    then replays one whose answer it lost: the same check-in, answered as the
    first (not "already sent with different content"), stored once, not shared."""
    from webapp.privacy import service as privacy

    me, code = make_returnee()
    phone = Web(app.test_client())
    activate_returnee(phone, code, share_with_group=True)
    key = str(uuid.uuid4())
    checkin(phone, visibility="group", note="Good week", client_uuid=key)
    with app.test_request_context():
        privacy.change_consent(session, session.get(type(me), me.id),
                               {"share_with_group": False}, "en")
    session.commit()
    checkin(phone, visibility="group", note="Good week", client_uuid=key)
    assert session.execute(select(CheckIn.note, CheckIn.share_with_group)).all() == [
        ("Good week", False)]
    checkin(phone, visibility="group", note="Another week", client_uuid=key, expect=409)


@pytest.mark.parametrize("data,message", [
    ({"mood": "0"}, "Please choose one of the five faces."),
    ({"mood": "6"}, "Please choose one from the list."),
    ({"mood": "happy"}, "Please choose one of the five faces."),
    ({"mood": None}, "Please choose one of the five faces."),
    ({"safe": "maybe"}, "Please choose one from the list."),
    ({"note": "x" * 501}, "Please use at most 500 characters."),
    ({"visibility": None}, "Please choose who may see this."),
    ({"visibility": "everyone"}, "Please choose one from the list."),
    # Without consent at activation, sharing with the group is refused.
    ({"visibility": "group"}, "You chose not to share check-ins with your group."),
    ({"client_uuid": "not-a-uuid"}, "This form is damaged."),
])
def test_bad_input_is_refused_and_changes_nothing(web, session, returnee_web, data, message):
    me = returnee_web()
    r = checkin(web, expect=400, **data)
    assert message in r.get_data(as_text=True)
    assert count(session, CheckIn) == 0
    assert count(session, Signal) == 0
    assert count(session, ClientSubmission, ClientSubmission.user_id == me.id) == 0


def test_bad_input_message_is_translated(web, returnee_web):
    returnee_web()
    web.post("/language", {"lang": "nl"}, form_page="/language")
    r = checkin(web, mood="9", expect=400)
    assert "Please choose one from the list." not in r.get_data(as_text=True)


def test_sharing_with_the_group_needs_consent(app, session, make_returnee):
    me, code = make_returnee()
    phone = Web(app.test_client())
    activate_returnee(phone, code, share_with_group=True)
    assert "My caseworker and my group" in phone.get("/checkin/").get_data(as_text=True)
    assert checkin(phone, visibility="group", note="Good week").status_code == 302
    assert session.scalars(select(CheckIn.share_with_group)).one() is True


@pytest.mark.parametrize("role", [Role.FACILITATOR, Role.CASEWORKER, Role.COORDINATOR])
def test_staff_do_not_check_in(web, staff_web, role):
    staff_web(role)
    assert web.get("/checkin/").status_code == 404
    assert web.get("/checkin/history").status_code == 404


def test_anonymous_is_sent_to_sign_in(client):
    r = client.get("/checkin/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")


def test_history_shows_only_my_own_and_stays_cheap(app, web, session, returnee_web,
                                                   make_returnee, count_queries):
    me = returnee_web()
    other, code = make_returnee(name="Other")
    other_phone = Web(app.test_client())
    activate_returnee(other_phone, code)
    checkin(other_phone, mood="1", note="other person's words")
    checkin(web, mood="5")
    with count_queries() as few:
        page = web.get("/checkin/history").get_data(as_text=True)
    assert "Very good" in page and "Very bad" not in page
    for mood in [1, 2, 3, 4, 5] * 3:
        session.add(CheckIn(organisation_id=me.organisation_id, user_id=me.id, mood=mood))
    session.commit()
    with count_queries() as many:
        page = web.get("/checkin/history").get_data(as_text=True)
    assert many() == few()
    assert page.count("<circle class=\"mood-") == 12  # the line shows the last twelve
    assert page.count("<tr>") == 17  # the table all sixteen, plus its header


def test_home_tile_leads_to_the_check_in(web, returnee_web):
    returnee_web()
    page = web.get("/home").get_data(as_text=True)
    assert 'href="/checkin/"' in page and 'href="/checkin/history"' in page


# --- No contact -----------------------------------------------------------------

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _activated_at(session, user, when):
    code = session.scalars(select(ActivationCode).where(ActivationCode.user_id == user.id)).one()
    code.used_at = when
    user.pin_hash = "x"
    session.commit()


def test_many_silent_people_are_signalled_in_batches_each_once(app, session, make_returnee,
                                                                monkeypatch):
    from webapp import tasks

    people = [make_returnee(name=f"Quiet {n}")[0] for n in range(5)]
    for person in people:
        _activated_at(session, person, T0)
    monkeypatch.setattr(tasks, "BATCH", 2)
    batches = []
    in_transaction = tasks.in_transaction

    def counted(work, app=None):
        batches.append(in_transaction(work, app))
        return batches[-1]

    monkeypatch.setattr(tasks, "in_transaction", counted)
    assert signal_no_contact(app, now=T0 + timedelta(days=14)) == 5
    assert batches == [2, 2, 1]  # three transactions, the last one not full
    assert all(kinds(session, person) == ["checkin.no_contact"] for person in people)
    assert signal_no_contact(app, now=T0 + timedelta(days=15)) == 0


def test_no_contact_is_signalled_once_per_gap(app, session, make_returnee):
    quiet, _ = make_returnee(name="Quiet")
    _activated_at(session, quiet, T0)
    never_active, _ = make_returnee(name="Not activated")

    assert signal_no_contact(app, now=T0 + timedelta(days=13, hours=23)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=14)) == 1
    # The same gap is not signalled again, however long it lasts.
    assert signal_no_contact(app, now=T0 + timedelta(days=40)) == 0
    assert kinds(session, quiet) == ["checkin.no_contact"]
    assert kinds(session, never_active) == []

    # A check-in ends the gap; two more missed weeks are a new gap.
    session.add(CheckIn(organisation_id=quiet.organisation_id, user_id=quiet.id, mood=3,
                        created_at=T0 + timedelta(days=41)))
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=54)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=55)) == 1
    assert kinds(session, quiet) == ["checkin.no_contact", "checkin.no_contact"]
    assert count(session, NoContactGap, NoContactGap.user_id == quiet.id) == 2


def test_no_contact_uses_the_group_period(app, session, make_returnee):
    member, _ = make_returnee(name="Monthly")
    _activated_at(session, member, T0)
    group = PeerGroup(organisation_id=member.organisation_id, name="G", language="en",
                      checkin_period_days=30)
    session.add(group)
    session.flush()
    session.add(GroupMember(organisation_id=member.organisation_id, group_id=group.id,
                            user_id=member.id))
    session.commit()
    assert signal_no_contact(app, now=T0 + timedelta(days=59)) == 0
    assert signal_no_contact(app, now=T0 + timedelta(days=60)) == 1


def test_no_contact_task_is_scheduled():
    assert "no_contact" in {t.name.split(".")[-1] for t in huey._registry.periodic_tasks}


def test_the_summary_keeps_the_last_checkin_per_person(session, ctx, returnee_web):
    from webapp.checkins.models import CheckIn, CheckInSummary

    person = returnee_web()
    with ctx():
        for mood in (3, 4):
            service.record_checkin(session, session.get(type(person), person.id), mood=mood,
                                   answers={}, note="", share_with_group=False)
        session.commit()
    summary = session.get(CheckInSummary, person.id)
    last = session.scalars(select(CheckIn).where(CheckIn.user_id == person.id)
                           .order_by(CheckIn.id.desc())).first()
    assert summary.count == 2 and summary.last_at == last.created_at


def test_the_database_keeps_the_summary_whoever_inserts_and_the_later_time_wins(
        session, ctx, returnee_web):
    """The summary is the database's trigger: a check-in inserted by SQL
    (a restore, a script) counts as one through the app; one stored out of
    order (an older one from a phone's queue) does not move the last back."""
    from sqlalchemy import bindparam, text

    from webapp.checkins.models import CheckInSummary
    from webapp.models import UTCDateTime

    person = returnee_web()
    with ctx():
        service.record_checkin(session, session.get(type(person), person.id), mood=3,
                               answers={}, note="", share_with_group=False)
    last = session.get(CheckInSummary, person.id).last_at
    for days in (40, 0):
        session.execute(text(
            "INSERT INTO checkins (organisation_id, user_id, mood, note, share_with_group, "
            "created_at) VALUES (:org, :user, 4, '', false, :at)").bindparams(
                bindparam("at", type_=UTCDateTime)),
            {"org": person.organisation_id, "user": person.id,
             "at": last - timedelta(days=days) + timedelta(seconds=1 if not days else 0)})
        summary = session.get(CheckInSummary, person.id, populate_existing=True)
        assert summary.count == (2 if days else 3)
        assert summary.last_at == (last if days else last + timedelta(seconds=1))


def test_summary_migration_fills_from_existing_checkins(app, tmp_path):
    """The revision that adds the summaries fills them from the check-ins."""
    from sqlalchemy import text

    with before_revision(app, tmp_path, "03331bcddd6f") as (engine, upgrade):
        with engine.begin() as conn:
            for day in ("2026-02-01", "2026-03-05"):
                conn.execute(text("INSERT INTO checkins (organisation_id, user_id, mood, note, "
                                  "share_with_group, created_at) VALUES (1, 1, 3, '', 0, :d)"),
                             {"d": day})
        upgrade()
        with engine.connect() as conn:
            row = conn.execute(text("SELECT count, last_at FROM checkin_summaries")).one()
    assert row[0] == 2 and str(row[1]).startswith("2026-03-05")
