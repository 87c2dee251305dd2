"""The risk check before and after return (issue #22): data like the
instruments, recorded by the caseworker with the person, shown over time next
to the reintegration scores."""
from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from sqlalchemy import select

from webapp.models import Role
from webapp.monitoring import export, service as monitoring
from webapp.risk import instrument as ri
from webapp.risk.models import RiskCheck
from webapp.risk.texts import TEXTS

from .conftest import Web, activate_returnee, sign_in_staff

LOW = {"saf_threat": "no", "saf_place": "yes", "hea_ill": "no", "hea_doctor": "yes",
       "med_need": "no", "med_get": "yes", "hou_first": "yes", "hou_longer": "yes",
       "inc_food": "yes", "inc_debt": "no", "fam_welcome": "yes", "fam_help": "yes"}


def _shipped() -> dict:
    return json.loads((ri.FOLDER / "footing-risk-1.json").read_text())


def test_an_areas_risk_is_its_highest_answer():
    inst = ri.current()
    assert inst.levels(LOW) == dict.fromkeys(ri.AREAS, 0)
    levels = inst.levels({**LOW, "med_need": "yes", "med_get": "no", "inc_food": "partly"})
    assert levels["medicine"] == 2 and levels["income"] == 1 and levels["safety"] == 0
    with pytest.raises(KeyError, match="fam_help"):
        inst.levels({k: v for k, v in LOW.items() if k != "fam_help"})


@pytest.mark.parametrize(("change", "message"), [
    (lambda d: d["areas"].pop(), "the areas must be each of"),
    (lambda d: d["areas"][0]["questions"][0]["options"][0].update(risk=3), "risk of 0, 1 or 2"),
    (lambda d: d["areas"][1]["questions"][0].update(id="saf_threat"),
     "duplicate question id 'saf_threat'"),
    (lambda d: d.update(version=0), "version must be a whole number"),
])
def test_a_broken_risk_instrument_is_refused_with_a_clear_message(change, message):
    data = copy.deepcopy(_shipped())
    change(data)
    with pytest.raises(ri.InstrumentError, match=message):
        ri.parse(data, "broken.json")


def test_every_text_of_the_shipped_instrument_is_marked_for_translation():
    listed = {t._args[0] for t in TEXTS}
    inst = ri.current()
    wanted = {inst.title, inst.about} | {q.text for q in inst.questions} | {
        o.label for q in inst.questions for o in q.options}
    assert wanted <= listed


def test_the_caseworker_records_it_and_sees_it_next_to_the_scores(
        web, session, make_staff, make_returnee, ctx):
    cw = make_staff(Role.CASEWORKER)
    person, _code = make_returnee(caseworker=cw)
    with ctx():
        monitoring.record_check(session, cw, person, {
            "eco_income": "yes", "eco_needs": "yes", "eco_debt": "no", "soc_family": "yes",
            "soc_help": "yes", "soc_belong": "yes", "psy_safe": "yes", "psy_sleep": "yes",
            "psy_hope": "yes"})
    session.commit()
    sign_in_staff(web, cw)
    url = f"/risk/of/{person.id}"
    r = web.post(url, {"phase": "before", **{k: v for k, v in LOW.items() if k != "hea_ill"}})
    assert r.status_code == 400 and session.scalars(select(RiskCheck)).first() is None
    r = web.post(url, {"phase": "after", **LOW, "saf_threat": "yes"})
    assert r.status_code == 302
    check = session.scalars(select(RiskCheck)).one()
    assert (check.phase, check.levels["safety"], check.instrument_version) == ("after", 2, 1)
    page = web.get(url).get_data(as_text=True)
    assert "High risk" in page and "After the return" in page and "1.00" in page


def test_each_risk_check_is_in_the_timeline_the_export_and_the_persons_own_data(
        app, web, session, org, make_staff, make_returnee, ctx):
    cw = make_staff(Role.CASEWORKER)
    coordinator = make_staff(Role.COORDINATOR)
    person, code = make_returnee(caseworker=cw)
    sign_in_staff(web, cw)
    assert web.post(f"/risk/of/{person.id}", {"phase": "before", **LOW, "saf_threat": "yes",
                                              "hou_longer": "partly"}).status_code == 302
    # The caseworker's timeline of the person: the check, its phase, the raised areas.
    timeline = web.get(f"/caseload/{person.id}").get_data(as_text=True)
    assert "Before the return" in timeline
    assert "Safety: High risk" in timeline and "Housing: Some risk" in timeline
    assert "Income:" not in timeline  # a low area is not listed
    only = web.get(f"/caseload/{person.id}?kind=risk").get_data(as_text=True)
    assert "Safety: High risk" in only and f'href="/risk/of/{person.id}"' in only

    # The coordinator's export: pseudonymous, levels per area and answer keys.
    coord = Web(app.test_client())
    sign_in_staff(coord, coordinator)
    r = coord.post("/export/risk_checks.csv", form_page="/export/")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 1
    row = rows[0]
    assert row["pid"] == export.pseudonym(org, person.id) and row["phase"] == "before"
    assert (row["safety"], row["housing"], row["income"]) == ("2", "1", "0")
    assert "saf_threat=yes" in row["answers"] and "hou_longer=partly" in row["answers"]

    # The person's own download holds their answers and the levels (it is
    # their information); the app shows them no risk page.
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    data = json.loads(phone.get("/me/data.json").get_data(as_text=True))
    (mine,) = data["risk_checks"]
    assert mine["answers"]["saf_threat"] == "yes" and mine["levels"]["safety"] == 2
    assert phone.get(f"/risk/of/{person.id}").status_code == 404
