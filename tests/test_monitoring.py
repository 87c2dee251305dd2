"""Aftercare monitoring (issue #7): instruments and scoring, follow-ups and the
overdue signal, the caseload, the timeline, the overview, the export and the
returnee's own progress page."""
from __future__ import annotations

import copy
import csv
import io
import json
import re
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from webapp.alerts.models import Alert, Signal
from webapp.audit import AuditEvent
from webapp.checkins.models import CheckIn
from webapp.models import Household, Role, User, utcnow
from webapp.monitoring import export, instruments, overview, service
from webapp.monitoring.instrument_texts import TEXTS
from webapp.monitoring.models import FollowUp, ReintegrationCheck
from webapp.people.models import ReportingProfile
from webapp.plan.models import Goal, Step
from webapp.privacy.models import AccessLedgerEntry
from webapp.support.models import Case

from .conftest import Web, activate_returnee, before_revision, bulk_returnees, sign_in_staff

HX = {"HX-Request": "true"}
ALL_YES = {"eco_income": "yes", "eco_needs": "yes", "eco_debt": "no", "soc_family": "yes",
           "soc_help": "yes", "soc_belong": "yes", "psy_safe": "yes", "psy_sleep": "yes",
           "psy_hope": "yes"}


def counts(session) -> dict[str, int]:
    session.expire_all()
    return {t.__name__: session.scalar(select(func.count()).select_from(t))
            for t in (FollowUp, ReintegrationCheck, Signal, AuditEvent)}


def staff_client(app, user) -> Web:
    other = Web(app.test_client())
    sign_in_staff(other, user)
    return other


def returned(session, person: User, days_ago: int) -> User:
    person.return_date = date.today() - timedelta(days=days_ago)
    session.commit()
    return person


def q(answers: dict[str, str]) -> dict[str, str]:
    return {"q_" + k: v for k, v in answers.items()}


# --- Instruments ------------------------------------------------------------------

def raw_default() -> dict:
    return json.loads((instruments.FOLDER / "footing-default-1.json").read_text())


def test_default_instrument_scores_match_hand_computed_examples():
    inst = instruments.current()
    assert (inst.id, inst.version) == ("footing-default", 1)
    assert "not official weights" in inst.about
    assert all(abs(d.weight - 1 / 3) < 1e-12 for d in inst.dimensions)
    scores = inst.score(ALL_YES)
    assert (scores.economic, scores.social, scores.psychosocial, scores.composite) == (1, 1, 1, 1)
    # economic: (1 + 0.5 + 0) / 3 = 0.5; social: (0 + 0 + 1) / 3 = 0.3333;
    # psychosocial: (0.5 + 0.5 + 0.5) / 3 = 0.5; composite: (0.5 + 0.3333 + 0.5) / 3 = 0.4444
    mixed = {"eco_income": "yes", "eco_needs": "partly", "eco_debt": "yes",
             "soc_family": "no", "soc_help": "no", "soc_belong": "yes",
             "psy_safe": "partly", "psy_sleep": "partly", "psy_hope": "partly"}
    scores = inst.score(mixed)
    assert scores.economic == 0.5
    assert scores.social == 0.3333
    assert scores.psychosocial == 0.5
    assert scores.composite == 0.4444


def test_unequal_weights_are_used_as_written():
    data = raw_default()
    data["dimensions"][0]["weight"] = 0.5   # economic
    data["dimensions"][1]["weight"] = 0.25  # social
    data["dimensions"][2]["weight"] = 0.25
    data["dimensions"][0]["questions"][0]["weight"] = 0.6
    data["dimensions"][0]["questions"][1]["weight"] = 0.2
    data["dimensions"][0]["questions"][2]["weight"] = 0.2
    inst = instruments.parse(data)
    answers = dict(ALL_YES, eco_income="no")  # economic 0.6*0 + 0.2 + 0.2 = 0.4
    scores = inst.score(answers)
    assert scores.economic == 0.4
    assert scores.composite == round(0.5 * 0.4 + 0.25 + 0.25, 4)  # 0.7


@pytest.mark.parametrize("breaks, message", [
    (lambda d: d["dimensions"][0].__setitem__("key", "spiritual"), "unknown dimension 'spiritual'"),
    (lambda d: d["dimensions"][0].__setitem__("weight", 0.5),
     "dimension weights add up to 1.16667, not 1"),
    (lambda d: d["dimensions"][1]["questions"][0].__setitem__("weight", "1/2"),
     "question weights add up to 1.16667, not 1"),
    (lambda d: d["dimensions"][2]["questions"][1].__setitem__("id", "eco_income"),
     "duplicate question id 'eco_income'"),
    (lambda d: d["dimensions"][0]["questions"][0]["options"][0].__setitem__("value", 2),
     "every option needs a value from 0 to 1"),
    (lambda d: d["dimensions"].pop(), "missing dimension(s): psychosocial"),
])
def test_an_instrument_that_does_not_validate_is_refused_with_a_clear_message(breaks, message):
    data = copy.deepcopy(raw_default())
    breaks(data)
    with pytest.raises(instruments.InstrumentError) as err:
        instruments.parse(data, "broken.json")
    assert message in str(err.value)
    assert str(err.value).startswith("broken.json (footing-default version 1)")


