"""Error pages need no database (issue #20): with PostgreSQL down the 500 page
still comes from the app, translated, with quick exit (a plain form: no
JavaScript needed) and a number to call — the organisation's when this
request already has it, else EMERGENCY_PHONE."""
from __future__ import annotations

import gzip
import re

import pytest
from flask_babel import force_locale, gettext
from sqlalchemy.exc import OperationalError

from webapp import create_app
from webapp.config import TestConfig

# Nothing listens on port 1: every connection is refused at once.
UNREACHABLE = "postgresql+psycopg://nobody@127.0.0.1:1/footing"
FALLBACK = "+232 99 000 111"


def translated(app, lang: str, english: str) -> str:
    with app.test_request_context(), force_locale(lang):
        text = str(gettext(english))
    assert lang == "en" or text != english, f"{english!r} has no {lang} translation"
    return text


@pytest.fixture(scope="module")
def no_database():
    class Config(TestConfig):
        DATABASE_URL = UNREACHABLE
        EMERGENCY_PHONE = FALLBACK

    app = create_app(Config)
    yield app
    app.extensions["footing_db"].engine.dispose()


def signed_in_client(app, lang: str):
    """A browser whose session cookie names a signed-in person: the first
    thing a request does is look them up, in the database."""
    client = app.test_client()
    with client.session_transaction() as cookie_session:
        cookie_session["_user_id"] = "a-session-token"
    client.set_cookie("lang", lang)
    return client


@pytest.mark.parametrize("lang, direction", [("en", "ltr"), ("ar", "rtl")])
def test_with_the_database_down_the_500_page_still_helps(no_database, lang, direction):
    r = signed_in_client(no_database, lang).get("/home")
    assert r.status_code == 500
    page = r.get_data(as_text=True)
    assert f'lang="{lang}" dir="{direction}"' in page
    for english in ("Something went wrong", "It is not your fault. Please try again later.",
                    "Quick exit", "In danger now? Call"):
        assert translated(no_database, lang, english) in page
    if lang != "en":
        assert "Quick exit" not in page
    # Quick exit is a form that works without JavaScript; the number is a link.
    form = re.search(r'<form class="quick-exit" method="post" action="([^"]+)"', page)
    assert form and form.group(1) == "/exit"
    assert 'href="tel:+23299000111"' in page and FALLBACK in page
    assert "Traceback" not in page and "OperationalError" not in page


def test_with_the_database_down_quick_exit_still_leaves(no_database):
    client = signed_in_client(no_database, "en")
    r = client.post("/exit")
    assert r.status_code == 303
    assert r.headers["Location"] == no_database.config["QUICK_EXIT_URL"]
    assert r.headers["Clear-Site-Data"] == '"cache"'
    with client.session_transaction() as cookie_session:
        assert "_user_id" not in cookie_session  # signed out on this phone


def test_the_error_page_is_small(no_database):
    r = signed_in_client(no_database, "fa_AF").get("/home", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 500
    body = r.get_data()
    if r.headers.get("Content-Encoding") == "gzip":
        assert len(body) <= 5 * 1024, len(body)
    else:
        assert len(gzip.compress(body)) <= 5 * 1024


def test_the_organisation_number_when_the_request_has_it(app, web, returnee_web, make_org,
                                                         monkeypatch):
    """A returnee's request that loaded their organisation, then lost the
    database: the page shows their organisation's line, not the fallback."""
    org = make_org(emergency_phone="+232 76 555 123")
    returnee_web(organisation=org)

    def home():
        from flask_login import current_user

        assert current_user.organisation.emergency_phone  # loaded by this request
        raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database down"))

    monkeypatch.setitem(app.view_functions, "main.home", home)
    r = web.get("/home")
    assert r.status_code == 500
    page = r.get_data(as_text=True)
    assert 'href="tel:+23276555123"' in page
    assert app.config["EMERGENCY_PHONE"] not in re.findall(r'href="tel:([^"]+)"', page)


def test_signed_out_the_page_shows_the_instance_number(client):
    page = client.get("/nowhere").get_data(as_text=True)
    assert "In danger now? Call" in page
    assert f'href="tel:{client.application.config["EMERGENCY_PHONE"]}"' in page


def test_a_signed_in_persons_404_is_in_their_language_with_their_number(
        app, web, returnee_web, make_org):
    """A 4xx: the database answers, so the person is looked up as before."""
    org = make_org(emergency_phone="+232 76 555 999")
    returnee_web(organisation=org, locale="nl")
    r = web.get("/nowhere")
    assert r.status_code == 404
    page = r.get_data(as_text=True)
    assert 'lang="nl"' in page and translated(app, "nl", "Page not found") in page
    assert 'href="tel:+23276555999"' in page
