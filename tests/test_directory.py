"""The directory of local services (issue #22): staff keep it, returnees find
places by kind and town and say whether they helped, CSV goes both ways, and
bad input is refused with a clear error and changes nothing."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from webapp.directory import service
from webapp.directory.models import Place, PlaceFeedback
from webapp.errors import DomainError
from webapp.models import Role, utcnow

from .conftest import activate_returnee

GOOD = {"kind": "pharmacy", "name": "Connaught pharmacy", "town": "Freetown",
        "address": "12 Wilkinson Road", "directions": "Opposite the big mosque, blue door",
        "latitude": "8.4657", "longitude": "-13.2317", "hours": "Mon-Sat 8:00-18:00",
        "phone": "+232 76 555 123", "cost": "fee", "languages": "Krio, English",
        "who": "Everyone", "medicines": "Metformin\nInsulin\nmetformin"}


def _places(session) -> int:
    return session.scalar(select(func.count()).select_from(Place))


@pytest.fixture()
def place(session, make_staff, ctx):
    def make(organisation=None, **kw):
        staff = make_staff(Role.CASEWORKER, organisation=organisation)
        data = {**GOOD, **kw}
        with ctx():
            p = service.add_place(session, staff, service.PlaceData(**data))
        session.commit()
        return p
    return make


def test_staff_add_a_place_and_returnees_find_it_by_kind_and_town(
        web, staff_web, session, place, make_returnee, org):
    staff_web(Role.CASEWORKER)
    r = web.post("/places/new", GOOD)
    assert r.status_code == 302, r.get_data(as_text=True)
    added = session.scalars(select(Place)).one()
    assert added.medicine_list == ["Metformin", "Insulin"]  # the same name once
    assert added.latitude == pytest.approx(8.4657) and added.last_checked_by is not None
    place(kind="clinic", name="Kissy clinic", town="Kissy", phone="")
    place(kind="training", name="Carpentry school", town="Bo")

    web.client.post("/signout", data={"csrf_token": web.token("/home")})
    _user, code = make_returnee()
    activate_returnee(web, code)
    home = web.get("/places/").get_data(as_text=True)
    assert "Pharmacy (1)" in home and "Clinic (1)" in home and "Connaught" not in home
    page = web.get("/places/?kind=pharmacy&kind=clinic").get_data(as_text=True)
    assert "Connaught pharmacy" in page and "Kissy clinic" in page
    assert "Carpentry" not in page
    assert 'href="tel:+23276555123"' in page
    by_town = web.get("/places/?town=Bo").get_data(as_text=True)
    assert "Carpentry school" in by_town and "Connaught" not in by_town
    shown = web.get(f"/places/{added.id}")
    text = shown.get_data(as_text=True)
    assert "Opposite the big mosque" in text and "Insulin" in text
    # Not personal: kept offline for anyone on the phone, never in a shared cache.
    assert shown.headers["X-Public-Copy"] == "1" and "X-Offline-Copy" not in shown.headers
    assert shown.headers["Cache-Control"] == "no-store"
    # Nor does it name whose reports wait on the phone (the queue's owner).
    assert 'data-owner="' not in text


def test_a_staff_view_of_a_place_is_not_kept_for_offline(web, staff_web, place):
    p = place()
    staff_web(Role.CASEWORKER)
    assert "X-Public-Copy" not in web.get(f"/places/{p.id}").headers


@pytest.mark.parametrize(("field", "value", "message"), [
    ("kind", "", "Please choose what kind of place it is."),
    ("phone", "+232 CALL ME", "Please write a phone number"),
    ("latitude", "91", "Please write a number from -90 to 90."),
    ("longitude", "-180.5", "Please write a number from -180 to 180."),
    ("latitude", "nan", "Please write a number from -90 to 90."),
    ("name", "   ", "Please fill this in."),
])
def test_bad_entries_get_a_clear_error_and_nothing_is_stored(web, staff_web, session, field,
                                                             value, message):
    staff_web(Role.CASEWORKER)
    r = web.post("/places/new", {**GOOD, field: value})
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    assert _places(session) == 0


def test_one_coordinate_without_the_other_is_refused(ctx, session, make_staff):
    staff = make_staff(Role.CASEWORKER)
    with ctx(), pytest.raises(DomainError) as err:
        service.add_place(session, staff, service.PlaceData(**{**GOOD, "longitude": ""}))
    assert err.value.field == "longitude"


def test_an_edit_counts_as_a_check_and_a_retired_place_is_gone_for_returnees(
        web, staff_web, session, place, make_returnee):
    old = place()
    old.last_checked_at = utcnow() - timedelta(days=400)
    session.commit()
    staff = staff_web(Role.COORDINATOR)
    assert "Connaught pharmacy" in web.get("/places/check-due").get_data(as_text=True)
    r = web.post(f"/places/{old.id}/checked", {"next": "due"}, form_page="/places/check-due")
    assert r.status_code == 302 and r.headers["Location"].endswith("/places/check-due")
    session.refresh(old)
    assert old.last_checked_by_id == staff.id and old.last_checked_at > utcnow() - timedelta(1)
    assert "Connaught pharmacy" not in web.get("/places/check-due").get_data(as_text=True)
    # The coordinator's limit: 7 days, so a place checked 10 days ago is due.
    old.last_checked_at = utcnow() - timedelta(days=10)
    session.commit()
    assert "Connaught" not in web.get("/places/check-due").get_data(as_text=True)
    r = web.post("/places/check-due/days", {"days": "abc"}, form_page="/places/check-due")
    assert r.status_code == 400 and "Please write a number from 7 to 730" in r.get_data(
        as_text=True)
    assert web.post("/places/check-due/days", {"days": "7"},
                    form_page="/places/check-due").status_code == 302
    assert "Connaught" in web.get("/places/check-due").get_data(as_text=True)

    r = web.post(f"/places/{old.id}/retire", form_page=f"/places/{old.id}")
    assert r.status_code == 302
    web.client.post("/signout", data={"csrf_token": web.token("/home")})
    _user, code = make_returnee()
    activate_returnee(web, code)
    assert web.get(f"/places/{old.id}").status_code == 404
    assert "Connaught" not in web.get("/places/?kind=pharmacy").get_data(as_text=True)


def test_a_returnee_says_it_helped_or_they_did_not_have_it(web, returnee_web, session, place):
    p = place()
    p.last_checked_at = utcnow() - timedelta(days=300)
    session.commit()
    me = returnee_web()
    r = web.post(f"/places/{p.id}/feedback", {"outcome": "not_had"}, form_page=f"/places/{p.id}")
    assert r.status_code == 302
    session.refresh(p)
    assert p.last_check == "not_had" and p.last_checked_at > utcnow() - timedelta(1)
    assert p.last_checked_by_id is None  # no name: other people read "last checked"
    page = web.get(f"/places/{p.id}").get_data(as_text=True)
    assert "someone who went there" in page and "They did not have it" in page
    assert web.post(f"/places/{p.id}/feedback", {"outcome": "great"},
                    form_page=f"/places/{p.id}").status_code == 400
    rows = session.scalars(select(PlaceFeedback)).all()
    assert [(f.returnee_id, f.outcome) for f in rows] == [(me.id, "not_had")]


def test_a_place_of_another_organisation_is_not_found(web, returnee_web, place, make_org):
    elsewhere = place(organisation=make_org())
    returnee_web()
    assert web.get(f"/places/{elsewhere.id}").status_code == 404
    assert "Connaught" not in web.get("/places/?kind=pharmacy").get_data(as_text=True)


# --- CSV --------------------------------------------------------------------------

HEADER = ",".join(service.COLUMNS) + "\n"


def _upload(web, text: str, mode: str):
    return web.post("/places/import", {"mode": mode, "file": (io.BytesIO(text.encode()),
                                                              "places.csv")},
                    form_page="/places/import", content_type="multipart/form-data")


def test_csv_round_trip_with_formulas_neutralised(web, staff_web, session, place):
    place(phone="+232 76 555 123", longitude="-13.2317")
    staff_web(Role.COORDINATOR)
    csv_text = web.get("/places/export.csv").get_data(as_text=True)
    # A spreadsheet would run a cell that starts with + or -: each gets a quote.
    assert "'+232 76 555 123" in csv_text and "'-13.2317" in csv_text
    # Imported again: the same place, changed (not a second one), the quotes gone.
    r = _upload(web, csv_text, "import")
    assert r.status_code == 302, r.get_data(as_text=True)
    stored = session.scalars(select(Place)).one()
    assert stored.phone == "+232 76 555 123" and stored.longitude == pytest.approx(-13.2317)
    assert stored.medicine_list == ["Metformin", "Insulin"]


def test_a_formula_in_an_imported_file_is_neutralised(web, staff_web, session):
    staff_web(Role.COORDINATOR)
    text = HEADER + "clinic,=cmd|' /C calc'!A0,@SUM(1+1),,,,,,,free,,,,\n"
    assert _upload(web, text, "import").status_code == 302
    stored = session.scalars(select(Place)).one()
    assert stored.name == "cmd|' /C calc'!A0" and stored.town == "SUM(1+1)"
    assert not service._safe_cell(stored.name).startswith(service.FORMULA_START)


def test_a_dry_run_stores_nothing_and_one_bad_line_stops_the_whole_import(
        web, staff_web, session):
    staff_web(Role.COORDINATOR)
    good = HEADER + "pharmacy,A,Bo,,,,,,,free,,,,\nclinic,B,Bo,,,,,,,fee,,,,\n"
    r = _upload(web, good, "check")
    assert r.status_code == 200 and "2 new, 0 changed" in r.get_data(as_text=True)
    assert _places(session) == 0
    bad = good + ",No kind,Bo,,,,,,,free,,,,\nclinic,C,Bo,,,95,10,,+232 abc,free,,,,\n"
    r = _upload(web, bad, "import")
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Nothing was imported" in page
    assert "Line 4, kind" in page and "Line 5, latitude" in page
    assert _places(session) == 0
    r = _upload(web, "name,town\nA,Bo\n", "import")
    assert r.status_code == 400 and "The first line must name the columns" in r.get_data(
        as_text=True)
    r = web.post("/places/import", {"mode": "import", "file": (io.BytesIO(b"\xff\xfe\x00x"),
                                                                "x.csv")},
                 form_page="/places/import", content_type="multipart/form-data")
    assert r.status_code == 400 and "not a CSV file" in r.get_data(as_text=True)
    assert _places(session) == 0


def test_each_bad_line_of_a_csv_is_named_with_its_column_and_nothing_is_stored(
        web, staff_web, session):
    """The issue's bad input, in a shared file: no kind, letters in the phone
    number, coordinates out of range (either one), a formula as the phone."""
    staff_web(Role.COORDINATOR)
    lines = ["pharmacy,Fine,Bo,,,,,,,free,,,,",
             ",No kind,Bo,,,,,,,free,,,,",
             "clinic,Letters,Bo,,,,,,+232 CALL ME,free,,,,",
             "clinic,Too far north,Bo,,,91,10,,,free,,,,",
             "clinic,Too far west,Bo,,,8,-181,,,free,,,,",
             "clinic,Formula phone,Bo,,,,,,=1+1,free,,,,"]
    r = _upload(web, HEADER + "\n".join(lines) + "\n", "check")
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    for line, column in ((3, "kind"), (4, "phone"), (5, "latitude"), (6, "longitude"),
                         (7, "phone")):
        assert f"Line {line}, {column}" in page, (line, column)
    assert "Line 2," not in page
    assert "Please choose what kind of place it is." in page
    assert "Please write a number from -180 to 180." in page
    assert _places(session) == 0


def test_a_caseworker_may_not_import(ctx, session, make_staff):
    caseworker = make_staff(Role.CASEWORKER)
    with ctx(), pytest.raises(DomainError):
        service.import_csv(session, caseworker, HEADER.encode(), dry_run=True)


def test_concerns_plans_and_medicine_gaps_lead_to_the_directory(
        web, returnee_web, session, place, ctx):
    place(town="Bo", medicines="Metformin")
    place(name="Far pharmacy", town="Kenema", medicines="Aspirin")
    me = returnee_web()
    report = web.get("/help/report").get_data(as_text=True)
    assert "/places/?kind=pharmacy&amp;kind=clinic" in report
    assert 'href="/places/"' in web.get("/help/").get_data(as_text=True)
    goal = web.post("/plan/goals/new", {"area": "business", "starter": "business.loan"})
    assert goal.status_code == 302, goal.get_data(as_text=True)[:2000]
    page = web.get(goal.headers["Location"]).get_data(as_text=True)
    assert "/places/?kind=micro_finance&amp;kind=training" in page
    found = web.get("/places/?kind=pharmacy&kind=clinic&medicine=metformin")
    text = found.get_data(as_text=True)
    assert "Connaught pharmacy" in text and "Far pharmacy" not in text
    assert me.id  # signed in as a returnee all along


# --- Emergency numbers on the help pages (issue #22) ----------------------------

def _numbers_places(place, make_org):
    police = place(kind="emergency", name="Police Kissy", town="Freetown", phone="+232 99 999",
                   latitude="", longitude="")
    shelter = place(kind="womens_shelter", name="Rainbo Centre", town="Freetown",
                    phone="+232 76 100 200", latitude="", longitude="")
    place(kind="clinic", name="Kissy clinic", town="Freetown", latitude="", longitude="")
    place(kind="emergency", name="Fire station without a phone", town="Bo", phone="",
          latitude="", longitude="")
    place(organisation=make_org(), kind="emergency", name="Police of another org", town="Bo",
          latitude="", longitude="")
    return police, shelter


def _numbers_in(page: str) -> list[str]:
    return [name for name in ("Police Kissy", "Rainbo Centre", "Kissy clinic",
                              "Fire station", "another org") if name in page]


def test_help_now_lists_the_directorys_emergency_numbers_police_first(
        web, returnee_web, session, place, make_org, org):
    police, shelter = _numbers_places(place, make_org)
    returnee_web(name="Secret Name")
    page = web.get("/help/now").get_data(as_text=True)
    assert _numbers_in(page) == ["Police Kissy", "Rainbo Centre"]
    assert page.index("Police Kissy") < page.index("Rainbo Centre")
    assert 'href="tel:+23299999"' in page and 'href="tel:+23276100200"' in page
    assert f'href="tel:{org.emergency_phone.replace(" ", "")}"' in page  # the organisation's too
    shelter.retired_at = utcnow()  # closed: gone from the list
    session.commit()
    assert _numbers_in(web.get("/help/now").get_data(as_text=True)) == ["Police Kissy"]


def test_the_page_without_pin_lists_them_for_a_bound_phone_only(
        app, web, place, make_org, make_returnee):
    _numbers_places(place, make_org)
    _user, code = make_returnee(name="Secret Name")
    activate_returnee(web, code)
    web.post("/signout", form_page="/home")
    page = web.get("/help/now/phone").get_data(as_text=True)
    assert _numbers_in(page) == ["Police Kissy", "Rainbo Centre"] and "Secret Name" not in page
    # A phone that is not bound (or whose binding is forged) learns no organisation.
    stranger = app.test_client()
    stranger.set_cookie("footing_device", "999999.whatever")
    assert _numbers_in(stranger.get("/help/now/phone").get_data(as_text=True)) == []
    assert _numbers_in(app.test_client().get("/help/now/phone").get_data(as_text=True)) == []


def test_the_offline_page_kept_for_a_bound_phone_lists_them_and_names_no_one(
        web, returnee_web, place, make_org, org):
    _numbers_places(place, make_org)
    returnee_web(name="Secret Name")
    # As precached (no cookies) or opened: the configured number only, cacheable.
    plain = web.client.application.test_client().get("/offline")
    assert _numbers_in(plain.get_data(as_text=True)) == []
    assert 'href="tel:112"' in plain.get_data(as_text=True)
    assert plain.headers["Cache-Control"] == "public, max-age=300"
    assert "X-Public-Copy" not in plain.headers
    # Kept by the service worker with the phone's cookies: the organisation's
    # number and the directory's, public, as for someone signed out.
    kept = web.get("/offline", headers={"X-Footing-Keep": "public"})
    page = kept.get_data(as_text=True)
    assert kept.headers["X-Public-Copy"] == "1" and kept.headers["Cache-Control"] == "no-store"
    assert "Cookie" in kept.headers["Vary"]
    assert _numbers_in(page) == ["Police Kissy", "Rainbo Centre"]
    assert f'href="tel:{org.emergency_phone.replace(" ", "")}"' in page
    assert "Secret Name" not in page and "data-owner" not in page and "csrf" not in page.lower()
    assert web.get("/home").status_code == 200  # still signed in


@pytest.mark.parametrize("hour", [0, 11, 13, 23])
def test_a_place_checked_today_is_read_back_at_any_hour(monkeypatch, hour):
    """The export writes the day it was checked; read back in the early hours
    (UTC) that day is not "in the future" (CI met it at 00:13 UTC)."""
    from webapp.directory import service

    now = datetime(2026, 12, 7, hour, 13, tzinfo=UTC)
    monkeypatch.setattr(service, "utcnow", lambda: now)
    assert service._checked_on("2026-12-07") <= now
    if hour >= 10:  # already the 8th somewhere east (UTC+14), typed there
        assert service._checked_on("2026-12-08") <= now
    with pytest.raises(DomainError):
        service._checked_on("2026-12-10")
