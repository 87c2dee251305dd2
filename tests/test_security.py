"""Security baseline: headers, cookies, CSRF, limits, logs."""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path

import pytest

from webapp import assets
from webapp.models import Role, User

from .conftest import PIN, Web, activate_returnee, vary_names


def test_security_headers_on_every_page(client):
    r = client.get("/signin")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP in tests
    https = client.get("/signin", base_url="https://footing.example")
    assert "max-age" in https.headers["Strict-Transport-Security"]


def test_pages_have_no_inline_script_or_style(client):
    body = client.get("/language").get_data(as_text=True)
    assert "<script>" not in body and " style=" not in body and "<style" not in body
    assert "style-src 'self';" in client.get("/language").headers["Content-Security-Policy"]


def test_entry_pages_inline_only_their_stylesheet_allowed_by_its_hash(client):
    """The signed-out entry pages carry the stylesheet in a <style> (issue
    #24); the CSP allows that text by its hash, and nothing else inline."""
    for path in ("/", "/signin"):
        r = client.get(path)
        body = r.get_data(as_text=True)
        assert r.status_code == 200 and "<script>" not in body and " style=" not in body
        styles = re.findall(r"<style>(.*?)</style>", body, re.S)
        assert len(styles) == 1
        digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
        assert f"style-src 'self' 'sha256-{digest}';" in r.headers["Content-Security-Policy"]
        assert styles[0] == (assets.SOURCE / "css/app.css").read_text()


def test_signed_in_pages_are_not_stored(web, returnee_web):
    returnee_web()
    r = web.get("/home")
    assert r.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in vary_names(r)


def test_answers_to_the_signed_out_say_so_for_the_service_worker(web, returnee_web):
    """The service worker forgets the pages it kept as soon as an answer says
    nobody is signed in (a session that timed out or was ended elsewhere)."""
    assert web.get("/signin").headers.get("X-Signed-Out") == "1"
    returnee_web()
    assert "X-Signed-Out" not in web.get("/home").headers
    web.client.delete_cookie("footing_session")
    r = web.get("/home")
    assert r.status_code == 302 and r.headers.get("X-Signed-Out") == "1"


