"""The future plan in a real browser (issue #3), on a 360×740 phone: a
returnee builds a plan with two goals and three steps, ticks a step with htmx
(no page load), the caseworker comments, the returnee reads the comment; axe
finds nothing on every plan page, in English and Dari, for both roles."""
from __future__ import annotations

import re

import pytest

from .conftest import activate_returnee, sign_in_staff, switch_language
from .test_pages import Console, audit, visit

pytestmark = pytest.mark.browser

CASEWORKER = "caseworker1@"


def _add_step(page, text: str) -> None:
    """Type a step and add it; htmx swaps the steps in place."""
    steps = page.locator("#goal-steps .steps > li")
    before = steps.count()
    page.locator("#goal-steps #text").fill(text)
    page.locator("#goal-steps form button[type=submit]").last.click()
    page.wait_for_function(
        "n => document.querySelectorAll('#goal-steps .steps > li').length === n", arg=before + 1)


def _goal_id(page) -> int:
    return int(re.search(r"/plan/goals/(\d+)", page.url).group(1))


@pytest.fixture(scope="module")
def plan_flow(new_context, live_server):
    """Run the flow once; the audits below reuse both phones."""
    returnee = live_server.new_returnee("Plan Tester", caseworker_email=None)
    phone = new_context().new_page()
    phone_console = Console(phone)
    activate_returnee(phone, returnee)

    # Goal 1 from a starter, in one tap.
    phone.goto("/home")
    phone.get_by_role("link", name="My plan").click()
    phone.wait_for_url("**/plan/")
    phone.get_by_role("link", name="Add a goal").first.click()
    phone.get_by_role("link", name="My own business").click()
    phone.get_by_role("button", name="Start my own business").click()
    phone.wait_for_url(re.compile(r".*/plan/goals/\d+$"))
    business = _goal_id(phone)
    _add_step(phone, "Ask my uncle for a loan")
    _add_step(phone, "Buy a sewing machine")

    # Goal 2 in own words.
    phone.goto("/plan/goals/new?area=housing")
    phone.locator("#title").fill("A room near the market")
    phone.get_by_role("button", name="Add the goal").click()
    phone.wait_for_url(re.compile(r".*/plan/goals/\d+$"))
    housing = _goal_id(phone)
    _add_step(phone, "Visit three rooms")

    # Tick a step with htmx: the page is not reloaded (the marker survives).
    phone.goto(f"/plan/goals/{business}")
    phone.evaluate("window.__notReloaded = true")
    phone.get_by_role("button", name="Ask my uncle for a loan", exact=True).click()
    phone.wait_for_selector("#goal-steps button[aria-pressed=true]")
    assert phone.evaluate("window.__notReloaded === true"), "ticking reloaded the page"
    assert "1 of 2 steps done" in phone.inner_text("#goal-steps")

    # Take a step out with htmx: gone from the list, the page not reloaded.
    phone.goto(f"/plan/goals/{housing}")
    phone.evaluate("window.__notReloaded = true")
    phone.get_by_role("button",
                      name=re.compile(r"Take this step out\s*: Visit three rooms")).click()
    phone.wait_for_function(
        "() => !document.querySelector('#goal-steps').innerText.includes('Visit three rooms')")
    assert phone.evaluate("window.__notReloaded === true"), "taking a step out reloaded the page"
    _add_step(phone, "Visit three rooms")

    phone.goto("/plan/")
    text = phone.inner_text("main")
    assert "Start my own business" in text and "A room near the market" in text
    assert "1 of 2 steps done" in text and "0 of 1 step done" in text

    # The caseworker comments.
    desk = new_context().new_page()
    desk_console = Console(desk)
    sign_in_staff(desk, live_server, live_server.staff("caseworker", CASEWORKER))
    switch_language(desk, "en")  # other tests leave the shared demo account in Dari
    desk.goto(f"/plan/of/{returnee.user_id}")
    desk.get_by_role("link", name="Start my own business").click()
    desk.locator("#body").fill("Good idea. Shall we visit the micro-finance office?")
    desk.get_by_role("button", name="Send").click()
    desk.wait_for_url(re.compile(rf".*/plan/goals/{business}#thread$"))

    # The returnee sees it.
    phone.goto(f"/plan/goals/{business}")
    assert "Shall we visit the micro-finance office?" in phone.inner_text("#thread + ol, .thread")
    return {"returnee": returnee, "phone": (phone, phone_console), "desk": (desk, desk_console),
            "business": business, "housing": housing}


def test_a_returnee_builds_a_plan_and_the_caseworker_comments(plan_flow):
    phone, _console = plan_flow["phone"]
    assert phone.viewport_size == {"width": 360, "height": 740}


@pytest.mark.parametrize("lang", ["en", "fa_AF"])
def test_plan_pages_are_accessible_in_english_and_dari(plan_flow, lang):
    problems: list[str] = []
    business, user_id = plan_flow["business"], plan_flow["returnee"].user_id
    for who, urls in (
            ("phone", ["/plan/", f"/plan/goals/{business}", f"/plan/goals/{business}/edit",
                       "/plan/goals/new", "/plan/goals/new?area=business", "/plan/print"]),
            ("desk", [f"/plan/of/{user_id}", f"/plan/goals/{business}",
                      f"/plan/of/{user_id}/print", f"/plan/of/{user_id}/suggest"])):
        page, console = plan_flow[who]
        switch_language(page, lang)
        console.take()
        for url in urls:
            visit(page, console, url, lang, problems, who=who)
    # A form sent back with errors.
    page, console = plan_flow["phone"]
    page.goto(f"/plan/goals/{business}/edit")
    page.locator("#budget_needed").fill("-5")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_load_state("load")
    assert page.locator("#budget_needed[aria-invalid=true]").count() == 1
    audit(page, console, f"{lang} edit (errors)", lang, problems, allowed_errors=("status of 400",))
    switch_language(page, "en")
    switch_language(plan_flow["desk"][0], "en")
    assert not problems, "\n\n".join(problems)