def test_a_broken_file_is_refused_at_load(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{not json")
    with pytest.raises(instruments.InstrumentError, match="bad.json: cannot be read as JSON"):
        instruments.load_file(path)


def test_every_shipped_instrument_loads_and_its_texts_are_translatable():
    listed = {t._args[0] for t in TEXTS}
    for inst in instruments.registry().values():
        texts = {inst.title, inst.about}
        for question in inst.questions:
            texts.add(question.text)
            texts |= {o.label for o in question.options}
        assert texts <= listed, f"add to instrument_texts.py: {sorted(texts - listed)}"
    with force_locale("nl"):
        pass  # the catalogs are checked by tests/test_i18n.py


# --- Follow-ups -------------------------------------------------------------------

@pytest.fixture()
def caseworker_and_person(app, session, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw, name="Abdul")
    returned(session, person, 100)
    return cw, person, staff_client(app, cw)


def test_follow_ups_are_planned_from_the_return_date(session, caseworker_and_person, ctx):
    _cw, person, staff = caseworker_and_person
    page = staff.get(f"/caseload/{person.id}/followups").get_data(as_text=True)
    assert "After 1 month<" in page and "After 12 months<" in page
    with ctx():
        slots = service.schedule(session, person)
    assert [s.month for s in slots] == [1, 3, 6, 12]
    assert slots[1].due_on == service.add_months(person.return_date, 3)
    assert service.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert service.add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)


def test_a_caseworker_records_a_follow_up_with_a_check(session, caseworker_and_person):
    cw, person, staff = caseworker_and_person
    url = f"/caseload/{person.id}/followups"
    r = staff.post(url, {"month": "3", "contact": "visit", "outcome": "doing_well",
                         "note": "Met at the market", **q(ALL_YES)})
    assert r.status_code == 302, r.get_data(as_text=True)
    session.expire_all()
    followup = session.scalar(select(FollowUp).where(FollowUp.returnee_id == person.id))
    assert (followup.month, followup.contact, followup.outcome, followup.done_by_id) == (
        3, "visit", "doing_well", cw.id)
    check = session.scalar(
        select(ReintegrationCheck).where(ReintegrationCheck.returnee_id == person.id))
    assert (check.instrument_id, check.instrument_version) == ("footing-default", 1)
    assert check.followup_id == followup.id and check.composite == 1.0
    page = staff.get(url).get_data(as_text=True)
    assert "Follow-up recorded." in page
    assert 'aria-labelledby="score-chart-title"' in page and "1.00" in page
    # The same follow-up cannot be recorded twice: it is no longer offered.
    before = counts(session)
    r = staff.post(url, {"month": "3", "contact": "phone", "outcome": "other"})
    assert r.status_code == 400 and "Please choose one from the list." in r.get_data(as_text=True)
    assert counts(session) == before


def test_a_follow_up_without_contact_needs_no_check(session, caseworker_and_person):
    _cw, person, staff = caseworker_and_person
    r = staff.post(f"/caseload/{person.id}/followups",
                   {"month": "1", "contact": "none", "outcome": "could_not_reach"})
    assert r.status_code == 302
    assert counts(session)["ReintegrationCheck"] == 0
    assert counts(session)["FollowUp"] == 1


@pytest.mark.parametrize("data, message", [
    ({**q(ALL_YES), "q_eco_income": "maybe"}, "Please choose one from the list."),
    ({"q_eco_income": "yes"}, "Please answer every question of the check."),
    ({**q(ALL_YES), "contact": "none"}, "A check needs a visit or a phone call"),
    ({**q(ALL_YES), "outcome": "great"}, "Please choose one from the list."),
    ({**q(ALL_YES), "month": "2"}, "Please choose one from the list."),
    ({**q(ALL_YES), "contact": ""}, "Please choose one from the list."),
    ({**q(ALL_YES), "note": "x" * 2001}, "Please use at most 2000 characters."),
])
def test_bad_follow_up_input_stores_nothing(session, caseworker_and_person, data, message):
    _cw, person, staff = caseworker_and_person
    before = counts(session)
    form = {"month": "3", "contact": "phone", "outcome": "doing_well", **data}
    r = staff.post(f"/caseload/{person.id}/followups", form)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    assert counts(session) == before


def test_follow_ups_of_someone_else_are_not_found(app, session, make_staff, make_org,
                                                  make_returnee, caseworker_and_person):
    _cw, person, _staff = caseworker_and_person
    other_cw = staff_client(app, make_staff(Role.CASEWORKER))
    far_coordinator = staff_client(app, make_staff(Role.COORDINATOR, organisation=make_org()))
    facilitator = staff_client(app, make_staff(Role.FACILITATOR))
    before = counts(session)
    for client in (other_cw, far_coordinator, facilitator):
        for url in (f"/caseload/{person.id}/followups", f"/caseload/{person.id}"):
            assert client.get(url).status_code == 404
        r = client.post(f"/caseload/{person.id}/followups",
                        {"month": "3", "contact": "phone", "outcome": "doing_well"},
                        form_page="/home")
        assert r.status_code == 404
    assert counts(session) == before


def test_overdue_follow_ups_signal_once(app, session, caseworker_and_person):
    from webapp.tasks import signal_overdue_followups

    _cw, person, _staff = caseworker_and_person  # returned 100 days ago
    later = utcnow() + timedelta(days=1)
    assert signal_overdue_followups(app, later) == 1  # the 1-month follow-up only
    assert signal_overdue_followups(app, later) == 0  # once per follow-up
    session.expire_all()
    signal = session.scalar(select(Signal).where(Signal.returnee_id == person.id))
    assert signal.kind == "followup.overdue" and signal.source_type == "followup"
    # Routed right after the commit: the caseworker has the alert.
    assert session.scalar(select(Alert).where(Alert.signal_id == signal.id)) is not None
    # Two months later the 3-month follow-up is overdue too.
    assert signal_overdue_followups(app, utcnow() + timedelta(days=60)) == 1


def test_the_job_schedules_everyone_in_batches_of_their_own(
        app, session, make_staff, make_returnee, monkeypatch):
    """Issue #24: one transaction over 100,000 people held the database for
    seconds; the job now goes through them a batch at a time, missing nobody
    at a batch's edge."""
    from webapp import tasks

    cw = make_staff(Role.CASEWORKER)
    people = [make_returnee(caseworker=cw, name=f"Batch {n}")[0] for n in range(5)]
    for person in people:
        session.get(User, person.id).return_date = date.today() - timedelta(days=10)
    session.commit()
    monkeypatch.setattr(service, "SCHEDULE_BATCH", 2)
    commits = []
    real = tasks.in_transaction
    monkeypatch.setattr(tasks, "in_transaction",
                        lambda work, app=None: commits.append(1) or real(work, app))
    tasks.signal_overdue_followups(app)
    session.expire_all()
    scheduled = session.execute(select(FollowUp.returnee_id, func.count())
                                .group_by(FollowUp.returnee_id)).all()
    assert dict(scheduled) == {p.id: 4 for p in people}
    # 3 batches of people and the last, empty look; then one of signals.
    assert len(commits) == 4 + 1


def test_a_backlog_of_overdue_follow_ups_is_signalled_in_batches_that_each_commit(
        app, session, make_staff, make_returnee, monkeypatch):
    """A stopped worker or a new organisation leaves many follow-ups overdue
    at once: the job works them off in short transactions. When it fails
    half-way, what it committed stays, and the next run signals the rest,
    each follow-up once."""
    from webapp import tasks
    from webapp.alerts import signals

    cw = make_staff(Role.CASEWORKER)
    for n in range(2):  # months 1, 3, 6 and 12 overdue for each: 8 follow-ups
        returned(session, make_returnee(caseworker=cw, name=f"Back {n}")[0], 400)
    monkeypatch.setattr(tasks, "OVERDUE_BATCH", 3)
    emit = signals.emit
    emitted = []

    def emit_until_the_database_goes_away(*args, **kwargs):
        emitted.append(kwargs["source_id"])
        if len(emitted) == 8:
            raise RuntimeError("the database went away")
        return emit(*args, **kwargs)

    monkeypatch.setattr(signals, "emit", emit_until_the_database_goes_away)
    with pytest.raises(RuntimeError):
        tasks.signal_overdue_followups(app)

    def signalled():
        session.expire_all()
        return session.execute(select(Signal.source_id, func.count(Alert.id))
                               .outerjoin(Alert, Alert.signal_id == Signal.id)
                               .where(Signal.kind == "followup.overdue")
                               .group_by(Signal.source_id)).all()

    # Two batches of three committed, each signal with its alert; the third
    # batch (two done, the third failing) left nothing.
    assert sorted(n for _id, n in signalled()) == [1] * 6
    monkeypatch.setattr(signals, "emit", emit)
    assert tasks.signal_overdue_followups(app) == 2
    assert sorted(n for _id, n in signalled()) == [1] * 8
    assert tasks.signal_overdue_followups(app) == 0


def test_the_due_list_shows_scheduled_follow_ups(app, session, ctx, caseworker_and_person):
    _cw, person, staff = caseworker_and_person
    with ctx():
        service.schedule_all(session)
    session.commit()
    page = staff.get("/caseload/due").get_data(as_text=True)
    assert f'<a href="/caseload/{person.id}/followups"><bdi>Abdul</bdi></a>' in page
    # An overdue follow-up says how long ago it was due.
    first = min(service.schedule(session, person), key=lambda s: s.due_on)
    late = (date.today() - first.due_on).days
    assert late > service.OVERDUE_AFTER_DAYS and f"{late} days overdue" in page


# --- Caseload ---------------------------------------------------------------------

def test_caseload_queries_do_not_grow_with_the_number_of_returnees(
        app, session, org, make_staff, count_queries):
    cw = make_staff(Role.CASEWORKER)
    coordinator = make_staff(Role.COORDINATOR)
    bulk_returnees(session, org, cw, 10)
    staff, coord = staff_client(app, cw), staff_client(app, coordinator)
    with count_queries() as few:
        assert staff.get("/caseload/").status_code == 200
    with count_queries() as few_coord:
        assert coord.get(f"/caseload/?caseworker={cw.id}&show=overdue").status_code == 200
    # 100 people are enough: page 3 of 4 shows a full page of 25, against 10
    # above (and 18 overdue people against 6), so a query per person still shows.
    bulk_returnees(session, org, cw, 90, start=10)
    with count_queries() as many:
        page = staff.get("/caseload/?page=3").get_data(as_text=True)
    assert "100 people" in page and "Page 3 of 4" in page
    assert len(re.findall(r'/caseload/\d+">', page)) == 25  # a full page of people
    with count_queries() as many_coord:
        assert coord.get(f"/caseload/?caseworker={cw.id}&show=overdue").status_code == 200
    assert many() == few()
    assert many_coord() == few_coord()


def caseload_statements(app, client, url: str) -> list[str]:
    from sqlalchemy import event

    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(" ".join(statement.split()))

    engine = app.extensions["footing_db"].engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", before)
    return seen


@pytest.mark.parametrize("url", ["/caseload/", "/caseload/?show=attention",
                                 "/caseload/?show=overdue"])
def test_caseload_reads_one_summary_row_per_person_not_every_check_or_follow_up(
        app, session, org, make_staff, url):
    """Issue #24: a window over every reintegration check (the falling
    score) and a grouping of every follow-up doubled the caseload's time.
    Their figures come from one summary row per person, kept on write; the
    checks are read for the page's people only, by id, and the only window
    left (the mood sparkline) is over the page's people's check-ins."""
    coordinator = make_staff(Role.COORDINATOR)
    cw = make_staff(Role.CASEWORKER)
    bulk_returnees(session, org, cw, 30)
    statements = caseload_statements(app, staff_client(app, coordinator), url)
    assert any("caseload_summaries" in s for s in statements)
    assert not [s for s in statements if re.search(r"\bfollowups\b", s)]
    checks = [s for s in statements if "reintegration_checks" in s]
    assert checks and all(re.search(r"WHERE reintegration_checks\.id IN \(", s) for s in checks)
    assert all(re.search(r"checkins\.user_id IN \(", s) for s in statements if " OVER (" in s)


def test_caseload_puts_who_needs_attention_first_and_filters(
        app, session, ctx, org, make_staff, make_returnee):
    from webapp.support import service as support

    cw = make_staff(Role.CASEWORKER)
    fine, _ = make_returnee(caseworker=cw, name="Fine")
    quiet, _ = make_returnee(caseworker=cw, name="Quiet")
    urgent, _ = make_returnee(caseworker=cw, name="Urgent")
    late, _ = make_returnee(caseworker=cw, name="Late")
    other, _ = make_returnee(name="Not mine")
    now = utcnow()
    for person in (fine, urgent, late):
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=4, created_at=now))
    session.add(CheckIn(organisation_id=org.id, user_id=quiet.id, mood=2,
                        created_at=now - timedelta(days=30)))
    session.add(FollowUp(organisation_id=org.id, returnee_id=late.id, month=1,
                         due_on=date.today() - timedelta(days=40)))
    session.add(FollowUp(organisation_id=org.id, returnee_id=fine.id, month=1,
                         due_on=date.today() + timedelta(days=10)))
    session.commit()
    with ctx():
        support.create_concern(session, urgent, kind="safety", sub_type="threatened", urgency="now")
    session.commit()
    staff = staff_client(app, cw)
    page = staff.get("/caseload/").get_data(as_text=True)
    names = re.findall(r'/caseload/\d+"><bdi>([^<]+)</bdi></a>', page)
    assert names[0] == "Urgent" and names[-1] == "Fine", names
    assert set(names[1:3]) == {"Quiet", "Late"}
    assert "Not mine" not in page
    assert "30 days ago" in page and "Never" not in page
    assert "1 · Urgent" in page
    for show, expected in (("urgent", ["Urgent"]), ("no_contact", ["Quiet"]),
                           ("overdue", ["Late"])):
        page = staff.get(f"/caseload/?show={show}").get_data(as_text=True)
        assert re.findall(r'/caseload/\d+"><bdi>([^<]+)</bdi></a>', page) == expected, show
    # A made-up filter or page shows everyone, not an error.
    assert staff.get("/caseload/?show=nonsense&page=abc").status_code == 200