def test_session_cookie_flags(app, web, returnee_web):
    returnee_web()
    cookie = web.client.get_cookie("footing_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    from webapp.config import Config

    assert Config.SESSION_COOKIE_SECURE is True  # outside development


def test_missing_or_foreign_csrf_token_is_refused(app, web, session, staff_web, make_returnee):
    staff_web(Role.COORDINATOR)
    person, _ = make_returnee()
    r = web.client.post(f"/people/{person.id}/disable")
    assert r.status_code == 400 and "This form has expired" in r.get_data(as_text=True)
    stranger = Web(app.test_client())
    foreign = stranger.token("/signin/staff")
    r = web.client.post(f"/people/{person.id}/disable", data={"csrf_token": foreign})
    assert r.status_code == 400
    session.expire_all()
    assert session.get(User, person.id).disabled_at is None


def test_htmx_sends_the_token_in_a_header(web, session, staff_web, make_returnee):
    staff_web(Role.COORDINATOR)
    person, _ = make_returnee()
    token = web.token(f"/people/{person.id}")
    r = web.client.post(f"/people/{person.id}/disable",
                        headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(User, person.id).disabled_at is not None


def test_oversized_body_is_refused_and_changes_nothing(web, session, make_returnee):
    person, code = make_returnee()
    r = web.client.post("/activate", data={"code": code, "padding": "x" * 300_000})
    assert r.status_code == 413
    assert "Too much text" in r.get_data(as_text=True)
    # The code was not taken: the next step is not open.
    assert web.get("/activate/returnee").status_code == 302


def test_too_long_field_is_a_form_error(web):
    r = web.post("/activate", {"code": "A" * 500})
    assert r.status_code == 400
    assert "at most 20 characters" in r.get_data(as_text=True)


def test_signin_is_rate_limited(web, make_staff):
    user = make_staff()
    statuses = [web.post("/signin/staff", {"email": user.email, "password": "wrong-wrong-wrong"})
                .status_code for _ in range(12)]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


def test_logs_hold_no_pins_codes_or_names(app, web, make_returnee, caplog):
    caplog.set_level(logging.DEBUG)
    person, code = make_returnee(name="Secretname")
    activate_returnee(web, code)
    web.post("/signout", form_page="/home")
    web.post("/signin/pin", {"pin": "975310"})
    web.post("/signin/pin", {"pin": PIN})
    text = caplog.text
    for secret in (PIN, "975310", code, code.replace("-", ""), "Secretname"):
        assert secret not in text


def test_quick_exit_ends_the_session_and_leaves(app, web, returnee_web, session):
    returnee_web()
    r = web.client.post("/exit")  # works without a token: nothing must stop leaving
    assert r.status_code == 303
    assert r.headers["Location"] == app.config["QUICK_EXIT_URL"]
    assert r.headers["Clear-Site-Data"] == '"cache"'
    assert web.get("/home").status_code == 302


def test_production_config_refuses_a_missing_or_weak_secret(monkeypatch):
    import pytest

    from webapp import create_app
    from webapp.config import INSECURE_SECRET, Config

    for secret in ("", "short", INSECURE_SECRET):
        class Prod(Config):
            SECRET_KEY = secret
            DATABASE_URL = "sqlite://"

        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app(Prod)


def test_development_defaults_to_sqlite_in_the_instance_folder(monkeypatch, tmp_path):
    from webapp import create_app
    from webapp.config import DevelopmentConfig

    class Dev(DevelopmentConfig):
        DATABASE_URL = ""

    app = create_app(Dev)
    assert app.config["DATABASE_URL"].startswith("sqlite:///")
    assert app.config["DATABASE_URL"].endswith("instance/footing.db")


def test_staff_signin_is_limited_per_account_across_addresses(app, make_staff):
    user = make_staff()
    statuses = []
    for i in range(21):
        web = Web(app.test_client())
        r = web.post("/signin/staff", {"email": user.email, "password": "wrong-wrong-wrong"},
                     environ_base={"REMOTE_ADDR": f"10.0.{i}.1"})
        statuses.append(r.status_code)
    assert statuses[:20] == [401] * 20 and statuses[20] == 429
    other = make_staff()
    r = Web(app.test_client()).post("/signin/staff", {"email": other.email,
                                                      "password": "wrong-wrong-wrong"})
    assert r.status_code == 401  # another account is not affected


def test_database_errors_never_carry_the_values(app, session, make_returnee):
    from sqlalchemy.exc import IntegrityError

    from webapp.models import User

    person, _ = make_returnee(name="Very Private Name")
    session.add(User(organisation_id=person.organisation_id, role="caseworker",
                     display_name="Dup", email=None, household_id=999999))
    try:
        session.flush()
    except IntegrityError as exc:
        message = str(exc)
    else:  # pragma: no cover - SQLite without foreign keys would get here
        raise AssertionError("the foreign key was not enforced")
    finally:
        session.rollback()
    assert "Dup" not in message and "hidden due to hide_parameters" in message


def test_a_data_key_that_is_not_a_fernet_key_is_refused(monkeypatch):
    from webapp import create_app
    from webapp.config import TestConfig

    class BadKey(TestConfig):
        DATA_KEY = "not-a-key"

    with pytest.raises(RuntimeError, match="DATA_KEY"):
        create_app(BadKey)


def test_a_new_data_key_reads_old_secrets_and_reseal_moves_them_to_it(app, connection, session,
                                                                       make_org):
    """Changing DATA_KEY: with the old key in DATA_KEY_RETIRED the staff's
    TOTP secrets still open, and `flask reseal` seals them with the new key."""
    from cryptography.fernet import Fernet, InvalidToken
    from sqlalchemy import text

    from webapp import create_app, sealed
    from webapp.config import TestConfig
    from webapp.models import User

    old, new, unknown = (Fernet.generate_key() for _ in range(3))

    def stored(user_id: int) -> bytes:
        return connection.execute(text("SELECT totp_secret FROM users WHERE id = :id"),
                                  {"id": user_id}).scalar_one().encode()

    try:
        sealed.configure(old)
        org = make_org()
        staff = [User(organisation_id=org.id, role="caseworker", display_name=f"C{i}",
                      totp_secret=f"JBSWY3DPEHPK3PX{i}") for i in range(2)]
        session.add_all(staff)
        session.flush()
        assert Fernet(old).decrypt(stored(staff[0].id)) == b"JBSWY3DPEHPK3PX0"

        class Rotated(TestConfig):
            DATA_KEY = new.decode()
            DATA_KEY_RETIRED = f"{Fernet.generate_key().decode()}, {old.decode()}"

        create_app(Rotated)
        session.expire_all()
        assert session.get(User, staff[1].id).totp_secret == "JBSWY3DPEHPK3PX1"

        result = app.test_cli_runner().invoke(args=["reseal"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "2 value(s) sealed again with DATA_KEY."
        for i, user in enumerate(staff):
            assert Fernet(new).decrypt(stored(user.id)) == f"JBSWY3DPEHPK3PX{i}".encode()
            with pytest.raises(InvalidToken):
                Fernet(old).decrypt(stored(user.id))

        # A value sealed with a key nobody configured: a clear refusal.
        connection.execute(text("UPDATE users SET totp_secret = :t WHERE id = :id"),
                           {"t": Fernet(unknown).encrypt(b"X").decode(), "id": staff[0].id})
        result = app.test_cli_runner().invoke(args=["reseal"])
        assert result.exit_code != 0
        assert "users.totp_secret: a value no configured key opens" in result.output
    finally:
        sealed.configure(sealed.key_from(app.config["DATA_KEY"], app.config["SECRET_KEY"]))


def test_a_retired_data_key_that_is_not_a_fernet_key_is_refused():
    from webapp import create_app
    from webapp.config import TestConfig

    class BadRetired(TestConfig):
        DATA_KEY_RETIRED = "not-a-key"

    with pytest.raises(RuntimeError, match="DATA_KEY_RETIRED"):
        create_app(BadRetired)


def test_every_test_docs_security_md_names_exists():
    """docs/SECURITY.md backs each promise with a test (`file::name`, or
    `::name` for the file named before it); a renamed test must not leave a
    promise without one."""
    root = Path(__file__).resolve().parent
    text = (root.parent / "docs" / "SECURITY.md").read_text()
    named, current = [], None
    for file, name in re.findall(r"`(test_\w+\.py)?::(test_\w+)`", text):
        current = file or current
        named.append((current, name))
    assert len(named) > 20
    missing = [f"{file}::{name}" for file, name in named
               if not re.search(rf"^def {name}\(", (root / file).read_text(), re.M)]
    assert not missing


def test_a_flashed_message_shows_what_was_typed_into_it_as_text(tmp_path, monkeypatch):
    """A service's message may carry what a person typed (an instrument's
    problem, a CSV's column names); flashed, it reaches the next page escaped."""
    from flask import flash, redirect
    from flask_babel import lazy_gettext as _l

    from webapp import create_app
    from webapp.access import POLICY, public
    from webapp.config import TestConfig

    class Config(TestConfig):
        DATABASE_URL = "sqlite:///" + str(tmp_path / "flash.db")

    fresh = create_app(Config)
    typed = '<img src=x onerror="alert(1)">'

    def say():
        flash(_l("The instrument is not valid: %(problem)s", problem=typed), "error")
        return redirect("/signin")

    fresh.add_url_rule("/say", "say", say)
    monkeypatch.setitem(POLICY, "say", public())
    client = fresh.test_client()
    assert client.get("/say").status_code == 302
    page = client.get("/signin").get_data(as_text=True)
    assert "The instrument is not valid: &lt;img src=x" in page
    assert typed not in page
