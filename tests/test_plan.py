"""The future plan (issue #3): returnee-owned goals and steps, the caseworker
alongside, history, print view, access."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from webapp.models import AccessLedgerEntry, ConsentRecord, Role
from webapp.plan.models import Goal, GoalComment, PlanChange, Step

from .conftest import Web, activate_returnee, sign_in_staff

HX = {"HX-Request": "true"}


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def returnee_with_caseworker(app, web, make_staff, make_returnee):
    """A signed-in returnee (in `web`), and a second client for their caseworker."""

    def make(consent: bool = False, **kw):
        cw = make_staff(Role.CASEWORKER)
        person, code = make_returnee(caseworker=cw, **kw)
        activate_returnee(web, code, caseworker_may_edit_plan=consent)
        staff = Web(app.test_client())
        sign_in_staff(staff, cw)
        return person, cw, staff

    return make


def add_goal(web, **data) -> int:
    r = web.post("/plan/goals/new", data, form_page="/plan/goals/new?area=" + data.get("area", "work"))
    assert r.status_code == 302, r.get_data(as_text=True)
    return int(re.search(r"/plan/goals/(\d+)$", r.headers["Location"]).group(1))


def add_step(web, goal_id: int, text: str, **extra):
    return web.post(f"/plan/goals/{goal_id}/steps", {"text": text, **extra},
                    form_page=f"/plan/goals/{goal_id}")


def test_smoke(web, returnee_web, session):
    returnee_web()
    assert web.get("/plan/").status_code == 200
    gid = add_goal(web, area="business", starter="business.start")
    assert add_step(web, gid, "Buy tools").status_code == 302
    page = web.get(f"/plan/goals/{gid}").get_data(as_text=True)
    assert "Buy tools" in page and "Start my own business" in page
    assert web.get("/plan/print").status_code == 200
    assert web.get(f"/plan/goals/{gid}/edit").status_code == 200
    assert web.get("/plan/goals/new").status_code == 200