def test_caseload_flags_only_for_stated_reasons_oldest_first(
        app, session, org, make_staff, make_returnee):
    """Nobody is flagged without a reason; each reason is a short label with
    its age; the overdue follow-up shows its age; the oldest reason sorts first."""
    cw = make_staff(Role.CASEWORKER)
    new, _ = make_returnee(caseworker=cw, name="New")  # never checked in, made today
    quiet, _ = make_returnee(caseworker=cw, name="Quiet")
    late, _ = make_returnee(caseworker=cw, name="Late")
    falling, _ = make_returnee(caseworker=cw, name="Falling")
    asking, _ = make_returnee(caseworker=cw, name="Asking")
    alerted, _ = make_returnee(caseworker=cw, name="Alerted")
    now = utcnow()
    for person in (quiet, late, falling, asking, alerted):
        person.created_at = now - timedelta(days=200)
    for person in (late, falling, asking, alerted):
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=4, created_at=now))
    session.add(CheckIn(organisation_id=org.id, user_id=quiet.id, mood=3,
                        created_at=now - timedelta(days=20)))
    session.add(FollowUp(organisation_id=org.id, returnee_id=late.id, month=3,
                         due_on=date.today() - timedelta(days=92)))
    for days, composite in ((60, .8), (5, .4)):
        session.add(ReintegrationCheck(
            organisation_id=org.id, returnee_id=falling.id, instrument_id="footing-default",
            instrument_version=1, answers={}, economic=composite, social=composite,
            psychosocial=composite, composite=composite, recorded_by_id=cw.id,
            created_at=now - timedelta(days=days)))
    session.add(Case(organisation_id=org.id, returnee_id=asking.id, type="request",
                     category="work", contact_way="app", priority=3, status="new",
                     created_at=now - timedelta(days=3)))
    signal = Signal(organisation_id=org.id, returnee_id=alerted.id, kind="concern.urgent")
    session.add(signal)
    session.flush()
    session.add(Alert(organisation_id=org.id, returnee_id=alerted.id, signal_id=signal.id,
                      kind="concern.urgent", severity="urgent", severity_rank=0,
                      created_at=now - timedelta(hours=1), ack_due_at=now))
    session.commit()
    staff = staff_client(app, cw)
    page = staff.get("/caseload/").get_data(as_text=True)
    names = re.findall(r'/caseload/\d+"><bdi>([^<]+)</bdi></a>', page)
    # Urgent first; then the oldest reason: overdue 92 days, silent 20 days,
    # falling since 5 days, unanswered 3 days; New has no reason and is last.
    assert names == ["Alerted", "Late", "Quiet", "Falling", "Asking", "New"], names
    reasons = {re.findall(r'/caseload/\d+"><bdi>([^<]+)</bdi></a>', block)[0]:
               re.findall(r'class="tag[^"]*reason-\w+">([^<]+)</li>', block)
               for block in page.split('<li class="card caseload-row')[1:]}
    assert reasons["Alerted"] == ["Urgent alert open"]
    assert reasons["Late"] == ["Follow-up overdue by 92 days"]
    assert reasons["Quiet"] == ["No contact for 20 days"]
    assert reasons["Falling"] == ["Score falling"]
    assert reasons["Asking"] == ["Request unanswered for 3 days"]
    assert reasons["New"] == []
    assert "92 days overdue" in page
    assert "Needs a look" not in page.split('id="caseload"')[1]
    only = staff.get("/caseload/?show=attention").get_data(as_text=True)
    assert "New</bdi></a>" not in only and "Asking</bdi></a>" in only
    # A follow-up recorded counts as contact.
    session.add(FollowUp(organisation_id=org.id, returnee_id=quiet.id, month=1,
                         due_on=date.today(), done_at=now, contact="phone",
                         outcome="doing_well"))
    session.commit()
    page = staff.get("/caseload/").get_data(as_text=True)
    assert "No contact for" not in page


