"""Staff: e-mail + password + TOTP, activation with authenticator enrolment."""
from __future__ import annotations

import json
import re

import pyotp
from sqlalchemy import select

from webapp.models import Role, User

from .conftest import STAFF_PASSWORD, Web, sign_in_staff, totp_now


def test_password_then_totp_signs_in(web, make_staff):
    user = make_staff(Role.COORDINATOR, display_name="Aminata")
    sign_in_staff(web, user)
    assert "Hello, <bdi>Aminata</bdi>" in web.get("/home").get_data(as_text=True)


def test_wrong_password_or_unknown_email_gives_the_same_answer(web, make_staff):
    user = make_staff()
    for email, password in [(user.email, "wrong password here"),
                            ("nobody@example.org", STAFF_PASSWORD)]:
        r = web.post("/signin/staff", {"email": email, "password": password})
        assert r.status_code == 401
        assert "The e-mail address or password is not right." in r.get_data(as_text=True)
    assert web.get("/signin/staff/code").status_code == 302  # no pending step


def test_password_alone_is_not_enough(web, make_staff):
    user = make_staff()
    web.post("/signin/staff", {"email": user.email, "password": STAFF_PASSWORD})
    assert web.get("/home").status_code == 302
    r = web.post("/signin/staff/code", {"code": "000000"})
    assert r.status_code == 401
    assert web.get("/home").status_code == 302


def test_a_totp_code_works_only_once(app, web, make_staff):
    user = make_staff()
    code = totp_now(user)
    web.post("/signin/staff", {"email": user.email, "password": STAFF_PASSWORD})
    assert web.post("/signin/staff/code", {"code": code}).status_code == 302
    other = Web(app.test_client())
    other.post("/signin/staff", {"email": user.email, "password": STAFF_PASSWORD})
    assert other.post("/signin/staff/code", {"code": code}).status_code == 401


def test_disabled_staff_cannot_sign_in(web, session, make_staff):
    user = make_staff()
    from webapp.models import utcnow

    user.disabled_at = utcnow()
    session.commit()
    r = web.post("/signin/staff", {"email": user.email, "password": STAFF_PASSWORD})
    assert r.status_code == 401


def test_staff_activation_sets_password_and_enrols_totp(web, session, staff_web, app):
    staff_web(Role.COORDINATOR)
    r = web.post("/people/new/staff", {"display_name": "Fatmata", "email": "Fatmata@Example.org",
                                       "role": "caseworker", "locale": "en"})
    assert r.status_code == 200
    code = re.search(r'class="code-big" dir="ltr">([A-Z0-9-]+)<', r.get_data(as_text=True)).group(1)
    newcomer = Web(app.test_client())
    activated = newcomer.post("/activate", {"code": code})
    assert activated.headers["Location"].endswith("/activate/staff")
    page = newcomer.get("/activate/staff").get_data(as_text=True)
    assert "<svg" in page  # the QR code
    secret = re.search(r'class="secret">([A-Z2-7]+)<', page).group(1)
    # The same secret on the next try, and never in the (signed, readable) session cookie.
    assert f'class="secret">{secret}<' in newcomer.get("/activate/staff").get_data(as_text=True)
    cookie = newcomer.client.get_cookie("footing_session").value
    assert secret not in json.dumps(app.session_interface.get_signing_serializer(app).loads(cookie))
    short = newcomer.post("/activate/staff", {"password": "too short",
                                              "password_repeat": "too short",
                                              "totp": pyotp.TOTP(secret).now()})
    assert short.status_code == 400 and "at least 12 characters" in short.get_data(as_text=True)
    r = newcomer.post("/activate/staff", {"password": "a long enough pass", "password_repeat":
                                          "a long enough pass", "totp": pyotp.TOTP(secret).now()})
    assert r.status_code == 302
    user = session.scalars(select(User).where(User.email == "fatmata@example.org")).one()
    session.refresh(user)
    assert user.totp_secret == secret and user.password_hash.startswith("$argon2id$")
    assert "Hello, <bdi>Fatmata</bdi>" in newcomer.get("/home").get_data(as_text=True)


def test_staff_session_idle_limit_comes_from_config(app, web, make_staff, monkeypatch):
    user = make_staff()
    sign_in_staff(web, user)
    import time as time_module

    real = time_module.time
    minutes = app.config["STAFF_IDLE_MINUTES"]
    monkeypatch.setattr(time_module, "time", lambda: real() + (minutes + 1) * 60)
    assert web.get("/home").status_code == 302


def test_changing_the_password_ends_other_sessions(app, web, make_staff):
    user = make_staff()
    sign_in_staff(web, user)
    other = Web(app.test_client())
    sign_in_staff(other, user, step=1)
    r = web.post("/me/password", {"current": STAFF_PASSWORD, "password": "short",
                                  "password_repeat": "short"})
    assert r.status_code == 400 and other.get("/home").status_code == 200
    r = web.post("/me/password", {"current": STAFF_PASSWORD, "password": "a brand new passphrase",
                                  "password_repeat": "a brand new passphrase"})
    assert r.status_code == 302
    assert web.get("/home").status_code == 200
    assert other.get("/home").status_code == 302
