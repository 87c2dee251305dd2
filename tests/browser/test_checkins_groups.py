"""Check-ins and peer groups in a real browser on a 360×740 phone (issue #4):
a returnee checks in with four taps and no typing; a coordinator makes a group,
its facilitator adds the returnee, schedules a meeting and records attendance;
every page of the area passes axe in English and Dari."""
from __future__ import annotations

import re
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest

from .conftest import PHONE, activate_returnee, sign_in_staff, switch_language
from .test_pages import LANGS, Console, audit, visit

pytestmark = pytest.mark.browser


def _path(page) -> str:
    return urlsplit(page.url).path


def _check_in_both_languages(visits, problems):
    """axe, width and direction of every (page, its console, its URLs) in
    English and Dari: each phone changes language once per language."""
    for lang in LANGS:
        for page, console, urls in visits:
            switch_language(page, lang)
            console.take()
            for url in urls:
                visit(page, console, url, lang, problems)


def test_check_in_groups_meetings_and_attendance(new_context, live_server):
    problems: list[str] = []

    # A returnee on a phone: four taps from home, no typing.
    account = live_server.new_returnee("Kadiatu")
    phone = new_context().new_page()
    phone_console = Console(phone)
    activate_returnee(phone, account)
    phone_console.take()
    assert phone.viewport_size == PHONE["viewport"]
    phone.goto("/home")
    typed: list[str] = []
    phone.expose_binding("noteTyping", lambda _source, key: typed.append(key))
    phone.evaluate("document.addEventListener('keydown', e => window.noteTyping(e.key))")
    phone.get_by_role("link", name="Check in").tap()                           # 1
    phone.wait_for_url("**/checkin/")
    phone.locator('label.radio-choice:has(input[name=mood][value="4"])').tap()  # 2
    phone.locator('label.radio-choice:has(input[name=visibility][value="caseworker"])').tap()  # 3
    phone.get_by_role("button", name="Send").tap()                             # 4
    phone.wait_for_url("**/checkin/history")
    assert typed == []
    assert phone.get_by_text("Thank you. Your check-in is sent.").is_visible()
    assert phone.locator("table.table tbody tr").count() == 1
    assert "Good" in phone.locator("table.table tbody").inner_text()

    # The form sent back with errors (the pages themselves: at the end).
    phone.goto("/checkin/")
    phone.locator("main form button[type=submit]").click()
    # The offline queue posts the form itself and shows the answer in place:
    # wait for the errors, not for a page load.
    phone.locator("main [aria-invalid=true]").first.wait_for(timeout=10_000)
    audit(phone, phone_console, "en /checkin/ (errors)", "en", problems,
          allowed_errors=("status of 400",))

    # The coordinator makes a group run by the demo facilitator.
    coordinator = new_context().new_page()
    coord_console = Console(coordinator)
    sign_in_staff(coordinator, live_server, live_server.staff("coordinator"))
    facilitator_account = live_server.staff("facilitator")
    coordinator.get_by_role("link", name="Groups").click()
    coordinator.wait_for_url("**/groups/")
    coordinator.get_by_role("link", name="New group").click()
    coordinator.locator("#name").fill("Wednesday group")
    coordinator.locator("#meeting_place").fill("Youth centre, Kissy Road")
    coordinator.locator("#facilitator").select_option(label=facilitator_account.name)
    coordinator.locator("main form button[type=submit]").click()
    coordinator.wait_for_url(re.compile(r"/groups/\d+$"))
    group_url = _path(coordinator)
    coord_console.take()

    # The facilitator adds the returnee and plans a meeting.
    facilitator = new_context().new_page()
    fac_console = Console(facilitator)
    sign_in_staff(facilitator, live_server, facilitator_account)
    facilitator.get_by_role("link", name="My groups").click()
    facilitator.get_by_role("link", name="Wednesday group").click()
    facilitator.wait_for_url(f"**{group_url}")
    facilitator.get_by_role("link", name="Members and settings").first.click()
    # By id: another module on the same live server may have a Kadiatu too.
    facilitator.locator("#member").select_option(value=str(account.user_id))
    facilitator.get_by_role("button", name="Add to the group").click()
    facilitator.get_by_text("Added to the group.").wait_for()
    assert "Kadiatu" in facilitator.locator("#members-title + ul").inner_text()
    facilitator.get_by_role("link", name="Wednesday group").click()
    facilitator.get_by_role("link", name="Plan a meeting").click()
    tomorrow = date.today() + timedelta(days=1)
    facilitator.locator("#starts_at").fill(f"{tomorrow.isoformat()}T10:30")
    facilitator.locator("#topic").select_option("health")
    facilitator.get_by_role("button", name="Plan the meeting").click()
    facilitator.wait_for_url(re.compile(r"/meetings/\d+$"))
    meeting_url = _path(facilitator)
    assert facilitator.get_by_role("heading", name="Health and medicine").is_visible()

    # The returnee answers (htmx swaps the answer in place).
    phone.goto(meeting_url)
    phone.get_by_role("button", name="Coming", exact=True).tap()
    phone.get_by_text("Your answer: coming.").wait_for()
    assert _path(phone) == meeting_url

    # The facilitator records attendance.
    facilitator.goto(meeting_url)
    assert facilitator.get_by_text("said coming").is_visible()
    facilitator.get_by_label(re.compile("Kadiatu")).check()
    facilitator.get_by_role("button", name="Save attendance").click()
    facilitator.get_by_text("Attendance saved.").wait_for()
    assert facilitator.get_by_label(re.compile("Kadiatu")).is_checked()
    fac_console.take()

    # Every page of the area as each of them sees it, the returnee's view of
    # the group and the meeting among them.
    phone_console.take()
    _check_in_both_languages([
        (phone, phone_console, ["/checkin/", "/checkin/history", "/groups/", group_url,
                                meeting_url]),
        (coordinator, coord_console, ["/groups/", "/groups/new", group_url]),
        (facilitator, fac_console, ["/groups/", group_url, f"{group_url}/meetings/new",
                                    meeting_url, f"{group_url}/overview"]),
    ], problems)

    assert not problems, "\n\n".join(problems)