def test_no_contact_counts_from_the_latest_check_in_follow_up_or_account(
        app, session, org, make_staff, make_returnee):
    """The last contact is the later of the last check-in and the last
    follow-up recorded; with neither, the day the account was made."""
    cw = make_staff(Role.CASEWORKER)
    called, _ = make_returnee(caseworker=cw, name="Called")  # check-in 100 days, call 40
    writes, _ = make_returnee(caseworker=cw, name="Writes")  # call 100 days, check-in 2
    never, _ = make_returnee(caseworker=cw, name="Never")  # made 50 days ago, nothing since
    now = utcnow()
    for person in (called, writes, never):
        person.created_at = now - timedelta(days={"Never": 50}.get(person.display_name, 200))
    for person, checked, called_at in ((called, 100, 40), (writes, 2, 100)):
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=3,
                            created_at=now - timedelta(days=checked)))
        session.add(FollowUp(organisation_id=org.id, returnee_id=person.id, month=1,
                             due_on=date.today() + timedelta(days=30),
                             done_at=now - timedelta(days=called_at), contact="phone",
                             outcome="doing_well"))
    session.commit()
    page = staff_client(app, cw).get("/caseload/").get_data(as_text=True)
    reasons = {re.findall(r'/caseload/\d+"><bdi>([^<]+)</bdi></a>', block)[0]:
               re.findall(r'class="tag[^"]*reason-\w+">([^<]+)</li>', block)
               for block in page.split('<li class="card caseload-row')[1:]}
    assert reasons == {"Never": ["No contact for 50 days"],
                       "Called": ["No contact for 40 days"], "Writes": []}, reasons
    names = re.findall(r'/caseload/\d+"><bdi>([^<]+)</bdi></a>', page)
    assert names == ["Never", "Called", "Writes"], names  # the oldest reason first


