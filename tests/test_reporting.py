"""Monitoring a partner reports to its funder (issue #26): the details for
reports (optional, consented), indicators over a period in the
organisation's time zone with small cells suppressed, the funder report, case
close with lessons learnt, and instruments made in the app."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from webapp.models import Role, User
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
