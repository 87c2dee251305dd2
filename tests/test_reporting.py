"""Monitoring a partner reports to its funder (issue #26): the details for
reports (optional, consented), indicators over a period in the
organisation's time zone with small cells suppressed, the funder report, case
close with lessons learnt, and instruments made in the app."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp.audit import AuditEvent
from webapp.checkins.models import CheckIn
from webapp.models import Role, User
from webapp.monitoring import export, indicators, instruments, service
from webapp.monitoring.models import InstrumentVersion, Lesson, ReintegrationCheck
from webapp.people.models import ReportingProfile
from webapp.privacy import service as privacy

from .conftest import Web, sign_in_staff


def staff_client(app, user) -> Web:
    other = Web(app.test_client())
    sign_in_staff(other, user)
    return other


def profiles(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(ReportingProfile))


GOOD = {"consented": "y", "sex": "female", "age_band": "25-34", "country": "SL",
        "return_date": "2026-03-02", "return_kind": "assisted", "household_size": "4"}


# --- Details for reports ---------------------------------------------------------

def test_staff_keep_the_details_for_reports_with_the_persons_agreement(
        app, session, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw, name="Mariama")
    staff = staff_client(app, cw)
    url = f"/people/{person.id}/profile"
    assert "Sierra Leone" in staff.get(url).get_data(as_text=True)
    r = staff.post(url, GOOD)
    assert r.status_code == 302
    profile = session.scalars(select(ReportingProfile)).one()
    assert (profile.sex, profile.age_band, profile.country, profile.return_kind,
            profile.household_size) == ("female", "25-34", "SL", "assisted", 4)
    session.refresh(person)
    assert person.return_date == date(2026, 3, 2)
    page = staff.get(f"/people/{person.id}").get_data(as_text=True)
    assert "Assisted voluntary return" in page and "Sierra Leone" in page
    # Taking the agreement back with the details emptied removes them.
    r = staff.post(url, {**{k: "" for k in GOOD}, "return_date": "2026-03-02"})
    assert r.status_code == 302 and profiles(session) == 0


@pytest.mark.parametrize("data, message", [
    ({**GOOD, "consented": ""}, "Ask the person first"),
    ({**GOOD, "sex": "unknown"}, "Please choose one from the list."),
    ({**GOOD, "country": "ZZ"}, "Please choose one from the list."),
    ({**GOOD, "household_size": "99"}, "Please choose one from the list."),
    ({**GOOD, "household_size": "lots"}, "Please choose one from the list."),
    ({**GOOD, "return_date": "yesterday"}, "Please enter a date like 2026-12-31."),
])
def test_bad_details_are_refused_and_change_nothing(app, session, make_staff, make_returnee,
                                                    data, message):
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw)
    r = staff_client(app, cw).post(f"/people/{person.id}/profile", data)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert profiles(session) == 0


def test_the_details_are_in_the_persons_file_and_go_with_the_account(
        app, session, ctx, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw)
    other, _ = make_returnee(caseworker=cw, name="Other")
    staff = staff_client(app, cw)
    for who in (person, other):
        assert staff.post(f"/people/{who.id}/profile", GOOD).status_code == 302
    with ctx():
        data = privacy.my_data(session, session.get(User, person.id))
    assert data["details_for_reports"][0]["country"] == "SL"
    assert data["details_for_reports"][0]["age_band"] == "25-34"
    person.deletion_requested_at = person.created_at
    session.commit()
    with ctx():
        privacy.delete_account(session, cw, person)
    session.commit()
    left = session.scalars(select(ReportingProfile)).all()
    assert [p.returnee_id for p in left] == [other.id]


def test_the_details_are_for_returnees_only(app, make_staff):
    coordinator = make_staff(Role.COORDINATOR)
    cw = make_staff(Role.CASEWORKER)
    assert staff_client(app, coordinator).get(f"/people/{cw.id}/profile").status_code == 404


# --- Indicators ------------------------------------------------------------------

def _people(session, org, n: int, **details) -> list[User]:
    """n activated returnees with the details for reports given."""
    out = []
    for i in range(n):
        person = User(organisation_id=org.id, role="returnee", display_name=f"P{i}",
                      pin_hash="not a real hash",
                      created_at=datetime(2026, 1, 1, tzinfo=UTC))
        session.add(person)
        session.flush()
        session.add(ReportingProfile(organisation_id=org.id, returnee_id=person.id, **details))
        out.append(person)
    session.flush()
    return out


def test_cells_below_five_people_are_suppressed_and_cannot_be_worked_out(session, org):
    women = _people(session, org, 6, sex="female")
    men = _people(session, org, 5, sex="male")
    other = _people(session, org, 2, sex="other")
    at = datetime(2026, 5, 10, 12, tzinfo=UTC)
    for person in women + men[:3] + other:
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=3, created_at=at))
    session.commit()
    p = indicators.period(date(2026, 5, 1), date(2026, 5, 31))
    result = {i.key: i for i in indicators.indicators(session, org, p, by="sex")}
    checkins = result["checkins"]
    assert (checkins.total.people, checkins.total.values["active"]) == (13, 11)
    cells = {c.key: c for c in checkins.cells}
    assert cells["female"].values == {"enrolled": 6, "active": 6, "rate": 1.0}
    # "other" has 2 people: hidden; the next smallest (5 men) is hidden as well,
    # else 13 - 6 - 5 would give the 2 away.
    assert cells["other"].suppressed and cells["other"].values == {}
    assert cells["male"].suppressed and cells["male"].values == {}
    assert not cells["female"].suppressed
    # No figures for a total of fewer than 5 people either.
    alerts = result["alerts"]
    assert alerts.total.people == 0 and alerts.total.suppressed


def test_the_report_shows_no_small_cell(app, session, org, make_staff):
    _people(session, org, 3, sex="female", country="SL")
    session.commit()
    web = staff_client(app, make_staff(Role.COORDINATOR))
    page = web.get("/report?start=2026-01-01&end=2026-12-31&by=sex").get_data(as_text=True)
    assert "fewer than 5" in page and "<td>3</td>" not in page


def test_the_period_is_cut_at_the_organisations_local_midnight(session, org):
    org.timezone = "Asia/Kabul"  # UTC+4:30
    people = _people(session, org, 5)
    # 1 May 00:10 in Kabul is 30 April 19:40 UTC: in May. 31 May 23:50 in
    # Kabul is 19:20 UTC: in May. 1 June 00:10 in Kabul (31 May 19:40 UTC): not.
    inside = [datetime(2026, 4, 30, 19, 40, tzinfo=UTC), datetime(2026, 5, 31, 19, 20, tzinfo=UTC)]
    outside = [datetime(2026, 4, 30, 19, 20, tzinfo=UTC), datetime(2026, 5, 31, 19, 40, tzinfo=UTC)]
    for person, at in zip(people, inside + outside, strict=False):
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=3, created_at=at))
    session.commit()
    p = indicators.period(date(2026, 5, 1), date(2026, 5, 31))
    since, until = p.edges(org)
    assert (since, until) == (datetime(2026, 4, 30, 19, 30, tzinfo=UTC),
                              datetime(2026, 5, 31, 19, 30, tzinfo=UTC))
    checkins = indicators.indicators(session, org, p)[0]
    assert checkins.total.values["active"] == 2


# Each indicator over May 2026 in Kabul (UTC+4:30), with records just inside
# and just outside the period's local edges: 1 May 00:10 local is 30 April
# 19:40 UTC (in), 30 April 23:50 local is 19:20 UTC (out), 1 June 00:10
# local is 31 May 19:40 UTC (out).
MAY = indicators.period(date(2026, 5, 1), date(2026, 5, 31))
FIRST_IN = datetime(2026, 4, 30, 19, 40, tzinfo=UTC)
LAST_IN = datetime(2026, 5, 31, 19, 20, tzinfo=UTC)
BEFORE = datetime(2026, 4, 30, 19, 20, tzinfo=UTC)
AFTER = datetime(2026, 5, 31, 19, 40, tzinfo=UTC)


def _kabul(session, org, n: int = 7) -> list[User]:
    org.timezone = "Asia/Kabul"
    return _people(session, org, n)


def _indicator(session, org, key: str, by: str | None = None):
    session.commit()
    return next(i for i in indicators.indicators(session, org, MAY, by) if i.key == key)


def _signal(session, org, person, kind):
    from webapp.alerts.models import Signal

    signal = Signal(organisation_id=org.id, returnee_id=person.id, kind=kind)
    session.add(signal)
    session.flush()
    return signal


def test_alerts_by_severity_and_answered_within_their_limit(session, org):
    from webapp.alerts.models import Alert

    people = _kabul(session, org)

    def alert(person, kind, severity, at, acked_after):
        session.add(Alert(organisation_id=org.id, returnee_id=person.id,
                          signal_id=_signal(session, org, person, kind).id, kind=kind,
                          severity=severity, severity_rank=0, created_at=at, ack_due_at=at,
                          acknowledged_at=None if acked_after is None else at + acked_after))

    alert(people[0], "concern.urgent", "urgent", FIRST_IN, timedelta(minutes=29))
    alert(people[1], "concern.urgent", "urgent", LAST_IN, timedelta(minutes=31))  # too late
    alert(people[2], "checkin.low_mood", "serious", FIRST_IN, timedelta(hours=23))
    alert(people[3], "checkin.low_mood", "serious", FIRST_IN, None)  # its day went by
    alert(people[4], "support.new", "normal", LAST_IN, None)  # its 3 days have not
    alert(people[5], "concern.urgent", "urgent", BEFORE, timedelta(minutes=1))
    alert(people[6], "concern.urgent", "urgent", AFTER, timedelta(minutes=1))
    ind = _indicator(session, org, "alerts")
    values = ind.total.values
    assert ind.total.people == 5
    assert (values["urgent"], values["serious"], values["normal"]) == (2, 2, 1)
    # Judged: the 4 answered or past their limit; within it: 2 of them.
    assert (values["within"], values["share_within"]) == (2, 0.5)


def test_requests_by_category_and_how_they_stand(session, org):
    from webapp.support.models import Case

    people = _kabul(session, org)
    for person, category, status, at in (
            (people[0], "work", "resolved", FIRST_IN), (people[1], "work", "declined", LAST_IN),
            (people[2], "housing", "new", FIRST_IN), (people[3], "housing", "on_it", FIRST_IN),
            (people[4], None, "resolved", FIRST_IN), (people[5], "work", "new", BEFORE),
            (people[6], "work", "new", AFTER)):
        session.add(Case(organisation_id=org.id, returnee_id=person.id, type="request",
                         category=category, priority=3, status=status, created_at=at))
    values = _indicator(session, org, "requests").total.values
    assert (values["cat_work"], values["cat_housing"], values["cat_other"]) == (2, 2, 1)
    assert (values["resolved"], values["declined"], values["open"]) == (2, 1, 2)


def test_referrals_to_partners_and_how_they_ended(session, org, make_org):
    from webapp.network.models import Referral
    from webapp.support.models import Case

    partner = make_org()
    people = _kabul(session, org)

    def referral(person, status, at, source=org, to=partner):
        case = Case(organisation_id=source.id, returnee_id=person.id, type="request",
                    category="work", priority=3, status="on_it", created_at=at)
        session.add(case)
        session.flush()
        session.add(Referral(case_id=case.id, returnee_id=person.id,
                             from_organisation_id=source.id, to_organisation_id=to.id,
                             status=status, created_at=at, updated_at=at))

    for person, status in zip(people, ("done", "done", "declined", "accepted", "asked"),
                              strict=False):
        referral(person, status, FIRST_IN if person is people[0] else LAST_IN)
    referral(people[5], "done", BEFORE)
    referral(people[6], "done", AFTER)
    referral(people[5], "done", LAST_IN, source=partner, to=org)  # one the partner made
    ind = _indicator(session, org, "referrals")
    values = ind.total.values
    assert ind.total.people == 5
    assert (values["partner"], values["partner_done"], values["partner_declined"],
            values["partner_accepted"], values["partner_asked"]) == (5, 2, 1, 1, 1)
    assert values["share_done"] == 0.5  # 2 done of the 4 the partner answered


def test_plan_goals_done_by_area_and_money_asked_and_granted(session, org):
    from decimal import Decimal

    from webapp.plan.models import Goal, PlanChange

    people = _kabul(session, org)
    for i, person in enumerate(people):
        at = {5: BEFORE, 6: AFTER}.get(i, FIRST_IN if i % 2 else LAST_IN)
        goal = Goal(organisation_id=org.id, returnee_id=person.id,
                    area="work" if i < 3 else "housing", title="Goal", status="done",
                    budget_asked=Decimal("100.50"), created_at=at,
                    budget_granted=Decimal("80") if i in (0, 1, 5) else None)
        session.add(goal)
        session.flush()
        session.add(PlanChange(organisation_id=org.id, returnee_id=person.id, goal_id=goal.id,
                               actor_id=person.id, field="status", before="under_way",
                               after="done", at=at))
    goals = _indicator(session, org, "goals").total.values
    assert (goals["goals"], goals["area_work"], goals["area_housing"]) == (5, 3, 2)
    money = _indicator(session, org, "money").total.values
    assert (money["asked"], money["asked_sum"], money["granted"], money["granted_sum"]) == (
        5, 502.5, 2, 160.0)


def test_the_change_in_the_score_since_return(session, org):
    people = _kabul(session, org)

    def check(person, composite, at):
        session.add(ReintegrationCheck(
            organisation_id=org.id, returnee_id=person.id, instrument_id="footing-default",
            instrument_version=1, answers={}, economic=composite, social=composite,
            psychosocial=composite, composite=composite, recorded_by_id=person.id,
            created_at=at))

    start = datetime(2026, 2, 1, tzinfo=UTC)
    for person, latest in zip(people[:5], (.6, .7, .5, .4, .8), strict=True):
        check(person, .4, start)  # the first, after return
        check(person, .9, start + timedelta(days=30))  # not the latest of the period
        check(person, latest, FIRST_IN if latest == .6 else LAST_IN)
    check(people[5], .4, start)
    check(people[5], .9, BEFORE)  # nothing in the period
    check(people[6], .4, start)
    check(people[6], .9, AFTER)
    ind = _indicator(session, org, "scores")
    assert ind.total.people == 5
    assert ind.total.values["change"] == 0.2  # (.2 + .3 + .1 + 0 + .4) / 5


def test_follow_ups_done_on_time_by_the_organisations_calendar(session, org):
    from webapp.monitoring.models import FollowUp

    people = _people(session, org, 7)
    org.timezone = "America/Paramaribo"  # UTC-3: the local day ends at 03:00 UTC
    due = date(2026, 5, 10)
    last_local_day = datetime(2026, 5, 25, 2, 30, tzinfo=UTC)  # 24 May 23:30 local
    for i, (person, done_at) in enumerate(zip(people, (
            last_local_day, last_local_day - timedelta(days=3),
            last_local_day + timedelta(hours=1),  # 25 May 00:30 local: a day late
            None, datetime(2026, 7, 1, tzinfo=UTC)), strict=False)):
        session.add(FollowUp(organisation_id=org.id, returnee_id=person.id, month=3,
                             due_on=due if i else date(2026, 5, 31), done_at=done_at))
    session.add(FollowUp(organisation_id=org.id, returnee_id=people[5].id, month=3,
                         due_on=date(2026, 4, 30), done_at=None))  # due before May
    session.add(FollowUp(organisation_id=org.id, returnee_id=people[6].id, month=3,
                         due_on=date(2026, 6, 1), done_at=None))  # due after
    values = _indicator(session, org, "followups").total.values
    assert (values["on_time"], values["late"], values["not_done"]) == (2, 2, 1)
    assert values["share_on_time"] == 0.4


def test_breakdowns_by_time_since_return_and_household_size_suppress_small_cells(
        session, org):
    recent = _people(session, org, 6, household_size=4)
    long_ago = _people(session, org, 5, household_size=1)
    later = _people(session, org, 1, household_size=9)
    for person in recent:
        person.return_date = date(2026, 4, 1)  # 1 month before the end of May
    for person in long_ago:
        person.return_date = date(2025, 5, 31)  # 12 whole months at 31 May
    later[0].return_date = date(2026, 6, 1)
    without = _people(session, org, 0)
    assert without == []
    for person in recent + long_ago + later:
        session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=3,
                            created_at=datetime(2026, 5, 10, tzinfo=UTC)))
    by_return = _indicator(session, org, "checkins", by="since_return")
    cells = {c.key: c for c in by_return.cells}
    assert list(cells) == ["0-3", "3-6", "6-12", "12+", "later", ""]
    assert cells["0-3"].values == {"enrolled": 6, "active": 6, "rate": 1.0}
    # 1 returned after the period: hidden, and so the next smallest (5 people).
    assert cells["later"].suppressed and cells["12+"].suppressed
    assert cells["12+"].people == 5 and cells["12+"].values == {}
    by_household = _indicator(session, org, "checkins", by="household")
    cells = {c.key: c for c in by_household.cells}
    assert list(cells) == ["1", "2-3", "4-6", "7+", ""]
    assert (cells["4-6"].people, cells["1"].people, cells["7+"].people) == (6, 5, 1)
    assert cells["7+"].suppressed and cells["1"].suppressed and not cells["4-6"].suppressed
    assert indicators.group_label("household", "7+", {}) == "7 people or more"


@pytest.mark.parametrize("returned, band", [
    (date(2026, 3, 1), "0-3"), (date(2026, 2, 28), "3-6"), (date(2025, 12, 1), "3-6"),
    (date(2025, 11, 30), "6-12"), (date(2025, 6, 1), "6-12"), (date(2025, 5, 31), "12+"),
    (date(2026, 6, 1), "later"), (date(2026, 5, 31), "0-3"),
])
def test_the_time_since_return_is_counted_in_whole_months(returned, band):
    # At 31 May 2026: 1 March is 2 whole months and 30 days (under 3), 28 February 3
    # months; 1 June 2025 is 11 months and 30 days.
    assert indicators.since_return_band(returned, date(2026, 5, 31)) == band


def test_the_report_offers_the_new_breakdowns_and_referrals(app, session, org, make_staff):
    _people(session, org, 6, household_size=3)
    session.commit()
    web = staff_client(app, make_staff(Role.COORDINATOR))
    page = web.get("/report?start=2026-01-01&end=2026-06-30&by=household").get_data(as_text=True)
    assert 'value="since_return"' in page and 'value="household" selected' in page
    assert "2 to 3 people" in page and "Waiting for the partner" in page
    r = web.post("/report.csv", {"start": "2026-01-01", "end": "2026-06-30", "by": "household"},
                 form_page="/report")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert ["Broken down by", "Household size"] in rows
    assert "Referred to a partner" in rows[rows.index(["Referrals and their outcomes"]) + 2]


@pytest.mark.parametrize("query, message", [
    ("start=2026-05-31&end=2026-05-01", "must not be before its start"),
    ("start=2020-01-01&end=2026-01-01", "at most three years"),
    ("start=yesterday&end=2026-01-01", "Please enter a date like 2026-12-31."),
])
def test_a_bad_period_is_refused_with_a_clear_message(app, make_staff, query, message):
    web = staff_client(app, make_staff(Role.COORDINATOR))
    r = web.get("/report?" + query)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    # A made-up breakdown shows the report without one.
    assert web.get("/report?by=religion").status_code == 200


def test_the_funder_report_as_csv_has_the_period_definitions_and_no_formula(
        app, session, org, make_staff):
    org.name = "=HYPERLINK(\"http://x\")"
    _people(session, org, 6, sex="female")
    session.commit()
    web = staff_client(app, make_staff(Role.COORDINATOR))
    page = web.get("/report?start=2026-01-01&end=2026-06-30&by=sex").get_data(as_text=True)
    assert "Follow-ups done on time" in page and "Figures of fewer than 5 people" in page
    r = web.post("/report.csv", {"start": "2026-01-01", "end": "2026-06-30", "by": "sex"},
                 form_page="/report")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["Funder report", "'=HYPERLINK(\"http://x\")"]
    assert rows[1][:3] == ["Period", "2026-01-01", "2026-06-30"]
    assert ["Definition"] == rows[rows.index(["People active and the check-in rate"]) + 1][:1]
    assert ["Female", "6", "6", "0", "0"] in rows
    assert session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "export.funder_report")) == 1


def test_only_coordinators_get_the_funder_report(app, make_staff):
    for role in (Role.CASEWORKER, Role.FACILITATOR):
        assert staff_client(app, make_staff(role)).get("/report").status_code == 404


# --- Case close with lessons learnt ------------------------------------------------

def test_closing_the_aftercare_asks_for_the_outcome_and_the_lessons(
        app, session, org, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw, name="Mariama")
    staff = staff_client(app, cw)
    url = f"/caseload/{person.id}/close"
    assert f'href="{url}"' in staff.get(f"/caseload/{person.id}").get_data(as_text=True)
    for bad, message in (({"outcome": ""}, "Please choose one from the list."),
                         ({"outcome": "doing_well", "helped": "x" * 1001},
                          "Please use at most 1000 characters.")):
        r = staff.post(url, bad)
        assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert lessons_count(session) == 0
    r = staff.post(url, {"outcome": "doing_well", "helped": "The market stall",
                         "missing": "=cmd| a loan earlier"})
    assert r.status_code == 302
    coordinator = staff_client(app, make_staff(Role.COORDINATOR))
    overview_page = coordinator.get("/overview").get_data(as_text=True)
    assert "The market stall" in overview_page and "Aftercare closed" in overview_page
    r = coordinator.post("/export/lessons.csv", form_page="/export/")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0] == ["pid", "date", "closed", "outcome", "what_helped", "what_was_missing"]
    assert rows[1][0] == export.pseudonym(org, person.id) and "Mariama" not in r.get_data(
        as_text=True)
    assert rows[1][2:] == ["aftercare", "doing_well", "The market stall",
                           "'=cmd| a loan earlier"]
    # Not in the person's own file (notes staff write for each other), and gone
    # with the account.
    with app.test_request_context():
        assert "market stall" not in str(privacy.my_data(session, session.get(User, person.id)))
    person.deletion_requested_at = person.created_at
    session.commit()
    with app.test_request_context():
        privacy.delete_account(session, cw, person)
    session.commit()
    assert lessons_count(session) == 0


def test_closing_a_case_keeps_what_was_learnt(app, session, ctx, make_staff, make_returnee):
    from webapp.support import service as support

    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw)
    with ctx():
        case = support.create_concern(session, person, kind="health", sub_type="sick",
                                      urgency="soon")
    session.commit()
    staff = staff_client(app, cw)
    url = f"/help/cases/{case.id}"
    r = staff.post(url + "/status", {"status": "closed", "outcome": "referred_clinic",
                                     "reason": "", "helped": "The clinic nearby",
                                     "missing": ""}, form_page=url)
    assert r.status_code == 302
    lesson = session.scalars(select(Lesson)).one()
    assert (lesson.scope, lesson.case_id, lesson.outcome, lesson.helped) == (
        "case", case.id, "referred_clinic", "The clinic nearby")
    # Nothing written: nothing stored.
    r = staff.post(url + "/status", {"status": "in_progress", "outcome": "", "reason": ""},
                   form_page=url)
    assert r.status_code == 302
    r = staff.post(url + "/status", {"status": "closed", "outcome": "solved", "reason": ""},
                   form_page=url)
    assert r.status_code == 302 and lessons_count(session) == 1


def lessons_count(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Lesson))


# --- Instruments made in the app ----------------------------------------------------

ALL_YES = {"eco_income": "yes", "eco_needs": "yes", "eco_debt": "no", "soc_family": "yes",
           "soc_help": "yes", "soc_belong": "yes", "psy_safe": "yes", "psy_sleep": "yes",
           "psy_hope": "yes"}


def _version_two() -> dict:
    data = json.loads((instruments.FOLDER / "footing-default-1.json").read_text())
    data["dimensions"][0]["weight"] = "1/2"
    data["dimensions"][1]["weight"] = "1/4"
    data["dimensions"][2]["weight"] = "1/4"
    data["dimensions"][0]["questions"].append(
        {"id": "eco_savings", "text": "Do you save some money?", "weight": "0",
         "options": [{"key": "yes", "label": "Yes", "value": 1},
                     {"key": "no", "label": "No", "value": 0}]})
    return data


def test_a_coordinator_makes_a_new_version_and_old_answers_keep_theirs(
        app, session, org, make_org, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    person, _ = make_returnee(caseworker=cw)
    person.return_date = date.today() - timedelta(days=100)
    session.commit()
    staff = staff_client(app, cw)
    url = f"/caseload/{person.id}/followups"
    answers = {"q_" + k: v for k, v in {**ALL_YES, "psy_safe": "no"}.items()}
    assert staff.post(url, {"month": "1", "contact": "visit", "outcome": "doing_well",
                            "note": "", **answers}).status_code == 302
    first = session.scalars(select(ReintegrationCheck)).one()
    scores = (first.instrument_version, first.composite, dict(first.answers))

    coordinator = staff_client(app, make_staff(Role.COORDINATOR))
    page = coordinator.get("/instruments").get_data(as_text=True)
    assert "Version 1" in page and "footing-default" in page
    # Not valid: weights that do not add up to 1; broken JSON. Nothing is stored.
    bad = _version_two()
    bad["dimensions"][0]["weight"] = "0.9"
    for text, message in ((json.dumps(bad), "the dimension weights add up to"),
                          ("{not json", "This is not valid JSON.")):
        r = coordinator.post("/instruments", {"data_json": text})
        assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(InstrumentVersion)) == 0
    # Weight 0 is refused as well ("above 0").
    r = coordinator.post("/instruments", {"data_json": json.dumps(_version_two())})
    assert r.status_code == 400 and "above 0" in r.get_data(as_text=True)
    good = _version_two()
    good["dimensions"][0]["questions"][-1]["weight"] = "1/4"
    for q in good["dimensions"][0]["questions"][:-1]:
        q["weight"] = "1/4"
    good["version"] = 99  # the app numbers it
    r = coordinator.post("/instruments", {"data_json": json.dumps(good)})
    assert r.status_code == 302
    made = session.scalars(select(InstrumentVersion)).one()
    assert (made.instrument_id, made.version) == ("footing-default", 2)

    # New checks ask the new question and are scored with version 2 ...
    page = staff.get(url).get_data(as_text=True)
    assert "Do you save some money?" in page
    answers["q_eco_savings"] = "no"
    assert staff.post(url, {"month": "3", "contact": "phone", "outcome": "doing_well",
                            "note": "", **answers}).status_code == 302
    second = session.scalars(select(ReintegrationCheck).order_by(
        ReintegrationCheck.id.desc())).first()
    assert second.instrument_version == 2 and second.answers["eco_savings"] == "no"
    assert second.economic == 0.75 and second.composite == round(.5 * .75 + .25 + .25 * (2 / 3), 4)
    # ... and the check made before keeps its version, answers and scores.
    session.expire_all()
    first = session.get(ReintegrationCheck, first.id)
    assert (first.instrument_version, first.composite, dict(first.answers)) == scores
    # Another organisation still uses version 1.
    other = make_org()
    with app.test_request_context():
        assert service.current_instrument(session, other.id).version == 1
