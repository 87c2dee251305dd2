"""Aftercare monitoring in a real browser (issue #7), on a 360×740 phone: a
caseworker records the 3-month follow-up of a returnee with a reintegration
check and sees the scores chart; the returnee reads the scores in plain words;
axe finds nothing on the area's pages, in English and Dari."""
from __future__ import annotations

import pytest

from .conftest import activate_returnee, sign_in_staff, switch_language
from .test_pages import Console, audit, visit

pytestmark = pytest.mark.browser

CASEWORKER = "caseworker1@"
ANSWERS = {"eco_income": "partly", "eco_needs": "yes", "eco_debt": "no",
           "soc_family": "yes", "soc_help": "partly", "soc_belong": "yes",
           "psy_safe": "yes", "psy_sleep": "no", "psy_hope": "yes"}


@pytest.fixture(scope="module")
def followup_flow(new_context, live_server):
    returnee = live_server.new_returnee("Follow Tester")
    desk = new_context().new_page()
    desk_console = Console(desk)
    sign_in_staff(desk, live_server, live_server.staff("caseworker", CASEWORKER))
    switch_language(desk, "en")  # other tests leave the shared demo account in Dari

    desk.goto("/home")
    desk.get_by_role("link", name="Caseload").click()
    desk.wait_for_url("**/caseload/")
    desk.get_by_role("link", name="Follow Tester").click()
    desk.wait_for_url(f"**/caseload/{returnee.user_id}")
    desk.get_by_role("link", name="Follow-ups").first.click()
    desk.wait_for_url(f"**/caseload/{returnee.user_id}/followups")

    desk.locator("#month").select_option("3")
    desk.locator("label.radio-choice",
                 has=desk.locator('input[name="contact"][value="visit"]')).click()
    desk.locator("#outcome").select_option("doing_well")
    for question, answer in ANSWERS.items():
        desk.locator("label.radio-choice",
                     has=desk.locator(f'input[name="q_{question}"][value="{answer}"]')).click()
    desk.get_by_role("button", name="Save the follow-up").click()
    desk.wait_for_url(f"**/caseload/{returnee.user_id}/followups")
    return {"returnee": returnee, "desk": (desk, desk_console)}


def test_a_caseworker_records_a_3_month_follow_up_and_sees_the_chart(followup_flow):
    desk, _console = followup_flow["desk"]
    assert desk.viewport_size == {"width": 360, "height": 740}
    assert "Follow-up recorded." in desk.inner_text("main")
    chart = desk.locator("figure.score-chart svg[role=img]")
    assert chart.count() == 1 and chart.is_visible()
    assert desk.locator("figure.score-chart circle").count() == 4  # three sides and all together
    # economic (0.5 + 1 + 1) / 3 = 0.83; social (1 + 0.5 + 1) / 3 = 0.83;
    # psychosocial (1 + 0 + 1) / 3 = 0.67; together 0.78
    table = desk.locator("table", has_text="Scores, newest first").inner_text()
    assert "0.83" in table and "0.67" in table and "0.78" in table
    schedule = desk.locator("table", has_text="Planned follow-ups").inner_text()
    assert "A visit" in schedule and "Doing well" in schedule


@pytest.mark.parametrize("lang", ["en", "fa_AF"])
def test_monitoring_pages_are_accessible_in_english_and_dari(followup_flow, new_context,
                                                            live_server, lang):
    problems: list[str] = []
    user_id = followup_flow["returnee"].user_id
    desk, console = followup_flow["desk"]
    switch_language(desk, lang)
    console.take()
    for url in ["/caseload/", "/caseload/?show=no_contact", "/caseload/due",
                f"/caseload/{user_id}", f"/caseload/{user_id}?kind=followup",
                f"/caseload/{user_id}/followups"]:
        visit(desk, console, url, lang, problems)
    # The form sent back with errors: one answer only.
    desk.goto(f"/caseload/{user_id}/followups")
    desk.locator("label.radio-choice",
                 has=desk.locator('input[name="contact"][value="phone"]')).click()
    desk.locator("#outcome").select_option("other")
    desk.locator("label.radio-choice",
                 has=desk.locator('input[name="q_eco_income"][value="yes"]')).click()
    desk.locator("main form button[type=submit]").last.click()
    desk.wait_for_load_state("load")
    assert desk.locator("main .errors").count() >= 1, desk.inner_text("main")
    audit(desk, console, f"{lang} followups (errors)", lang, problems,
          allowed_errors=("status of 400",))
    switch_language(desk, "en")
    assert not problems, "\n\n".join(problems)


def test_the_returnee_reads_their_progress(followup_flow, new_context, live_server):
    """After the follow-up, the returnee's own page says it in words."""
    phone = new_context().new_page()
    console = Console(phone)
    activate_returnee(phone, followup_flow["returnee"])
    switch_language(phone, "en")
    phone.goto("/home")
    phone.get_by_role("link", name="My progress").click()
    phone.wait_for_url("**/me/progress")
    text = phone.inner_text("main")
    assert "Going well" in text and "Getting there" in text
    problems: list[str] = []
    for lang in ("en", "fa_AF"):
        switch_language(phone, lang)
        console.take()
        phone.goto("/me/progress")
        audit(phone, console, f"{lang} /me/progress (with scores)", lang, problems)
    assert not problems, "\n\n".join(problems)
