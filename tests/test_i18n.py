"""Languages: locale choice, the switcher, direction, complete catalogs."""
from __future__ import annotations

import pytest
from flask_babel import force_locale, gettext

from webapp.cli import catalog_problems
from webapp.config import Config

TRANSLATED = [lang for lang in Config.LANGUAGES if lang != "en"]


def test_accept_language_picks_a_supported_locale(client):
    assert '<html lang="nl" dir="ltr">' in client.get(
        "/signin", headers={"Accept-Language": "nl-SR,nl;q=0.9"}).get_data(as_text=True)
    assert '<html lang="fa-AF" dir="rtl">' in client.get(
        "/signin", headers={"Accept-Language": "fa-AF"}).get_data(as_text=True)
    assert '<html lang="sr-Latn" dir="ltr">' in client.get(
        "/signin", headers={"Accept-Language": "sr-Latn"}).get_data(as_text=True)
    assert '<html lang="en" dir="ltr">' in client.get(
        "/signin", headers={"Accept-Language": "de"}).get_data(as_text=True)


@pytest.mark.parametrize("accept,html", [
    ("kri,en;q=0.5", '<html lang="kri" dir="ltr">'),
    ("srn", '<html lang="srn" dir="ltr">'),
    ("nl", '<html lang="nl" dir="ltr">'),  # Dutch is never taken for Sranan Tongo
    ("en-SL", '<html lang="en" dir="ltr">'),  # nor Sierra Leonean English for Krio
    ("ar-EG,ar;q=0.9", '<html lang="ar" dir="rtl">'),
    ("ps", '<html lang="ps" dir="rtl">'),
    ("so-SO", '<html lang="so" dir="ltr">'),
    ("fr-BE,fr;q=0.8", '<html lang="fr" dir="ltr">'),
])
def test_each_language_is_found_from_the_browser(client, accept, html):
    assert html in client.get("/signin", headers={"Accept-Language": accept}).get_data(as_text=True)


def test_krio_and_sranan_write_dates_as_their_country_does(app):
    """They have no locale data of their own: Sierra Leonean English and
    Surinamese Dutch write their dates and numbers."""
    from datetime import date

    from flask_babel import format_date, format_decimal

    with app.test_request_context():
        with force_locale("en_SL@kri"):
            assert format_date(date(2026, 12, 1), "long") == "1 December 2026"
            assert gettext("Quick exit") != "Quick exit"
        with force_locale("nl_SR@srn"):
            assert format_date(date(2026, 12, 1), "long") == "1 december 2026"
            assert format_decimal(1234.5) == "1.234,5"
            assert gettext("Quick exit") not in ("Quick exit", "Snel weg")


def test_cookie_beats_accept_language_and_profile_beats_cookie(web, returnee_web, session):
    r = web.post("/language", {"lang": "fa_AF"})
    assert r.status_code == 302
    page = web.client.get("/signin/staff", headers={"Accept-Language": "nl"}).get_data(as_text=True)
    assert 'dir="rtl"' in page
    user = returnee_web(locale="nl")  # the profile says Dutch
    page = web.get("/home").get_data(as_text=True)
    assert 'lang="nl"' in page
    # Switching while signed in stores the choice in the profile.
    web.post("/language", {"lang": "sr_Latn"})
    session.expire_all()
    from webapp.models import User

    assert session.get(User, user.id).locale == "sr_Latn"


def test_switcher_names_each_language_in_itself(client):
    page = client.get("/language").get_data(as_text=True)
    for name, tag in [("English", "en"), ("Nederlands", "nl"), ("Srpski (latinica)", "sr-Latn"),
                      ("دری", "fa-AF"), ("Français", "fr"), ("العربية", "ar"), ("پښتو", "ps"),
                      ("Soomaali", "so"), ("Krio", "kri"), ("Sranantongo", "srn")]:
        assert f'lang="{tag}"' in page and name in page
    assert "flag" not in page.lower()


def test_unknown_language_is_refused(web):
    r = web.post("/language", {"lang": "xx"})
    assert r.status_code == 400
    assert web.client.get_cookie("lang") is None


def translated(app, lang: str, english: str) -> str:
    with app.test_request_context(), force_locale(lang):
        text = str(gettext(english))
    assert text != english, f"{english!r} has no {lang} translation"
    return text  # Jinja's newstyle gettext puts catalog text in as written


@pytest.mark.parametrize("lang", TRANSLATED)
def test_pages_are_translated(app, client, lang):
    client.set_cookie("lang", lang)
    page = client.get("/signin").get_data(as_text=True)
    for english in ("Quick exit", "Welcome to Footing", "I have a code"):
        assert translated(app, lang, english) in page
        assert english not in page


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("status,url,title", [
    (404, "/nowhere", "Page not found"), (405, "/healthz", "Not allowed"),
    (413, "/activate", "Too much text"),
])
def test_error_pages_are_translated(app, client, lang, status, url, title):
    client.set_cookie("lang", lang)
    if status == 413:
        r = client.post(url, data={"code": "x" * 300_000})
    else:
        r = client.get(url) if status == 404 else client.post(url)
    assert r.status_code == status
    page = r.get_data(as_text=True)
    assert translated(app, lang, title) in page and title not in page


def test_catalogs_are_complete_and_the_template_is_fresh(app):
    with app.app_context():
        problems = catalog_problems(app.config["LANGUAGES"])
    assert problems == [], "\n".join(problems[:30])


