"""Local formats (issue #23): dates, times, numbers and money follow the
person's language and the organisation's country, meeting times have no
seconds and no time zone's name, and a page writes one digit system: CLDR's
default for its locale (Dari and Pashto: Persian digits)."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_babel import force_locale

from webapp import i18n
from webapp.models import Role
from webapp.plan.models import Goal

from .conftest import Web, sign_in_staff
from .test_plan import add_goal, text_of

LATIN = re.compile("[0-9]")
PERSIAN = re.compile("[۰-۹]")


@pytest.mark.parametrize("code,country,expected", [
    ("en", "SL", "en_SL"),  # English in Sierra Leone
    ("nl", "SR", "nl_SR"),  # Dutch in Suriname
    ("en_SL@kri", "SL", "en_SL"), ("nl_SR@srn", "NL", "nl_SR"),  # the creole's own country
    ("fa_AF", "NL", "fa_AF"),
    ("sr_Latn", "RS", "sr_Latn_RS"),
    ("so", "NL", "so"),  # CLDR has no Somali of the Netherlands: Somali as it is
    ("fr", None, "fr"),
])
def test_the_formatting_locale_is_the_language_in_the_organisations_country(
        code, country, expected):
    assert str(i18n.format_locale_for(code, country)) == expected


def _formats(app, code: str, country: str) -> dict[str, str]:
    with app.test_request_context(), force_locale(code):
        loc = i18n.format_locale_for(code, country)
        original = i18n.format_locale
        i18n.format_locale = lambda: loc
        try:
            when = datetime(2026, 12, 6, 14, 30, 5, tzinfo=UTC)
            return {"date": i18n.format_date(date(2026, 12, 6), "short"),
                    "when": i18n.format_when(when),
                    "money": i18n.format_currency(1500, "SLE"),
                    "number": i18n.format_decimal(1234.5)}
        finally:
            i18n.format_locale = original


def test_english_in_sierra_leone_writes_day_first_and_leones(app):
    out = _formats(app, "en", "SL")
    assert out["date"] == "06/12/2026"  # not the US 12/6/26
    assert out["money"] == "Le1,500.00"
    assert _formats(app, "en", "US")["date"] == "12/6/26"


def test_dutch_in_suriname(app):
    out = _formats(app, "nl", "SR")
    assert out["date"] == "06-12-2026" and out["number"] == "1.234,5"


@pytest.mark.parametrize("code", ["fa_AF", "ps"])
def test_dari_and_pashto_write_only_persian_digits(app, code):
    out = _formats(app, code, "AF")
    for text in out.values():
        assert PERSIAN.search(text) and not LATIN.search(text), out
    assert out["number"] == "۱٬۲۳۴٫۵"


def test_meeting_times_have_no_seconds_and_no_time_zone(app):
    for code, country in [("en", "SL"), ("fr", "SN"), ("so", "SO"), ("nl", "SR")]:
        when = _formats(app, code, country)["when"]
        assert ":05" not in when and "GMT" not in when and "Greenwich" not in when, when
    assert _formats(app, "en", "SL")["when"] == "Sunday, 6 December 2026, 2:30\u202fpm"


def test_a_returnees_plan_in_sierra_leone_shows_leones_the_local_way(web, returnee_web,
                                                                     make_org, make_staff):
    org = make_org(currency="SLE", country="SL")
    returnee_web(organisation=org, caseworker=make_staff(Role.CASEWORKER, organisation=org))
    gid = add_goal(web, area="business", starter="business.start")
    r = web.post(f"/plan/goals/{gid}/edit", {"title": "Start my own business",
                                             "budget_needed": "1500"})
    assert r.status_code == 302
    assert "Le1,500.00" in text_of(web.get(f"/plan/goals/{gid}"))


def test_a_dari_page_writes_one_digit_system_and_takes_persian_digits(
        web, returnee_web, session, make_org, make_staff):
    org = make_org(currency="AFN", country="AF", timezone="Asia/Kabul")
    returnee_web(organisation=org, caseworker=make_staff(Role.CASEWORKER, organisation=org),
                 locale="fa_AF")
    gid = add_goal(web, area="business", starter="business.start")
    day = date.today() + timedelta(days=40)
    persian_day = day.isoformat().translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    r = web.post(f"/plan/goals/{gid}/edit", {"title": "x", "budget_needed": "۱۵۰۰",
                                             "budget_own": "200", "target_date": persian_day})
    assert r.status_code == 302, text_of(r)
    goal = session.get(Goal, gid)
    session.refresh(goal)
    assert goal.budget_needed == 1500 and goal.target_date == day
    page = text_of(web.get(f"/plan/goals/{gid}"))
    main = re.sub(r"<[^>]*>", " ", re.search(r"<main[^>]*>(.*)</main>", page, re.S).group(1))
    assert "۱٬۵۰۰" in main
    assert not LATIN.search(main.replace("x", "")), LATIN.findall(main)


def test_meeting_page_shows_the_time_without_seconds_or_zone(session, make_org, make_group,
                                                             make_staff, app):
    org = make_org(timezone="Africa/Freetown", country="SL")
    facilitator = make_staff(Role.FACILITATOR, organisation=org)
    staff = Web(app.test_client())
    sign_in_staff(staff, facilitator)
    group = make_group(facilitator, organisation=org)
    start = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(days=3)
    start = start.replace(hour=14, minute=30)
    r = staff.post(f"/groups/{group.id}/meetings/new", {
        "starts_at": start.strftime("%Y-%m-%dT%H:%M"), "topic": "work", "topic_text": "",
        "place": ""})
    assert r.status_code == 302
    page = text_of(staff.get(r.headers["Location"]))
    assert "2:30\u202fpm" in page
    assert "2:30:00" not in page and "Greenwich" not in page and "GMT" not in page


# Numbers a message gets from Python (a form's error, a flash): the page's
# digits and separators, as in the templates. Not one message at a time: the
# message domain every `_l(...)` and `gettext(...)` goes through.
@pytest.mark.parametrize("code", ["fa_AF", "ps"])
def test_numbers_given_to_a_message_in_python_are_written_in_the_pages_digits(app, code):
    from flask_babel import lazy_gettext, ngettext

    with app.test_request_context(), force_locale(code):
        long_text = str(lazy_gettext("Please use at most %(max)d characters.", max=1200))
        plural = ngettext("%(num)d day", "%(num)d days", 3)
        assert "۱۲۰۰" in long_text and not LATIN.search(long_text), long_text
        assert "۳" in plural and not LATIN.search(plural), plural
    with app.test_request_context(), force_locale("en"):
        assert str(lazy_gettext("Please use at most %(max)d characters.", max=1200)) == \
            "Please use at most 1200 characters."


@pytest.mark.parametrize("code", ["fa_AF", "ps"])
def test_a_too_long_check_in_note_says_its_limit_in_the_pages_digits(
        web, returnee_web, make_org, make_staff, code):
    from .test_checkins import checkin

    org = make_org(country="AF", timezone="Asia/Kabul")
    returnee_web(organisation=org, caseworker=make_staff(Role.CASEWORKER, organisation=org),
                 locale=code)
    r = checkin(web, expect=400, note="x" * 501)
    errors = " ".join(re.findall(r'<ul class="errors"[^>]*><li>([^<]*)<', text_of(r)))
    assert "۵۰۰" in errors and "500" not in errors, errors


def test_text_given_to_a_message_keeps_its_digits(app):
    """A reference or a phone number put in a sentence is not a number to
    write the page's way: only numbers are."""
    from flask_babel import gettext

    with app.test_request_context(), force_locale("fa_AF"):
        text = gettext("Please call me back. %(ref)s", ref="F-1234")
    assert "F-1234" in text


def test_a_fraction_given_to_a_message_has_the_locales_separator(app):
    from flask_babel import gettext

    with app.test_request_context(), force_locale("fr"):
        assert gettext("%(km)s km", km=2.5) == "2,5 km"
    with app.test_request_context(), force_locale("fa_AF"):
        assert gettext("%(km)s km", km=2.5) == "۲٫۵ km"
