"""Support requests and concerns in a real phone browser (issue #5): a
returnee reports "medicine: I ran out" in three taps, the caseworker
acknowledges and replies, the returnee reads the reply; "I need help now"
shows the emergency line; every page passes axe in English and Dari."""
from __future__ import annotations

import re

import pytest

from .conftest import activate_returnee, sign_in_staff, switch_language
from .test_pages import Console, audit, visit

pytestmark = pytest.mark.browser

CASEWORKER = "caseworker1@"  # Mohamed Sesay, the demo returnees' caseworker
EMERGENCY = "+232 76 000 000"  # the demo organisation's emergency line


def _returnee_phone(new_context, live_server, name: str):
    page = new_context().new_page()
    console = Console(page)
    activate_returnee(page, live_server.new_returnee(
        name, caseworker_email=live_server.staff("caseworker", CASEWORKER).email))
    return page, console


def _staff_phone(new_context, live_server, role: str, prefix: str):
    page = new_context().new_page()
    console = Console(page)
    sign_in_staff(page, live_server, live_server.staff(role, prefix))
    switch_language(page, "en")
    return page, console


def test_medicine_ran_out_in_three_taps_then_a_reply(new_context, live_server):
    page, console = _returnee_phone(new_context, live_server, "Isatu Bangura")
    assert page.viewport_size == {"width": 360, "height": 740}
    taps = 0
    page.get_by_role("link", name="Report a problem").tap()
    taps += 1
    page.wait_for_url("**/help/report")
    page.locator("fieldset.kind-medicine").get_by_text("I ran out").tap()
    taps += 1
    page.get_by_role("button", name="Soon").tap()
    taps += 1
    page.wait_for_url(re.compile(r"/help/cases/\d+/received$"))
    assert taps <= 3
    assert page.get_by_role("heading", name="We got it").is_visible()
    assert page.get_by_text("Medicine: I ran out").is_visible()
    assert page.get_by_text("within one day").is_visible()
    case_url = page.get_by_role("link", name="See my report").get_attribute("href")
    problems: list[str] = []
    audit(page, console, "en received", "en", problems)

    staff, staff_console = _staff_phone(new_context, live_server, "caseworker", CASEWORKER)
    staff.goto("/help/inbox")
    staff.locator(f'main a[href="{case_url}"]').click()
    staff.wait_for_url(f"**{case_url}")
    staff.get_by_role("button", name="Mark as seen").click()
    staff.wait_for_load_state("load")
    assert staff.get_by_text("Marked as seen").is_visible()
    staff.get_by_label("Message").first.fill("I will bring your medicine tomorrow morning.")
    staff.get_by_role("button", name="Send reply").click()
    staff.wait_for_load_state("load")
    assert staff.get_by_text("Your message was sent.").is_visible()
    audit(staff, staff_console, "en case (caseworker)", "en", problems)

    page.goto(case_url)
    assert page.get_by_text("I will bring your medicine tomorrow morning.").is_visible()
    assert page.locator(".badge").first.inner_text() == "Seen"
    page.get_by_label("Message").fill("Thank you!")
    page.get_by_role("button", name="Send").click()
    page.wait_for_load_state("load")
    assert page.get_by_text("Thank you!").is_visible()
    audit(page, console, "en case (returnee)", "en", problems)
    assert not problems, "\n\n".join(problems)


def test_i_need_help_now_asks_once_then_shows_the_emergency_line(new_context, live_server):
    page, _console = _returnee_phone(new_context, live_server, "Fatu Koroma")
    page.locator("main").get_by_role("link", name="I need help now").tap()
    page.wait_for_url("**/help/now")
    assert page.get_by_role("heading", name="Do you need help right now?").is_visible()
    page.get_by_role("button", name="Yes, I need help now").tap()
    page.wait_for_url(re.compile(r"/help/cases/\d+/received$"))
    call = page.locator(f'main a[href="tel:{EMERGENCY.replace(" ", "")}"]')
    assert call.is_visible() and EMERGENCY in call.inner_text()
    # The line is the first thing on the page, above the fold of a small phone.
    box = call.bounding_box()
    assert box is not None and box["y"] + box["height"] < 740


def test_every_support_page_passes_axe_in_english_and_dari(new_context, live_server):
    """The pages of this area the crawl of test_pages.py cannot reach, for each
    role: forms sent back with errors and pages reached only by a link (a case,
    the received page, the closed requests). The crawl checks the others."""
    page, console = _returnee_phone(new_context, live_server, "Mariama Conteh")
    page.goto("/help/report")
    page.locator("fieldset.kind-safety").get_by_text("Debt").tap()
    page.get_by_role("button", name="It can wait").tap()
    page.wait_for_url(re.compile(r"/help/cases/\d+/received$"))
    received = page.url.split(live_server.url, 1)[1]
    case_url = received.removesuffix("/received")
    coordinator, coord_console = _staff_phone(new_context, live_server, "coordinator",
                                              "coordinator@")
    caseworker, cw_console = _staff_phone(new_context, live_server, "caseworker", CASEWORKER)
    problems: list[str] = []
    bad = ("status of 400",)
    for lang in ("en", "fa_AF"):
        for who, p, con, urls in [
            ("returnee", page, console, [case_url, received]),
            ("caseworker", caseworker, cw_console, [case_url]),
            ("coordinator", coordinator, coord_console, ["/help/inbox?show=closed", case_url]),
        ]:
            switch_language(p, lang)
            con.take()
            for url in urls:
                visit(p, con, url, lang, problems, who=who)
        # Forms sent back with errors.
        page.goto("/help/ask")
        page.locator("main form button[type=submit]").click()
        # The offline queue posts the form itself and shows the answer in place:
        # wait for the errors, not for a page load.
        page.locator("main [aria-invalid=true]").first.wait_for(timeout=10_000)
        audit(page, console, f"{lang} /help/ask (errors)", lang, problems, allowed_errors=bad)
        page.goto("/help/report")
        page.locator("main button[name=urgency]").last.click()
        # The offline queue posts the form itself and shows the answer in place:
        # wait for the errors, not for a page load.
        page.locator("main [aria-invalid=true]").first.wait_for(timeout=10_000)
        audit(page, console, f"{lang} /help/report (errors)", lang, problems, allowed_errors=bad)
        caseworker.goto(case_url)
        caseworker.locator("form[action$='/status'] button[type=submit]").click()
        caseworker.wait_for_load_state("load")
        audit(caseworker, cw_console, f"{lang} case status (errors)", lang, problems,
              allowed_errors=bad)
    switch_language(page, "en")
    assert not problems, "\n\n".join(problems)