def test_caseload_shows_the_progress_of_each_persons_own_goals(
        app, session, org, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    ama, _ = make_returnee(caseworker=cw, name="Ama")
    make_returnee(caseworker=cw, name="Kofi")
    now = utcnow()
    own = Goal(organisation_id=org.id, returnee_id=ama.id, area="work", title="Shop")
    removed = Goal(organisation_id=org.id, returnee_id=ama.id, area="housing", title="Room",
                   state="removed")
    session.add_all([own, removed])
    session.flush()
    session.add_all([Step(organisation_id=org.id, goal_id=own.id, text=f"Step {n}",
                          done_at=now if n < 2 else None) for n in range(3)]
                    + [Step(organisation_id=org.id, goal_id=removed.id, text="Old", done_at=now)])
    session.commit()
    page = staff_client(app, cw).get("/caseload/").get_data(as_text=True)
    plans = dict(re.findall(
        r'/caseload/\d+"><bdi>([^<]+)</bdi></a>.*?<dt>Plan</dt>\s*<dd>([^<]+)</dd>', page, re.S))
    assert plans == {"Ama": "2 of 3 steps done", "Kofi": "No steps yet"}


def test_caseload_htmx_gets_the_rows_only(app, caseworker_and_person):
    _cw, _person, staff = caseworker_and_person
    full = staff.get("/caseload/").get_data(as_text=True)
    part = staff.get("/caseload/?show=urgent", headers=HX).get_data(as_text=True)
    assert "<html" in full and 'id="caseload"' in full
    assert "<html" not in part and part.lstrip().startswith('<section id="caseload"')


def test_a_coordinator_sees_the_caseload_per_caseworker(app, session, make_staff, make_returnee):
    cw1, cw2 = make_staff(Role.CASEWORKER), make_staff(Role.CASEWORKER)
    make_returnee(caseworker=cw1, name="Ama")
    make_returnee(caseworker=cw2, name="Kofi")
    coord = staff_client(app, make_staff(Role.COORDINATOR))
    both = coord.get("/caseload/").get_data(as_text=True)
    assert "Ama" in both and "Kofi" in both
    one = coord.get(f"/caseload/?caseworker={cw2.id}").get_data(as_text=True)
    assert "Kofi" in one and "Ama" not in one
    facilitator = staff_client(app, make_staff(Role.FACILITATOR))
    assert facilitator.get("/caseload/").status_code == 404


# --- Timeline ---------------------------------------------------------------------

def test_timeline_newest_first_by_kind_household_and_ledger(app, session, ctx, org, make_staff,
                                                            make_returnee):
    from webapp.support import service as support

    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw, name="Abdul")
    sister, _ = make_returnee(caseworker=cw, name="Mariama")
    cousin, _ = make_returnee(name="Sahr")  # another caseworker
    household = Household(organisation_id=org.id, label="Koroma")
    session.add(household)
    session.flush()
    for p in (person, sister, cousin):
        p.household_id = household.id
    now = utcnow()
    session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=5, note="all good",
                        created_at=now - timedelta(days=2)))
    session.commit()
    with ctx():
        support.create_request(session, person, category="work", contact_way="app")
    session.commit()
    staff = staff_client(app, cw)
    page = staff.get(f"/caseload/{person.id}").get_data(as_text=True)
    assert page.index("Work") < page.index("Check-in: Very good")  # newest first
    assert f'href="/caseload/{sister.id}"' in page
    assert "Sahr" in page and f'href="/caseload/{cousin.id}"' not in page
    only = staff.get(f"/caseload/{person.id}?kind=checkin").get_data(as_text=True)
    assert "Check-in: Very good" in only and "Work</a>" not in only
    session.expire_all()
    ledger = session.scalars(select(AccessLedgerEntry.what).where(
        AccessLedgerEntry.subject_id == person.id)).all()
    assert ledger.count("timeline") == 2