@pytest.mark.parametrize("lang,message", [("en", "This field is required."),
                                          ("nl", "Dit veld is vereist."),
                                          ("nl", "Dit veld is vereist.")])  # from the cache
def test_wtforms_own_messages_follow_the_language(app, lang, message):
    """Every form's base reads WTForms' catalogs once per language."""
    from wtforms import StringField
    from wtforms.validators import DataRequired

    from webapp.forms import Form

    class Probe(Form):
        name = StringField(validators=[DataRequired()])

    with app.test_request_context("/", method="POST", data={}), force_locale(lang):
        form = Probe(meta={"csrf": False})
        assert not form.validate()
        assert form.name.errors == [message]


def test_serbian_cyrillic_is_written_letter_for_letter_from_latin():
    from webapp.cyrillic import to_cyrillic

    assert to_cyrillic("Ljudi, njen džep") == "Људи, њен џеп"
    assert to_cyrillic("Njegova Ljubav, Džep") == "Његова Љубав, Џеп"
    # Placeholders, markup, the product's name, time zones and codes stay.
    assert (to_cyrillic("Zdravo, %(name)s! <strong>Footing</strong> QR kod, PIN")
            == "Здраво, %(name)s! <strong>Footing</strong> QR код, PIN")
    assert to_cyrillic("na primer Africa/Freetown, SLE ili EUR") == (
        "на пример Africa/Freetown, SLE или EUR")


def test_the_language_switcher_offers_serbian_in_both_scripts(client):
    page = client.get("/language").get_data(as_text=True)
    assert "Srpski (latinica)" in page and "Српски (ћирилица)" in page
    client.set_cookie("lang", "sr_Cyrl")
    page = client.get("/signin").get_data(as_text=True)
    assert 'lang="sr-Cyrl"' in page and "Добро дошли" in page


def test_a_cyrillic_catalog_behind_its_latin_one_is_reported(app, tmp_path, monkeypatch):
    import shutil

    from webapp import cli

    copy = tmp_path / "i18n"
    shutil.copytree(cli.I18N, copy)
    latin = copy / "sr_Latn" / "LC_MESSAGES" / "messages.po"
    text = latin.read_text()
    assert 'msgstr "Dobro došli u Footing"' in text
    latin.write_text(text.replace('msgstr "Dobro došli u Footing"',
                                  'msgstr "Dobrodošli u Footing"'))
    monkeypatch.setattr(cli, "I18N", copy)
    monkeypatch.setattr(cli, "POT", copy / "messages.pot")
    with app.app_context():
        assert cli.catalog_problems(["sr_Latn", "sr_Cyrl"]) == [
            "sr_Cyrl: not the same as sr_Latn: run `flask translate update`"]


def test_the_language_page_says_which_languages_a_native_speaker_checked(
        app, client, web, session, make_staff):
    """Issue #23: webapp/i18n/REVIEW.md lists the catalogs still waiting for
    a native speaker; the language page says so, and where to send
    corrections when the organisation has set it."""
    from webapp import i18n

    waiting = i18n.awaiting_review()
    assert {"fr", "ar", "ps", "so", "en_SL@kri", "nl_SR@srn"} <= waiting
    assert "nl" not in waiting and "en" not in waiting
    page = client.get("/language").get_data(as_text=True)
    assert page.count("Not yet checked by a native speaker") == len(
        [c for c in Config.LANGUAGES if c in waiting])
    assert page.count("Checked by a native speaker") == len(
        [c for c in Config.LANGUAGES if c not in waiting])
    client.set_cookie("lang", "so")
    page = client.get("/language").get_data(as_text=True)
    assert translated(app, "so", "A native speaker has not yet checked the words of this "
                                 "language. Some may sound wrong.") in page
    # A coordinator sets where corrections go; signed-in people see it.
    from tests.conftest import sign_in_staff
    from webapp.models import Role

    coordinator = make_staff(Role.COORDINATOR)
    sign_in_staff(web, coordinator)
    r = web.post("/organisation/", {
        "name": "Partner", "emergency_phone": "+232 76 111 222", "timezone": "Africa/Freetown",
        "currency": "SLE", "followup_months": ["1", "3", "6", "12"],
        "languages": ["en", "so"], "corrections_contact": "words@partner.example"})
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    page = web.get("/language").get_data(as_text=True)
    assert 'href="mailto:words@partner.example"' in page


def test_a_forced_language_is_spoken_inside_and_the_page_language_again_after(app):
    """A message for someone else (a push, a caseworker's alert) is made in
    their language with force_locale, amid a page in another: the domain's
    lookup by locale (issue #24) follows it in Python and in templates, and
    the next request speaks its own language."""
    from flask import render_template_string

    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        assert gettext("Sign in") == "Sign in"
        with force_locale("fa_AF"):
            assert gettext("Sign in") == "ورود"
            assert render_template_string("{{ _('Sign in') }}") == "ورود"
            with force_locale("fr"):
                assert render_template_string("{{ _('Sign in') }}") == "Se connecter"
            assert gettext("Sign in") == "ورود"
        assert gettext("Sign in") == "Sign in"
        assert render_template_string("{{ _('Sign in') }}") == "Sign in"
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert gettext("Sign in") == "Se connecter"
        assert render_template_string("{{ _('Sign in') }}") == "Se connecter"
