"""Pages every person sees: home per role, quick exit, errors, PWA shell."""
from __future__ import annotations

import json
import re

import pytest

from webapp.models import Role


def fetch(client, url, **kw):
    """GET and close: static files stream from disk."""
    r = client.get(url, **kw)
    r.get_data()
    r.close()
    return r


def test_returnee_home_has_the_four_big_actions_and_the_emergency_line(web, returnee_web):
    returnee_web()
    page = web.get("/home").get_data(as_text=True)
    for word in ("My plan", "Check in", "Ask for help", "Report a problem"):
        assert word in page
    assert 'href="tel:+23276123456"' in page
    assert len(re.findall(r'class="tile[ "]', page)) == 4


@pytest.mark.parametrize("role,expected", [
    (Role.CASEWORKER, ["Alerts", "People"]), (Role.COORDINATOR, ["Alerts", "People"]),
    (Role.FACILITATOR, ["My groups"]),
])
def test_staff_home_per_role(web, staff_web, role, expected):
    staff_web(role)
    page = web.get("/home").get_data(as_text=True)
    for word in expected:
        assert word in page
    if role is Role.FACILITATOR:
        assert "People" not in page


@pytest.mark.parametrize("url", ["/signin", "/activate", "/signin/staff", "/language", "/nowhere",
                                 "/offline"])
def test_quick_exit_is_on_every_page_and_needs_no_javascript(client, url):
    page = client.get(url).get_data(as_text=True)
    assert re.search(r'<form class="quick-exit" method="post" action="/exit"', page)


def test_quick_exit_on_signed_in_pages(web, returnee_web):
    returnee_web()
    assert 'action="/exit"' in web.get("/home").get_data(as_text=True)


def test_manifest_makes_the_app_installable(client):
    r = client.get("/manifest.webmanifest")
    assert r.mimetype == "application/manifest+json"
    data = json.loads(r.data)
    assert data["name"] == "Footing" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert fetch(client, icon["src"]).status_code == 200


def test_service_worker_is_served_at_the_root_and_precaches_the_shell(client):
    r = client.get("/sw.js")
    assert r.status_code == 200 and r.mimetype == "text/javascript"
    assert r.headers["Service-Worker-Allowed"] == "/"
    body = r.get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL\s*=\s*(\[.*?\]);", body).group(1))
    assert "/offline" in shell
    for url in shell:
        assert fetch(client, url).status_code == 200, url


def test_offline_page_holds_nothing_personal(web, returnee_web):
    returnee_web()
    page = web.get("/offline").get_data(as_text=True)
    assert "csrf" not in page.lower() and "Hello" not in page
    assert "You are offline" in page


def test_static_files_are_long_lived(client):
    page = client.get("/language").get_data(as_text=True)
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page).group(1)
    r = fetch(client, css)
    assert r.status_code == 200
    assert "max-age=31536000" in r.headers["Cache-Control"]


def test_htmx_is_vendored_and_pinned(client):
    page = client.get("/language").get_data(as_text=True)
    src = re.search(r'src="(/static/vendor/htmx-2\.0\.11\.min\.[0-9a-f]{12}\.js)"', page).group(1)
    js = fetch(client, src).get_data(as_text=True)
    assert 'version:"2.0.11"' in js.replace(" ", "")


def test_times_are_shown_in_the_organisations_timezone(web, session, staff_web, make_org,
                                                      make_returnee):
    from babel.dates import format_datetime, get_timezone
    from sqlalchemy import select

    from webapp.auth.models import ActivationCode

    kabul = make_org(timezone="Asia/Kabul")
    staff_web(Role.COORDINATOR, organisation=kabul)
    person, _ = make_returnee(organisation=kabul)
    r = web.post(f"/people/{person.id}/activation", form_page=f"/people/{person.id}")
    code = session.scalars(select(ActivationCode).where(ActivationCode.user_id == person.id,
                                                        ActivationCode.revoked_at.is_(None))).one()
    expected = format_datetime(code.expires_at, "medium", tzinfo=get_timezone("Asia/Kabul"),
                               locale="en_SL")  # the organisation is in Sierra Leone (#23)
    utc = format_datetime(code.expires_at, "medium", tzinfo=get_timezone("UTC"), locale="en_SL")
    page = r.get_data(as_text=True)
    assert expected in page and utc not in page


@pytest.mark.parametrize("status", [403, 429, 500])
def test_error_pages_are_friendly_and_translated(app, tmp_path, monkeypatch, status):
    """A fresh app with one extra route that fails the way we want."""
    from werkzeug.exceptions import Forbidden, TooManyRequests

    from webapp import create_app
    from webapp.access import POLICY, public
    from webapp.config import TestConfig

    class Config(TestConfig):
        DATABASE_URL = "sqlite:///" + str(tmp_path / "errors.db")

    fresh = create_app(Config)
    failures = {403: Forbidden(), 429: TooManyRequests(), 500: RuntimeError("boom")}

    def fail():
        raise failures[status]

    fresh.add_url_rule("/fail", "fail", fail)
    monkeypatch.setitem(POLICY, "fail", public())
    client = fresh.test_client()
    client.set_cookie("lang", "nl")
    r = client.get("/fail")
    assert r.status_code == status
    page = r.get_data(as_text=True)
    assert 'lang="nl"' in page and "Quick exit" not in page  # the whole page is Dutch
    assert "boom" not in page and "Traceback" not in page


def test_only_the_returnees_own_pages_are_offered_for_offline_reading(web, returnee_web):
    assert "X-Offline-Copy" not in web.get("/signin").headers
    returnee_web()
    r = web.get("/home")
    assert r.headers["X-Offline-Copy"] == "1" and r.headers["Cache-Control"] == "no-store"
    assert "X-Offline-Copy" not in web.get("/me/ledger").headers
    sw = web.get("/sw.js").get_data(as_text=True)
    for path in ("/signout", "/exit", "/signin/pin"):
        assert f'"{path}"' in sw  # the kept copies are deleted when these are posted


def test_staff_pages_are_never_kept_offline(web, staff_web):
    staff_web(Role.CASEWORKER)
    assert "X-Offline-Copy" not in web.get("/home").headers