def test_timeline_queries_do_not_grow_with_records(app, session, org, caseworker_and_person,
                                                   count_queries):
    _cw, person, staff = caseworker_and_person
    with count_queries() as few:
        staff.get(f"/caseload/{person.id}")
    for _ in range(10):
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=3))
        session.add(Case(organisation_id=org.id, returnee_id=person.id, type="request",
                         category="work", contact_way="app", priority=3, status="new"))
    session.commit()
    with count_queries() as many:
        staff.get(f"/caseload/{person.id}")
    assert many() == few()


# --- Overview ---------------------------------------------------------------------

def test_percentiles_are_nearest_rank():
    assert overview.percentile([], .5) is None
    values = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert overview.percentile(values, .5) == 5
    assert overview.percentile(values, .9) == 9
    assert overview.percentile([7], .9) == 7


def test_alert_response_against_hand_computed_figures(session, ctx, org, make_returnee):
    person, _ = make_returnee()
    now = utcnow()
    # Serious alerts (limit 24 h) acknowledged after 10, 20, 30 minutes and
    # 30 hours; one urgent (limit 30 min) never acknowledged and past its limit.
    for minutes, kind in ((10, "checkin.unsafe"), (20, "checkin.unsafe"), (30, "checkin.unsafe"),
                          (30 * 60, "checkin.unsafe"), (None, "concern.urgent")):
        signal = Signal(organisation_id=org.id, returnee_id=person.id, kind=kind)
        session.add(signal)
        session.flush()
        created = now - timedelta(days=3)
        session.add(Alert(organisation_id=org.id, returnee_id=person.id, signal_id=signal.id,
                          kind=kind, severity="serious", severity_rank=1, created_at=created,
                          ack_due_at=created + timedelta(hours=24),
                          acknowledged_at=(created + timedelta(minutes=minutes)
                                           if minutes else None)))
    session.commit()
    with ctx():
        r = overview.alert_response(session, org, now)
    assert (r.alerts, r.acknowledged) == (5, 4)
    assert r.median_minutes == 20 and r.p90_minutes == 30 * 60
    assert (r.within_limit, r.judged) == (3, 5) and r.share_within == .6


