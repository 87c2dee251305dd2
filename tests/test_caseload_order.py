"""The caseload's kept order (issue #24, `CaseloadOrder`): read where it is
fresh, computed from the records where it is stale, and the caseload is the
same either way, for every viewer, filter and page, now and later. Every
write makes a person's place stale at once (database triggers), and time
alone makes it stale when a reason starts."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text, update

from webapp import tasks
from webapp.alerts.models import Alert, Signal
from webapp.checkins.models import CheckInSummary
from webapp.checkins.service import record_checkin
from webapp.models import Role, User, utcnow
from webapp.monitoring import service
from webapp.monitoring.models import STALE, CaseloadOrder, FollowUp
from webapp.people import service as people
from webapp.support import service as support
from webapp.support.models import Case

from .conftest import before_revision, bulk_returnees

SHOWS = [None, "urgent", "attention", "no_contact", "overdue"]


def pages(session, viewer, now, **kw):
    """Every page of a caseload, as `service.caseload` gives them."""
    page = 1
    while True:
        result = service.caseload(session, viewer, now=now, page=page, **kw)
        yield result
        if page >= result.pages:
            return
        page += 1


def seen(session, viewer, now, **kw) -> list:
    """Every page of a caseload as a person reads it: who, in which order,
    flagged for what, and the count."""
    return [(result.total, result.pages, [
        (r.returnee.display_name, r.attention, [(x.key, x.days) for x in r.reasons])
        for r in result.rows]) for result in pages(session, viewer, now, **kw)]


def computed(session, viewer, now, **kw) -> list:
    """`seen`, with every kept place thrown away first: the caseload from
    the records alone (what it was before the order was kept)."""
    with session.begin_nested() as nested:
        session.execute(update(CaseloadOrder).values(fresh_until=STALE))
        found = seen(session, viewer, now, **kw)
        nested.rollback()
    return found


def refresh(session, now) -> int:
    done = total = service.refresh_caseload_order(session, now)
    while done:
        done = service.refresh_caseload_order(session, now)
        total += done
    return total


def stale_count(session, now) -> int:
    return session.scalar(select(func.count()).select_from(CaseloadOrder)
                          .where(service._stale(now)))


@pytest.fixture()
def network(session, ctx, org, make_org, make_staff, make_returnee):
    """Two caseworkers' people with every reason there is, some with none,
    one unassigned, one disabled, one in another organisation."""
    cw, other_cw = make_staff(Role.CASEWORKER), make_staff(Role.CASEWORKER)
    coordinator = make_staff(Role.COORDINATOR)
    people_ = bulk_returnees(session, org, cw, 40) + bulk_returnees(session, org, other_cw, 20,
                                                                      start=40)
    now = utcnow()
    for n, person in enumerate(people_[::7]):
        signal = Signal(organisation_id=org.id, returnee_id=person.id, kind="concern.urgent")
        session.add(signal)
        session.flush()
        session.add(Alert(organisation_id=org.id, returnee_id=person.id, signal_id=signal.id,
                          kind="concern.urgent", severity="urgent", severity_rank=0,
                          created_at=now - timedelta(hours=n), ack_due_at=now))
    for person in people_[3::11]:
        person.created_at = now - timedelta(days=90)
        session.add(Case(organisation_id=org.id, returnee_id=person.id, type="request",
                         category="work", contact_way="app", priority=3, status="new",
                         created_at=now - timedelta(days=2)))
    unassigned = User(organisation_id=org.id, role="returnee", display_name="Nobody's",
                      locale="en", pin_hash="x")
    session.add(unassigned)
    gone, _ = make_returnee(caseworker=cw, name="Disabled")
    gone = session.get(User, gone.id)
    gone.disabled_at = now
    elsewhere, _ = make_returnee(organisation=make_org(), name="Elsewhere")
    session.commit()
    return {"caseworker": cw, "other": other_cw, "coordinator": coordinator,
            "people": people_}


def test_the_kept_order_reads_as_the_records_say_for_every_viewer_filter_and_page(
        session, network, monkeypatch):
    """The same caseload whether computed for everyone (more than
    STALE_AT_MOST places stale), for the stale places beside the kept ones,
    or read from the kept order alone."""
    cw, coordinator = network["caseworker"], network["coordinator"]
    viewers = [(cw, {}), (coordinator, {}), (coordinator, {"caseworker_id": network["other"].id})]
    now = utcnow()

    def every_caseload() -> dict:
        return {(v.id, tuple(kw), show): seen(session, v, now, show=show, **kw)
                for v, kw in viewers for show in SHOWS}

    with monkeypatch.context() as m:
        m.setattr(service, "STALE_AT_MOST", 10)  # every place stale: computed for everyone
        from_records = every_caseload()
    assert every_caseload() == from_records  # every place computed beside the (empty) kept order
    assert refresh(session, now) > 60
    assert stale_count(session, now) == 0
    assert every_caseload() == from_records  # read from the kept order alone
    session.execute(text("UPDATE caseload_order SET fresh_until = '0001-01-01', "
                         "version = version + 1 WHERE returnee_id % 3 = 0"))
    assert 0 < stale_count(session, now) <= service.STALE_AT_MOST
    assert every_caseload() == from_records  # a third stale, merged with the rest
    everyone = seen(session, coordinator, now)
    names = [name for page in everyone for name, _a, _r in page[2]]
    assert len(names) == 60 and "Nobody's" not in names and "Disabled" not in names
    assert everyone[0][2][0][1] == 0  # an urgent alert first
    assert any(page[2] for page in seen(session, coordinator, now, show="no_contact"))
    assert any(page[2] for page in seen(session, coordinator, now, show="overdue"))


@pytest.mark.parametrize("days", [1, 8, 15, 16, 31, 60])
def test_time_alone_moves_people_as_their_silence_or_follow_up_comes_due(
        session, network, days):
    """Kept today, read days later with no write in between: a silence
    reaching NO_CONTACT_DAYS and a follow-up falling overdue are in the order
    and the filters as if computed then."""
    coordinator = network["coordinator"]
    now = utcnow()
    refresh(session, now)
    later = now + timedelta(days=days)
    assert stale_count(session, later) > 0 or days < 2  # some places passed their time
    for show in SHOWS:
        assert seen(session, coordinator, later, show=show) == computed(
            session, coordinator, later, show=show), show
    # The sweep then makes them fresh again, and nothing changes.
    refresh(session, later)
    assert stale_count(session, later) == 0
    assert seen(session, coordinator, later) == computed(session, coordinator, later)


def test_every_write_makes_the_persons_place_stale_at_once(session, ctx, network):
    """Kept, then written to in every way the caseload reads: after each
    write, before any sweep, the caseload is what the records say. A new
    urgent report puts the person among the urgent ones at once."""
    cw, other, coordinator = network["caseworker"], network["other"], network["coordinator"]
    now = utcnow()
    refresh(session, now)
    fine = next(r.returnee for result in pages(session, coordinator, now)
                for r in result.rows if r.attention == 2)
    person = session.get(User, fine.id)

    def check(what: str) -> None:
        session.commit()
        assert session.scalar(select(CaseloadOrder.fresh_until)
                              .where(CaseloadOrder.returnee_id == person.id)) == STALE, what
        at = utcnow()
        for viewer in (cw, other, coordinator):
            for show in SHOWS:
                assert seen(session, viewer, at, show=show) == computed(
                    session, viewer, at, show=show), (what, viewer.role, show)
        refresh(session, at)

    with ctx():
        report = support.create_concern(session, person, kind="safety", sub_type="threatened",
                                        urgency="now")
    check("an urgent report")
    urgent = [r.returnee.id for r in service.caseload(session, coordinator, show="urgent").rows
              if r.attention == 0]
    assert person.id in urgent  # among the urgent ones at once, before any sweep
    report.status = "closed"
    check("the report closed")
    with ctx():
        record_checkin(session, person, mood=4, answers={}, note="", share_with_group=False)
    check("a check-in")
    # The check-in's trigger marks the place itself; the summary's own
    # trigger still marks for a write made outside a trigger.
    session.execute(update(CheckInSummary).where(CheckInSummary.user_id == person.id)
                    .values(last_at=utcnow() - timedelta(days=40)))
    check("the check-in summary written by SQL: silent for 40 days")
    session.add(FollowUp(organisation_id=person.organisation_id, returnee_id=person.id,
                         month=12, due_on=date.today() - timedelta(days=60)))
    check("a follow-up overdue, scheduled")
    with ctx():
        people.assign_caseworker(session, person, other, coordinator)
    check("another caseworker")
    person.display_name = "Aaron Renamed"
    check("a new name")
    with ctx():
        people.disable_user(session, person, coordinator)
    check("disabled")
    session.execute(text("UPDATE users SET disabled_at = NULL WHERE id = :id"), {"id": person.id})
    check("enabled again, by SQL")
    elsewhere = session.scalar(select(User.organisation_id).where(User.display_name == "Elsewhere"))
    session.execute(text("UPDATE users SET organisation_id = :org WHERE id = :id"),
                    {"org": elsewhere, "id": person.id})
    check("moved to another organisation, by SQL")


def test_a_record_moved_to_another_person_makes_both_places_stale(session, network):
    """A row the caseload reads that moves from one person to another (a
    report filed under the wrong person, put right by SQL) leaves neither
    place as it was: the first no longer has it, the second now does."""
    coordinator = network["coordinator"]
    now = utcnow()
    refresh(session, now)
    urgent = session.scalars(select(Alert).where(Alert.severity == "urgent")).first()
    first = urgent.returnee_id
    second = next(p.id for p in network["people"] if p.id != first)
    session.execute(update(Alert).where(Alert.id == urgent.id).values(returnee_id=second))
    session.commit()
    assert set(session.scalars(select(CaseloadOrder.returnee_id).where(
        CaseloadOrder.fresh_until == STALE))) == {first, second}
    at = utcnow()
    for show in SHOWS:
        assert seen(session, coordinator, at, show=show) == computed(
            session, coordinator, at, show=show), show


def test_sqlite_marks_a_place_by_its_key(session):
    """On SQLite a trigger that looked the place up with `IN (...)` made a
    check-in's row cost 106 µs instead of 90 (`make bench-hot`, migration
    a24e6b2d8c47): every trigger that marks a place finds it by
    `returnee_id = ...`."""
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("PostgreSQL's triggers are one function with an array")
    triggers = dict(session.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
        "AND sql LIKE '%UPDATE caseload_order%'")).all())
    assert len(triggers) == 1 + 5 * 4  # the account's, and four on each of five tables
    assert all(" IN (" not in sql.upper() and "RETURNEE_ID = " in sql.upper()
               for sql in triggers.values()), triggers


def test_stale_places_of_other_organisations_leave_this_one_on_its_kept_order(
        session, make_org, make_staff, network, monkeypatch):
    coordinator = network["coordinator"]
    now = utcnow()
    refresh(session, now)
    other_org = make_org()
    bulk_returnees(session, other_org, make_staff(Role.CASEWORKER, organisation=other_org), 12)
    assert stale_count(session, now) >= 12  # the other organisation's, not computed yet
    monkeypatch.setattr(service, "STALE_AT_MOST", 10)
    expected = computed(session, coordinator, now)

    def everyone(*_args, **_kw):
        raise AssertionError("the caseload was computed for everyone")

    monkeypatch.setattr(service, "paginate", everyone)
    assert seen(session, coordinator, now) == expected


def test_a_write_while_the_order_is_computed_leaves_the_place_stale(
        session, network, monkeypatch):
    """The sweep reads the stale places, computes them, writes them back
    only where nothing was written since it read (their `version`): a write
    in between may be missing from what it computed."""
    person = network["people"][0]
    now = utcnow()
    computing = service._starts_by_time

    def written_meanwhile(*args):
        session.execute(text("UPDATE users SET display_name = 'Meanwhile' WHERE id = :id"),
                        {"id": person.id})
        monkeypatch.setattr(service, "_starts_by_time", computing)
        return computing(*args)

    monkeypatch.setattr(service, "_starts_by_time", written_meanwhile)
    service.refresh_caseload_order(session, now, size=1000)
    ours = {p.id for p in network["people"]}
    stale = set(session.scalars(select(CaseloadOrder.returnee_id).where(
        CaseloadOrder.fresh_until <= now)).all())
    assert stale & ours == {person.id}  # the others were written back
    session.expire_all()  # the name was changed by SQL, behind the session's back
    names = [r.returnee.display_name for result in pages(session, network["coordinator"], now)
             for r in result.rows]
    assert "Meanwhile" in names
    assert seen(session, network["coordinator"], now) == computed(
        session, network["coordinator"], now)


def test_the_sweep_keeps_the_order(app, session, network):
    now = utcnow()
    assert stale_count(session, now) > 60
    session.commit()
    with app.app_context():
        done = tasks.sweep(now)
    assert done["ordered"] >= 60
    assert stale_count(session, now) == 0


def test_the_order_failing_in_the_sweep_does_not_read_as_alerts_being_late(
        app, client, session, network, monkeypatch):
    from webapp import queue

    queue.huey.delete(queue.HEARTBEAT)

    def broken(*_args, **_kw):
        raise RuntimeError("the order's computation failed")

    monkeypatch.setattr(tasks, "refresh_caseload_order", broken)
    session.commit()
    with app.app_context(), pytest.raises(RuntimeError):
        tasks.sweep()
    assert client.get("/healthz/worker").json == {"worker": "ok"}
    queue.huey.delete(queue.HEARTBEAT)


def test_the_migration_gives_every_account_a_stale_place(app, tmp_path):
    with before_revision(app, tmp_path, "a24c0e7d5b31", returnees=3) as (engine, upgrade):
        upgrade()
        with engine.begin() as conn:
            rows = conn.execute(text(
                "SELECT returnee_id, fresh_until, version FROM caseload_order "
                "ORDER BY returnee_id")).all()
            assert [(r[0], str(r[1])[:4], r[2]) for r in rows] == [
                (1, "0001", 0), (2, "0001", 0), (3, "0001", 0)]
            # The triggers: a new account gets its place; a write counts on.
            conn.execute(text(
                "INSERT INTO users (id, organisation_id, role, display_name, "
                "totp_last_counter, session_epoch, created_at) VALUES "
                "(4, 1, 'returnee', 'D', 0, 0, '2026-01-01')"))
            conn.execute(text("UPDATE caseload_order SET fresh_until = '2030-01-01', "
                              "version = 5 WHERE returnee_id = 1"))
            conn.execute(text(
                "INSERT INTO support_cases (organisation_id, returnee_id, type, text, "
                "callback_phone, district, priority, status, without_pin, created_at, "
                "updated_at) VALUES (1, 1, 'request', '', '', '', 3, 'new', false, "
                "'2026-01-02', '2026-01-02')"))
            rows = conn.execute(text(
                "SELECT returnee_id, fresh_until, version FROM caseload_order "
                "WHERE returnee_id IN (1, 4) ORDER BY returnee_id")).all()
    assert [(r[0], str(r[1])[:4], r[2]) for r in rows] == [(1, "0001", 6), (4, "0001", 0)]


def test_a_wrong_copy_in_the_kept_order_never_shows_a_person_to_someone_else(
        session, network):
    """Were a place's copy of the caseworker or organisation wrong (a write
    the triggers missed), the person would still not be shown outside the
    viewer's caseload: who is shown is read from the records."""
    other = network["other"]
    person = network["people"][0]  # the first caseworker's
    now = utcnow()
    refresh(session, now)
    session.execute(text("UPDATE caseload_order SET caseworker_id = :other, attention = 0 "
                         "WHERE returnee_id = :id"), {"other": other.id, "id": person.id})
    shown = [r.returnee.id for result in pages(session, other, now) for r in result.rows]
    assert person.id not in shown and len(shown) == 20  # the other caseworker's own 20
