"""The safety plan made together (issue #22): the person or their caseworker
writes it, every save is a version, the person reads it offline as a personal
copy, and "I need to use it" alerts the caseworker."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from webapp.alerts.models import Alert
from webapp.directory import service as directory
from webapp.models import Role
from webapp.safety.models import SafetyPlanUse, SafetyPlanVersion

from .conftest import Web, activate_returnee, sign_in_staff

PLAN = {"warning_signs": "My uncle asks about the money", "contacts": "Fatu 076 111 222",
        "safe_places": "The church on King Street", "what_to_do": "Leave and call Fatu"}


def test_the_person_and_the_caseworker_write_it_together_as_versions(
        app, web, session, make_staff, make_returnee, ctx):
    cw = make_staff(Role.CASEWORKER)
    with ctx():
        police = directory.add_place(session, cw, directory.PlaceData(
            kind="emergency", name="Police Kissy", town="Freetown", phone="+232 99 999"))
        directory.add_place(session, cw, directory.PlaceData(
            kind="training", name="Carpentry school", town="Bo", phone="+232 76 000 111"))
    session.commit()
    me, code = make_returnee(caseworker=cw)
    activate_returnee(web, code)
    assert "There is no safety plan yet" in web.get("/safety/").get_data(as_text=True)
    form = web.get("/safety/edit").get_data(as_text=True)
    assert "Police Kissy" in form and "Carpentry" not in form  # emergency kinds only
    r = web.post("/safety/edit", {**PLAN, "places": str(police.id)})
    assert r.status_code == 302
    page = web.get("/safety/")
    text = page.get_data(as_text=True)
    assert "The church on King Street" in text and 'href="tel:+23299999"' in text
    assert "Version 1" in text
    # A personal copy, readable offline (and behind the PIN with issue #19).
    assert page.headers["X-Offline-Copy"] == "1" and "X-Public-Copy" not in page.headers
    # Saving it unchanged makes no version; nothing written is refused.
    assert web.post("/safety/edit", {**PLAN, "places": str(police.id)}).status_code == 302
    r = web.post("/safety/edit", {"warning_signs": "  "})
    assert r.status_code == 400 and "Please write at least one thing." in r.get_data(as_text=True)
    r = web.post("/safety/edit", {**PLAN, "places": "999999"})
    assert r.status_code == 400

    staff = Web(app.test_client())
    sign_in_staff(staff, cw)
    assert "Fatu 076 111 222" in staff.get(f"/safety/of/{me.id}").get_data(as_text=True)
    r = staff.post(f"/safety/of/{me.id}/edit", {**PLAN, "what_to_do": "Go to the church"})
    assert r.status_code == 302
    versions = session.scalars(select(SafetyPlanVersion).order_by(SafetyPlanVersion.version)).all()
    assert [(v.version, v.written_by_id) for v in versions] == [(1, me.id), (2, cw.id)]
    assert versions[1].place_ids == []
    text = web.get("/safety/").get_data(as_text=True)
    assert "Go to the church" in text and "Earlier versions" in text and "Leave and call" in text


def test_i_need_to_use_it_alerts_the_caseworker_once_however_often_it_is_sent(
        web, session, make_staff, make_returnee):
    cw = make_staff(Role.CASEWORKER)
    me, code = make_returnee(caseworker=cw)
    activate_returnee(web, code)
    page = web.get("/safety/").get_data(as_text=True)
    # The offline queue takes it like a report: it carries the device's UUID.
    assert 'name="client_uuid"' in page and "data-urgent" in page
    tap = str(uuid.uuid4())
    r = web.post("/safety/use", {"client_uuid": tap}, form_page="/safety/")
    assert r.status_code == 302
    assert "Your caseworker was told" in web.get("/safety/").get_data(as_text=True)
    # Sent again (the queue replaying it, a double tap): no second alert.
    again = web.post("/safety/use", {"client_uuid": tap}, form_page="/safety/",
                     headers={"X-Footing-Replay": "1"})
    assert again.status_code == 204
    use = session.scalars(select(SafetyPlanUse)).one()
    assert use.returnee_id == me.id
    alert = session.scalars(select(Alert).where(Alert.returnee_id == me.id)).one()
    assert alert.kind == "safety_plan.used" and alert.severity == "urgent"
    # Another tap is another alert.
    assert web.post("/safety/use", {"client_uuid": str(uuid.uuid4())},
                    form_page="/safety/").status_code == 302
    assert len(session.scalars(select(Alert).where(Alert.returnee_id == me.id)).all()) == 2


def test_i_need_to_use_it_without_its_uuid_is_refused_and_stores_nothing(
        web, session, make_returnee):
    _me, code = make_returnee()
    activate_returnee(web, code)
    r = web.post("/safety/use", {"client_uuid": "not-a-uuid"}, form_page="/safety/")
    assert r.status_code == 302  # back to the plan, with the error
    assert "This form is damaged" in web.get("/safety/").get_data(as_text=True)
    assert session.scalars(select(SafetyPlanUse)).all() == []
    assert session.scalars(select(Alert)).all() == []


def test_another_caseworker_cannot_read_or_write_the_plan(app, web, make_staff, make_returnee):
    me, _code = make_returnee()
    other = make_staff(Role.CASEWORKER)
    sign_in_staff(web, other)
    assert web.get(f"/safety/of/{me.id}").status_code == 404
    assert web.client.post(f"/safety/of/{me.id}/edit", data=PLAN).status_code in (400, 404)