def test_overview_for_coordinators_only_and_its_queries_stay_constant(
        app, session, org, make_staff, count_queries):
    cw = make_staff(Role.CASEWORKER)
    coord = staff_client(app, make_staff(Role.COORDINATOR))
    with count_queries() as few:
        page = coord.get("/overview").get_data(as_text=True)
    assert "Answering alerts" in page and 'href="/help/medicine"' in page
    bulk_returnees(session, org, cw, 40)
    with count_queries() as many:
        page = coord.get("/overview").get_data(as_text=True)
    assert many() == few()
    assert "Health" in page and "0.50" in page  # concerns by kind; average scores
    assert staff_client(app, cw).get("/overview").status_code == 404


# --- Export -----------------------------------------------------------------------

def test_export_is_pseudonymous_neutralised_and_audited(app, session, ctx, org, make_staff,
                                                        caseworker_and_person):
    cw, person, staff = caseworker_and_person
    staff.post(f"/caseload/{person.id}/followups",
               {"month": "3", "contact": "visit", "outcome": "doing_well", "note": "secret note",
                **q(ALL_YES)})
    session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=4, note="=HYPERLINK()"))
    session.add(ReportingProfile(organisation_id=org.id, returnee_id=person.id, sex="female",
                                 household_size=4))
    session.commit()
    coordinator = make_staff(Role.COORDINATOR)
    coord = staff_client(app, coordinator)
    exports = select(AuditEvent.action).where(AuditEvent.action.startswith("export."))
    before = session.scalars(exports).all()
    files = {}
    for dataset in export.DATASETS:
        r = coord.post(f"/export/{dataset}.csv", form_page="/export/")
        assert r.status_code == 200 and r.mimetype == "text/csv"
        assert "attachment" in r.headers["Content-Disposition"]
        files[dataset] = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    session.expire_all()
    # Each export is in the audit log, saying which data went out.
    assert sorted(session.scalars(exports).all()) == sorted(
        before + [f"export.{dataset}" for dataset in export.DATASETS])
    audit = session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("export."))).all()
    assert {a.actor_id for a in audit} == {coordinator.id}
    pid = export.pseudonym(org, person.id)
    assert len(pid) == 16 and pid != str(person.id)
    assert files["checkins"][1][0] == pid == files["scores"][1][0]
    assert files["scores"][1][3:6] == ["3", "footing-default", "1"]
    # The details for reports, under the same id; the return as a month only.
    returned = session.get(User, person.id).return_date
    assert files["profiles"][1] == [pid, "female", "", "", "", "4", f"{returned:%Y-%m}"]
    text = json.dumps(files)
    assert "Abdul" not in text and "secret note" not in text and "HYPERLINK" not in text
    # Stable, and keyed: another secret gives another id.
    assert export.pseudonym(org, person.id) == pid
    org.export_secret = "0" * 64
    assert export.pseudonym(org, person.id) != pid


def test_cells_that_a_spreadsheet_would_run_are_neutralised():
    for bad in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert export.neutralise(bad) == "'" + bad
    assert export.neutralise("fine") == "fine" and export.neutralise(-1) == -1


def test_a_caseworker_cannot_export(app, session, caseworker_and_person, make_staff):
    _cw, _person, staff = caseworker_and_person
    before = counts(session)
    assert staff.get("/export/").status_code == 404
    r = staff.post("/export/checkins.csv", form_page="/home")
    assert r.status_code == 404
    assert counts(session) == before
    coord = staff_client(app, make_staff(Role.COORDINATOR))
    assert coord.post("/export/names.csv", form_page="/export/").status_code == 404
    assert coord.get("/export/checkins.csv").status_code == 405


def test_organisations_get_their_own_export_secret(make_org):
    a, b = make_org(), make_org()
    assert len(a.export_secret) == 64 and a.export_secret != b.export_secret
    assert a.followup_months == [1, 3, 6, 12]


# --- The returnee's own progress --------------------------------------------------

