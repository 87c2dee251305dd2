"""The future plan (issue #3): returnee-owned goals and steps, the caseworker
alongside, history, print view, access across roles and organisations."""
from __future__ import annotations

import gzip
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from webapp.models import Role
from webapp.plan.models import Goal, GoalComment, PlanChange, Step
from webapp.privacy.models import AccessLedgerEntry, ConsentRecord

from .conftest import Web, activate_returnee, sign_in_staff, vary_names

HX = {"HX-Request": "true"}
PLAN_TABLES = (Goal, Step, GoalComment, PlanChange)


def counts(session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(m)) for m in PLAN_TABLES)


def text_of(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture()
def pair(app, web, make_staff, make_returnee):
    """A signed-in returnee (in `web`) and their caseworker signed in on a
    second client: pair(consent=...) -> (returnee, caseworker, staff_client)."""

    def make(consent: bool = False, **kw):
        cw = make_staff(Role.CASEWORKER)
        person, code = make_returnee(caseworker=cw, **kw)
        activate_returnee(web, code, caseworker_may_edit_plan=consent)
        staff = Web(app.test_client())
        sign_in_staff(staff, cw)
        return person, cw, staff

    return make


def add_goal(web, **data) -> int:
    r = web.post("/plan/goals/new", data, form_page="/plan/goals/new?area=work")
    assert r.status_code == 302, text_of(r)
    return int(re.search(r"/plan/goals/(\d+)$", r.headers["Location"]).group(1))


def add_step(web, goal_id: int, text: str, *, expect: int = 302, **extra):
    """Add a step to a goal; asserts the answer was `expect` (added, and sent
    back to the goal's steps, by default)."""
    r = web.post(f"/plan/goals/{goal_id}/steps", {"text": text, **extra},
                 form_page=f"/plan/goals/{goal_id}")
    return _answered(r, expect, f"/plan/goals/{goal_id}#steps")


def tick(web, step_id: int, goal_id: int, done: str = "1", *, expect: int = 302, **kw):
    """Tick a step (or untick it, done="0"); asserts the answer was `expect`."""
    r = web.post(f"/plan/steps/{step_id}/tick", {"done": done},
                 form_page=f"/plan/goals/{goal_id}", **kw)
    return _answered(r, expect, f"/plan/goals/{goal_id}#steps")


def _answered(r, expect: int, location: str):
    assert r.status_code == expect, (r.status_code, text_of(r)[:500])
    if expect == 302:
        assert r.headers["Location"].endswith(location), r.headers["Location"]
    return r


def step_ids(session, goal_id: int) -> list[int]:
    return list(session.scalars(select(Step.id).where(Step.goal_id == goal_id).order_by(Step.id)))


def build_plan(web, session) -> tuple[int, int]:
    """Two goals and three steps, one ticked."""
    business = add_goal(web, area="business", starter="business.start")
    own = add_goal(web, area="housing", title="A room near the market")
    for text in ("Ask my uncle for a loan", "Buy a sewing machine"):
        assert add_step(web, business, text).status_code == 302
    assert add_step(web, own, "Visit three rooms",
                    target_date=(date.today() + timedelta(days=30)).isoformat()).status_code == 302
    tick(web, step_ids(session, business)[0], business)
    return business, own


# --- The returnee builds a plan ---------------------------------------------------------

def test_returnee_builds_a_plan_and_sees_progress_per_area(web, returnee_web, session):
    me = returnee_web()
    page = text_of(web.get("/plan/"))
    assert "There are no goals yet." in page
    business, own = build_plan(web, session)
    goals = {g.id: g for g in session.scalars(select(Goal).where(Goal.returnee_id == me.id))}
    # A starter is kept by its key (shown in each viewer's language); own words as written.
    assert (goals[business].starter_key, goals[business].title) == ("business.start", None)
    assert (goals[own].starter_key, goals[own].title) == (None, "A room near the market")
    page = text_of(web.get("/plan/"))
    assert "My own business" in page and "Start my own business" in page
    assert "1 of 2 steps done" in page and "0 of 1 step done" in page
    assert "A room near the market" in page
    goal_page = text_of(web.get(f"/plan/goals/{business}"))
    assert 'aria-pressed="true"' in goal_page and "Buy a sewing machine" in goal_page


def test_goal_details_budget_and_computed_totals(web, returnee_web, session):
    returnee_web()
    gid = add_goal(web, area="business", starter="business.start")
    r = web.post(f"/plan/goals/{gid}/edit", {
        "title": "Start my own business", "why": "To feed my family",
        "target_date": (date.today() + timedelta(days=200)).isoformat(), "support_needed": "y",
        "budget_needed": "1500", "budget_own": "200,50", "budget_asked": "1000",
        "budget_granted": "800"})
    assert r.status_code == 302, text_of(r)
    goal = session.get(Goal, gid)
    session.refresh(goal)
    assert goal.starter_key == "business.start"  # same words: still the starter
    assert str(goal.budget_own) == "200.50" and goal.support_needed
    page = text_of(web.get(f"/plan/goals/{gid}"))
    # The organisation's currency (USD in the test organisation); the gap is computed.
    assert "$1,500.00" in page and "$499.50" in page and "To feed my family" in page
    assert "Support needed" in page
    # Rewording a starter makes it the person's own words.
    web.post(f"/plan/goals/{gid}/edit", {"title": "My tailor shop", "why": "To feed my family"})
    session.refresh(goal)
    assert (goal.starter_key, goal.title) == (None, "My tailor shop")
    # The budget only belongs to business goals: others have no budget fields.
    other = add_goal(web, area="health", starter="health.doctor")
    assert "budget_needed" not in text_of(web.get(f"/plan/goals/{other}/edit"))


def test_every_change_is_kept_and_shown_as_a_readable_history(web, returnee_web, session):
    me = returnee_web()
    gid = add_goal(web, area="work", title="Work at the port")
    web.post(f"/plan/goals/{gid}/status", {"status": "under_way"}, form_page=f"/plan/goals/{gid}")
    add_step(web, gid, "Talk to the foreman")
    sid = step_ids(session, gid)[0]
    tick(web, sid, gid)
    tick(web, sid, gid)  # a repeated tap records nothing new
    rows = session.scalars(select(PlanChange).where(PlanChange.returnee_id == me.id)
                           .order_by(PlanChange.id)).all()
    assert [(c.field, c.before, c.after) for c in rows] == [
        ("goal", None, "Work at the port"), ("status", "not_started", "under_way"),
        ("step", None, "Talk to the foreman"), ("step_done", "0", "1")]
    assert all(c.actor_id == me.id and c.at is not None for c in rows)
    page = text_of(web.get("/plan/"))
    assert "Changes to this plan" in page
    assert "Status: Not started → Under way" in page
    assert "Talk to the foreman</bdi>:\n      Step done: no → yes" in page


def test_htmx_gets_the_partial_and_plain_forms_get_the_page(web, returnee_web, session):
    returnee_web()
    gid = add_goal(web, area="work", title="Work at the port")
    token = web.token(f"/plan/goals/{gid}")
    r = web.client.post(f"/plan/goals/{gid}/status", data={"status": "done", "csrf_token": token},
                        headers=HX)
    assert r.status_code == 200
    part = text_of(r)
    assert part.startswith('<section id="goal-status"') and "<html" not in part
    assert re.search(r'value="done" aria-pressed="true"', part)
    r = web.client.post(f"/plan/goals/{gid}/steps", data={"text": "Call Musa", "csrf_token": token},
                        headers=HX)
    assert r.status_code == 200 and 'id="goal-steps"' in text_of(r) and "Call Musa" in text_of(r)
    assert 'value="Call Musa"' not in text_of(r)  # the add form comes back empty
    sid = step_ids(session, gid)[0]
    r = web.client.post(f"/plan/steps/{sid}/tick", data={"done": "1", "csrf_token": token},
                        headers=HX)
    assert r.status_code == 200 and "1 of 1 step done" in text_of(r) and "<html" not in text_of(r)
    # Without JavaScript the same routes answer with the page.
    r = tick(web, sid, gid, done="0")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/plan/goals/{gid}#steps")
    assert session.get(Step, sid).done_at is None
    assert "HX-Request" in vary_names(r)


def test_the_plan_page_stays_readable_offline(web, returnee_web, session, pair):
    returnee_web()
    r = web.get("/plan/")
    assert r.headers.get("X-Offline-Copy") == "1" and r.headers["Cache-Control"] == "no-store"
    gid = add_goal(web, area="work", title="Work at the port")
    assert web.get(f"/plan/goals/{gid}").headers.get("X-Offline-Copy") == "1"


def test_print_view_in_the_returnees_language(web, returnee_web, session):
    returnee_web(locale="fa_AF")
    gid = add_goal(web, area="business", starter="business.start")
    add_step(web, gid, "Buy cloth")
    web.post(f"/plan/goals/{gid}/edit", {"title": "My tailor shop", "budget_needed": "900"})
    r = web.get("/plan/print")
    page = text_of(r)
    assert r.status_code == 200 and 'lang="fa-AF"' in page and 'dir="rtl"' in page
    assert "My tailor shop" in page and "☐ <bdi>Buy cloth</bdi>" in page
    # Dari writes its amounts in Persian digits (issue #23).
    assert "$۹۰۰٫۰۰" in page.replace("\u00a0", "").replace("\u200e", "")
    # The print rules are app.css's @media print.
    assert re.search(r"/static/css/app\.[0-9a-f]{12}\.css", page)


# --- Bad input -----------------------------------------------------------------------------

LONG = "x" * 10_000


@pytest.mark.parametrize("data,message", [
    ({"area": "work", "title": ""}, "Please fill this in."),
    ({"area": "work", "title": "   "}, "Please fill this in."),
    ({"area": "work", "title": LONG}, "Please use at most 200 characters."),
    ({"area": "moon", "title": "Fly"}, "Please choose one from the list."),
    ({"area": "work", "starter": "work.nope"}, "Please choose one from the list."),
])
def test_bad_new_goals_store_nothing(web, returnee_web, session, data, message):
    returnee_web()
    before = counts(session)
    r = web.post("/plan/goals/new", data, form_page="/plan/goals/new?area=work")
    assert r.status_code == 400 and message in text_of(r)
    assert counts(session) == before


def test_bad_input_in_the_dutch_catalog_path_is_still_our_words(web, returnee_web, session):
    returnee_web(locale="nl")
    r = web.post("/plan/goals/new", {"area": "work", "title": ""}, form_page="/plan/goals/new")
    assert r.status_code == 400 and 'lang="nl"' in text_of(r)
    assert "This field is required" not in text_of(r)


@pytest.mark.parametrize("data,message", [
    ({"text": ""}, "Please fill this in."),
    ({"text": LONG}, "Please use at most 300 characters."),
    ({"text": "Old", "target_date": "1990-01-01"}, "between one year ago and ten years from now"),
    ({"text": "Far", "target_date": "2999-01-01"}, "between one year ago and ten years from now"),
    ({"text": "Bad", "target_date": "tomorrow"}, "Please enter a date like 2026-12-31."),
])
def test_bad_steps_store_nothing(web, returnee_web, session, data, message):
    returnee_web()
    gid = add_goal(web, area="work", title="Work")
    before = counts(session)
    r = add_step(web, gid, expect=400, **data)
    assert message in text_of(r)
    assert 'aria-invalid="true"' in text_of(r)
    assert counts(session) == before
    # With htmx the page is reloaded with the message (htmx does not swap a 4xx).
    r = web.client.post(f"/plan/goals/{gid}/steps", headers=HX,
                        data={**data, "csrf_token": web.token(f"/plan/goals/{gid}")})
    assert r.status_code == 400 and r.headers["HX-Redirect"].endswith(f"/plan/goals/{gid}")
    assert message in text_of(web.get(f"/plan/goals/{gid}"))
    assert counts(session) == before


@pytest.mark.parametrize("field,value,message", [
    ("budget_needed", "-5", "Please enter an amount of 0 or more."),
    ("budget_own", "99999999999", "This amount is too large."),
    ("budget_asked", "1e9", "Please enter an amount in numbers, like 1500."),
    ("budget_granted", "NaN", "Please enter an amount in numbers, like 1500."),
    ("why", LONG, "Please use at most 1000 characters."),
    ("title", "", "Please fill this in."),
    ("target_date", "1900-01-01", "between one year ago and ten years from now"),
])
def test_bad_goal_details_change_nothing(web, returnee_web, session, field, value, message):
    returnee_web()
    gid = add_goal(web, area="business", title="Shop")
    before = counts(session)
    data = {"title": "Shop renamed", "why": "Because", "budget_needed": "100", field: value}
    r = web.post(f"/plan/goals/{gid}/edit", data)
    assert r.status_code == 400 and message in text_of(r)
    goal = session.get(Goal, gid)
    session.refresh(goal)
    assert (goal.title, goal.why, goal.budget_needed) == ("Shop", "", None)
    assert counts(session) == before


def test_bad_status_and_comment_store_nothing(web, returnee_web, session):
    returnee_web()
    gid = add_goal(web, area="work", title="Work")
    before = counts(session)
    r = web.post(f"/plan/goals/{gid}/status", {"status": "finished"},
                 form_page=f"/plan/goals/{gid}")
    assert r.status_code == 400 and "Please choose one from the list." in text_of(r)
    for body, message in (("", "Please fill this in."),
                          (LONG, "Please use at most 2000 characters.")):
        r = web.post(f"/plan/goals/{gid}/comments", {"body": body}, form_page=f"/plan/goals/{gid}")
        assert r.status_code == 400 and message in text_of(r)
    assert session.get(Goal, gid).status == "not_started"
    assert counts(session) == before


def test_another_persons_goal_is_404_and_untouched(app, web, returnee_web, make_returnee, session):
    returnee_web()
    other, code = make_returnee(name="Other")
    phone = Web(app.test_client())
    activate_returnee(phone, code)
    theirs = add_goal(phone, area="work", title="Their secret goal")
    add_step(phone, theirs, "Their step")
    their_step = step_ids(session, theirs)[0]
    mine = add_goal(web, area="work", title="Mine")
    before = counts(session)
    for url in (f"/plan/goals/{theirs}", f"/plan/goals/{theirs}/edit", f"/plan/of/{other.id}",
                "/plan/goals/999999"):
        r = web.get(url)
        assert r.status_code == 404 and "Their secret goal" not in text_of(r), url
    for url, data in ((f"/plan/goals/{theirs}/status", {"status": "done"}),
                      (f"/plan/goals/{theirs}/steps", {"text": "x"}),
                      (f"/plan/goals/{theirs}/comments", {"body": "x"}),
                      (f"/plan/goals/{theirs}/edit", {"title": "x"}),
                      (f"/plan/goals/{theirs}/answer", {"answer": "accept"}),
                      (f"/plan/steps/{their_step}/tick", {"done": "1"})):
        assert web.post(url, data, form_page=f"/plan/goals/{mine}").status_code == 404, url
    assert counts(session) == before


# --- The caseworker alongside -----------------------------------------------------------------

def test_caseworker_comments_and_the_returnee_answers(web, session, pair):
    person, cw, staff = pair()
    gid = add_goal(web, area="work", title="Work at the port")
    r = staff.get(f"/plan/of/{person.id}")
    assert r.status_code == 200 and "Work at the port" in text_of(r)
    assert "Only the person changes the plan." in text_of(r)
    r = staff.post(f"/plan/goals/{gid}/comments", {"body": "Shall we visit the port office?"},
                   form_page=f"/plan/goals/{gid}")
    assert r.status_code == 302
    page = text_of(web.get(f"/plan/goals/{gid}"))
    assert "Shall we visit the port office?" in page and cw.display_name in page
    assert "1 message" in text_of(web.get("/plan/"))
    web.post(f"/plan/goals/{gid}/comments", {"body": "Yes, on Monday"},
             form_page=f"/plan/goals/{gid}")
    thread = text_of(staff.get(f"/plan/goals/{gid}"))
    assert thread.index("Shall we visit") < thread.index("Yes, on Monday")


def test_staff_views_are_in_the_access_ledger(web, session, pair):
    person, cw, staff = pair()
    gid = add_goal(web, area="work", title="Work")

    def seen():
        return session.scalars(select(AccessLedgerEntry.what).where(
            AccessLedgerEntry.subject_id == person.id, AccessLedgerEntry.viewer_id == cw.id)).all()

    staff.get(f"/plan/of/{person.id}")
    staff.get(f"/plan/goals/{gid}")
    staff.get(f"/plan/of/{person.id}/print")
    assert seen() == ["plan", "plan", "plan"]
    web.get("/plan/")  # the returnee's own views are not in the ledger
    assert len(seen()) == 3


def test_without_consent_the_caseworker_cannot_change_the_plan(web, session, pair):
    person, cw, staff = pair(consent=False)
    gid = add_goal(web, area="work", title="Work")
    add_step(web, gid, "Step one")
    sid = step_ids(session, gid)[0]
    page = text_of(staff.get(f"/plan/goals/{gid}"))
    assert "/status" not in page and "/tick" not in page and "/edit" not in page
    before = counts(session)
    assert staff.get(f"/plan/goals/{gid}/edit").status_code == 403
    for url, data in ((f"/plan/goals/{gid}/status", {"status": "done"}),
                      (f"/plan/goals/{gid}/steps", {"text": "Caseworker step"}),
                      (f"/plan/steps/{sid}/tick", {"done": "1"})):
        r = staff.post(url, data, form_page=f"/plan/goals/{gid}")
        assert r.status_code == 403 and "when the person agreed" in text_of(r), url
    assert counts(session) == before and session.get(Goal, gid).status == "not_started"


def test_with_consent_the_caseworker_edits_and_history_says_who(web, session, pair):
    person, cw, staff = pair(consent=True)
    gid = add_goal(web, area="work", title="Work")
    assert "may change this plan" in text_of(staff.get(f"/plan/of/{person.id}"))
    r = staff.post(f"/plan/goals/{gid}/status", {"status": "under_way"},
                   form_page=f"/plan/goals/{gid}")
    assert r.status_code == 302
    assert add_step(staff, gid, "Together: write a CV").status_code == 302
    actors = session.scalars(select(PlanChange.actor_id).where(PlanChange.goal_id == gid)
                             .order_by(PlanChange.id)).all()
    assert actors == [person.id, cw.id, cw.id]
    assert f"<bdi>{cw.display_name}</bdi><br>" in text_of(web.get("/plan/"))
    # The latest consent record decides: taken back, the caseworker can only comment.
    session.add(ConsentRecord(user_id=person.id, version="2", locale="en",
                              choices={"caseworker_may_edit_plan": False}))
    session.commit()
    r = staff.post(f"/plan/goals/{gid}/status", {"status": "done"}, form_page=f"/plan/goals/{gid}")
    assert r.status_code == 403


def test_suggested_goal_is_accepted_or_declined_by_the_returnee(web, session, pair):
    person, cw, staff = pair()
    for data in ({"starter": "papers.id", "area": "work", "why": "You need it for a loan"},
                 {"starter": "", "area": "wellbeing", "title": "Join the football team"}):
        r = staff.post(f"/plan/of/{person.id}/suggest", data)
        assert r.status_code == 302, text_of(r)
    ids = session.scalars(
        select(Goal.id).where(Goal.returnee_id == person.id).order_by(Goal.id)).all()
    assert session.get(Goal, ids[0]).area == "papers"  # the starter decides the area
    page = text_of(web.get("/plan/"))
    assert "Suggested goals" in page
    assert "Get an ID card" in page and "Join the football team" in page
    # A suggestion cannot be worked on before it is accepted.
    add_step(web, ids[0], "Too early", expect=400)
    web.post(f"/plan/goals/{ids[0]}/answer", {"answer": "accept"}, form_page="/plan/")
    web.post(f"/plan/goals/{ids[1]}/answer", {"answer": "decline"}, form_page="/plan/")
    page = text_of(web.get("/plan/"))
    assert "Suggested goals" not in page and "Join the football team</a>" not in page
    assert "Suggestion: waiting for an answer → declined" in page  # kept in the history
    assert "Papers and legal help" in page
    # The answer is final; staff cannot answer for the person.
    assert web.post(f"/plan/goals/{ids[0]}/answer", {"answer": "decline"},
                    form_page="/plan/").status_code == 400
    assert staff.post(f"/plan/goals/{ids[0]}/answer", {"answer": "decline"},
                      form_page=f"/plan/goals/{ids[0]}").status_code == 404
    assert session.get(Goal, ids[0]).state == "active"


def test_bad_suggestions_store_nothing(web, session, pair):
    person, cw, staff = pair()
    before = counts(session)
    for data in ({"starter": "", "area": "work", "title": ""},
                 {"starter": "nope", "area": "work"},
                 {"starter": "", "area": "moon", "title": "x"},
                 {"starter": "", "area": "work", "title": "x", "why": LONG}):
        assert staff.post(f"/plan/of/{person.id}/suggest", data).status_code == 400, data
    assert counts(session) == before


# --- Access across roles and organisations --------------------------------------------------

def test_access_across_roles_and_organisations(app, web, session, pair, make_staff, make_org,
                                               make_returnee):
    person, cw, _staff = pair()
    gid = add_goal(web, area="work", title="Private goal")
    add_step(web, gid, "Private step")
    sid = step_ids(session, gid)[0]
    elsewhere = make_org(name="Other partner")

    def client_for(user):
        c = Web(app.test_client())
        sign_in_staff(c, user)
        return c

    staff_pages = [f"/plan/of/{person.id}", f"/plan/of/{person.id}/print",
                   f"/plan/of/{person.id}/suggest", f"/plan/goals/{gid}"]
    coordinator = client_for(make_staff(Role.COORDINATOR))
    for url in staff_pages:
        assert coordinator.get(url).status_code == 200, url
    # A coordinator reads and comments, but is not the caseworker the consent names.
    assert coordinator.post(f"/plan/steps/{sid}/tick", {"done": "1"},
                            form_page=f"/plan/goals/{gid}").status_code == 404
    assert coordinator.post(f"/plan/goals/{gid}/comments", {"body": "Good plan"},
                            form_page=f"/plan/goals/{gid}").status_code == 302
    for outsider in (make_staff(Role.CASEWORKER), make_staff(Role.FACILITATOR),
                     make_staff(Role.COORDINATOR, organisation=elsewhere),
                     make_staff(Role.CASEWORKER, organisation=elsewhere)):
        c = client_for(outsider)
        for url in staff_pages:
            r = c.get(url)
            assert r.status_code == 404 and "Private" not in text_of(r), (outsider.role, url)
        assert c.post(f"/plan/goals/{gid}/comments", {"body": "x"},
                      form_page="/home").status_code == 404
    # Staff have no "my plan"; a returnee has no staff view, not even of themself.
    assert coordinator.get("/plan/").status_code == 404
    assert web.get(f"/plan/of/{person.id}").status_code == 404
    assert Web(app.test_client()).get("/plan/").status_code == 302
    assert session.scalar(select(func.count()).select_from(GoalComment)) == 1


# --- Queries and weight -----------------------------------------------------------------------

def _grow(web, session, n: int) -> None:
    for i in range(n):
        gid = add_goal(web, area=("work", "housing", "health")[i % 3], title=f"Goal {i}")
        add_step(web, gid, f"Step {i}")
        tick(web, step_ids(session, gid)[0], gid)
        web.post(f"/plan/goals/{gid}/comments", {"body": f"Note {i}"},
                 form_page=f"/plan/goals/{gid}")


def test_plan_pages_run_a_constant_number_of_queries(web, session, pair, count_queries):
    person, cw, staff = pair()
    _grow(web, session, 1)
    gid = session.scalars(select(Goal.id).where(Goal.returnee_id == person.id)).first()
    urls = ["/plan/", "/plan/print", f"/plan/goals/{gid}"]
    few = {}
    for url in urls:
        with count_queries() as n:
            assert web.get(url).status_code == 200
        few[url] = n()
    with count_queries() as n:
        staff.get(f"/plan/of/{person.id}")
    staff_few = n()
    _grow(web, session, 8)
    for i in range(4):
        add_step(web, gid, f"More {i}")
        web.post(f"/plan/goals/{gid}/comments", {"body": f"More {i}"},
                 form_page=f"/plan/goals/{gid}")
    for url in urls:
        with count_queries() as n:
            web.get(url)
        assert n() == few[url], url
    with count_queries() as n:
        staff.get(f"/plan/of/{person.id}")
    assert n() == staff_few


def test_plan_page_weight(web, returnee_web, session):
    """Two goals and three steps: the page is well inside 10 KB compressed."""
    returnee_web()
    build_plan(web, session)
    html = web.get("/plan/").get_data()
    size = len(gzip.compress(html, 6))  # what `gzip -c` makes
    print(f"\n/plan/ with 2 goals and 3 steps: {len(html)} bytes, {size} bytes gzipped")
    assert size <= 10 * 1024


def test_support_needed_becomes_a_support_request_once(web, returnee_web, session):
    from webapp.alerts.models import Signal
    from webapp.support.models import Case

    returnee_web()
    gid = add_goal(web, area="housing", title="A room near the market")
    details = {"title": "A room near the market", "why": ""}
    web.post(f"/plan/goals/{gid}/edit", {**details, "support_needed": "y"})
    web.post(f"/plan/goals/{gid}/edit", {**details, "support_needed": "y", "why": "Rain"})
    add_step(web, gid, "Visit the landlord", support_needed="y")
    cases = session.scalars(select(Case).order_by(Case.id)).all()
    assert [(c.type, c.category, c.text) for c in cases] == [
        ("request", "housing", "A room near the market"),
        ("request", "housing", "A room near the market: Visit the landlord")]
    assert session.scalar(select(func.count()).select_from(Signal).where(
        Signal.kind == "support.new")) == 2
    # The returnee finds it among their requests, with the goal's words.
    assert f"/help/cases/{cases[0].id}" in text_of(web.get("/help/"))
    assert "A room near the market" in text_of(web.get(f"/help/cases/{cases[0].id}"))


# --- Taking goals and steps out ------------------------------------------------------------

def test_a_goal_taken_out_leaves_the_plan_and_can_be_put_back(web, session, pair):
    person, _cw, staff = pair()
    gid = add_goal(web, area="work", title="Sell phone cards")
    assert add_step(web, gid, "Ask the shop owner").status_code == 302
    r = web.post(f"/plan/goals/{gid}/in-plan", {"in_plan": "0"}, form_page=f"/plan/goals/{gid}")
    assert r.status_code == 302 and r.headers["Location"].endswith("/plan/")
    page = text_of(web.get("/plan/"))
    areas, rest = page.split('<h2 id="removed">')
    removed = rest.split('<details class="card history">')[0]
    assert "Sell phone cards" not in areas and "Sell phone cards" in removed
    assert "Sell phone cards" not in text_of(web.get("/plan/print"))
    # The goal page says so and offers to put it back; steps are kept.
    goal_page = text_of(web.get(f"/plan/goals/{gid}"))
    assert "This goal is taken out of the plan." in goal_page
    assert "Ask the shop owner" not in goal_page
    assert "Put it back in the plan" in goal_page
    # The caseworker without consent cannot put it back or take it out.
    assert staff.post(f"/plan/goals/{gid}/in-plan", {"in_plan": "1"},
                      form_page=f"/plan/goals/{gid}").status_code == 403
    r = web.post(f"/plan/goals/{gid}/in-plan", {"in_plan": "1"}, form_page=f"/plan/goals/{gid}")
    assert r.status_code == 302
    assert "Ask the shop owner" in text_of(web.get(f"/plan/goals/{gid}"))
    session.expire_all()
    changes = session.execute(select(PlanChange.field, PlanChange.before, PlanChange.after)
                              .where(PlanChange.goal_id == gid, PlanChange.field == "in_plan")
                              .order_by(PlanChange.id)).all()
    assert changes == [("in_plan", "1", "0"), ("in_plan", "0", "1")]


def test_a_step_taken_out_is_gone_but_its_words_stay_in_the_history(web, session, pair):
    person, _cw, staff = pair()
    gid = add_goal(web, area="work", title="Open a shop")
    add_step(web, gid, "Find a place")
    add_step(web, gid, "Buy a fridge")
    step = session.scalars(select(Step).where(Step.text == "Buy a fridge")).one()
    r = web.post(f"/plan/steps/{step.id}/remove", {}, form_page=f"/plan/goals/{gid}",
                 headers={"HX-Request": "true"})
    assert r.status_code == 200
    fragment = text_of(r)
    assert fragment.lstrip().startswith('<section id="goal-steps"')
    assert "Find a place" in fragment and "Buy a fridge" not in fragment
    session.expire_all()
    assert session.scalars(select(Step.text).where(Step.goal_id == gid)).all() == ["Find a place"]
    assert session.execute(select(PlanChange.field, PlanChange.before).where(
        PlanChange.goal_id == gid, PlanChange.field == "step_removed")).all() == [
        ("step_removed", "Buy a fridge")]
    assert "Step taken out" in text_of(web.get("/plan/"))
    # Someone who may not change the plan cannot take a step out.
    other = session.scalars(select(Step).where(Step.text == "Find a place")).one()
    assert staff.post(f"/plan/steps/{other.id}/remove", {},
                      form_page=f"/plan/goals/{gid}").status_code == 403
    assert session.scalar(select(func.count()).select_from(Step).where(Step.goal_id == gid)) == 1