def test_the_returnee_sees_their_scores_in_plain_words(app, session, web, make_staff,
                                                        make_returnee):
    cw = make_staff(Role.CASEWORKER)
    person, code = make_returnee(caseworker=cw)
    returned(session, person, 100)
    activate_returnee(web, code)
    assert "Your progress will show here" in web.get("/me/progress").get_data(as_text=True)
    staff = staff_client(app, cw)
    staff.post(f"/caseload/{person.id}/followups",
               {"month": "3", "contact": "phone", "outcome": "doing_well",
                **q(dict(ALL_YES, eco_income="no", eco_needs="no", eco_debt="yes"))})
    page = web.get("/me/progress").get_data(as_text=True)
    assert "Hard right now" in page and "Going well" in page and "Getting there" in page
    assert 'href="/me/progress"' in web.get("/home").get_data(as_text=True)
    assert web.get(f"/caseload/{person.id}").status_code == 404
    assert web.get("/caseload/").status_code == 404


def test_home_tiles(app, make_staff):
    cw = staff_client(app, make_staff(Role.CASEWORKER)).get("/home").get_data(as_text=True)
    co = staff_client(app, make_staff(Role.COORDINATOR)).get("/home").get_data(as_text=True)
    assert 'href="/caseload/"' in cw and 'href="/overview"' not in cw
    assert 'href="/caseload/"' in co and 'href="/overview"' in co


def test_the_caseload_summary_is_kept_on_every_write_and_matches_the_backfill(
        session, ctx, org, make_staff, make_returnee):
    """The caseload reads follow-ups and scores from one row per person: it
    follows a follow-up recorded, a check that falls, a check deleted, in the
    same transaction, and says what the migration's backfill says."""
    from sqlalchemy import text

    from webapp.monitoring.models import CaseloadSummary, backfill_summaries

    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw, name="Kept")
    person = session.get(User, person.id)
    returned = date.today() - timedelta(days=100)
    person.return_date = returned
    session.commit()
    with ctx():
        service.schedule_all(session, returnee_id=person.id)

    def summary():
        row = session.get(CaseloadSummary, person.id, populate_existing=True)
        return (row.next_month, row.next_due, row.followup_done_at is not None, row.score,
                row.score_before, row.falling_since is not None)

    assert summary() == (1, service.add_months(returned, 1), False, None, None, False)
    worst = {k: ("yes" if k == "eco_debt" else "no") for k in ALL_YES}
    with ctx():
        service.record_followup(session, cw, person, month=1, contact="visit",
                                outcome="doing_well", note="", answers=ALL_YES)
        first = summary()
        assert first[:3] == (3, service.add_months(returned, 3), True)
        assert first[3] > 0.9 and first[4] is None and not first[5]
        low = service.record_check(session, cw, person, worst)
    assert summary()[3:] == (low.composite, first[3], True)  # falling: the caseload says so
    session.commit()

    def stored():
        return session.execute(text("SELECT * FROM caseload_summaries ORDER BY returnee_id")).all()

    kept = stored()
    backfill_summaries(session.connection())
    assert stored() == kept
    session.delete(low)
    session.flush()
    assert summary()[3:] == (first[3], None, False)
    session.rollback()


def test_the_caseload_migration_fills_from_existing_follow_ups_and_checks(app, tmp_path):
    """The revision that adds the caseload's per-person rows fills them: the
    earliest open follow-up, the latest done, the latest two scores and a fall."""
    from sqlalchemy import text

    with before_revision(app, tmp_path, "e26d4a3b6c10", returnees=2) as (engine, upgrade):
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO followups (organisation_id, returnee_id, month, due_on, done_at, "
                "note, created_at) VALUES (1, 1, 1, '2026-02-01', '2026-02-03 10:00:00', '', "
                "'2026-01-01'), (1, 1, 3, '2026-04-01', NULL, '', '2026-01-01'), "
                "(1, 1, 6, '2026-07-01', NULL, '', '2026-01-01')"))
            for n, (score, day) in enumerate(((.8, "2026-02-03"), (.5, "2026-04-02"),
                                              (.3, "2026-05-02")), start=1):
                conn.execute(text(
                    "INSERT INTO reintegration_checks (id, organisation_id, returnee_id, "
                    "instrument_id, instrument_version, answers, economic, social, "
                    "psychosocial, composite, recorded_by_id, created_at) VALUES "
                    "(:id, 1, 1, 'footing-default', 1, '{}', :s, :s, :s, :s, 1, :d)"),
                    {"id": n, "s": score, "d": day})
        upgrade()
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT returnee_id, next_due, next_month, followup_done_at, check_id, "
                "score, score_before, falling_since FROM caseload_summaries")).all()
    # B has neither: no row (the caseload reads that as nothing due, no score).
    assert len(rows) == 1
    rid, due, month, done, check_id, score, before, falling = rows[0]
    assert (rid, str(due), month, str(done)[:10]) == (1, "2026-04-01", 3, "2026-02-03")
    assert (check_id, score, before) == (3, .3, .5)
    assert str(falling).startswith("2026-05-02")  # .3 is more than 0.1 below .5
