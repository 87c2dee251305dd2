"""Returnee activation and PIN sign-in (DESIGN.md §4, issue #2 item 4)."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from webapp.auth import service
from webapp.auth.models import ActivationCode, AuthSession, DeviceBinding
from webapp.auth.routes import DEVICE_COOKIE
from webapp.db import get_locked
from webapp.models import User, utcnow
from webapp.people import service as people_service
from webapp.privacy.models import ConsentRecord

from .conftest import PIN, activate_returnee, race


def count(session, model, **where):
    q = select(func.count()).select_from(model)
    for k, v in where.items():
        q = q.where(getattr(model, k) == v)
    return session.scalar(q)


def test_activation_records_consent_binds_browser_and_signs_in(web, session, make_returnee):
    user, code = make_returnee(name="Mariama")
    activate_returnee(web, code, share_with_group=True)

    home = web.get("/home")
    assert home.status_code == 200
    assert "Hello, <bdi>Mariama</bdi>" in home.get_data(as_text=True)
    consent = session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user.id)).one()
    assert consent.choices == {"share_with_group": True, "caseworker_may_edit_plan": False,
                               "push_reminders": False}
    assert consent.version and consent.locale == "en"
    binding = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == user.id)).one()
    cookie = web.client.get_cookie(DEVICE_COOKIE)
    assert cookie is not None and cookie.http_only
    assert cookie.value.startswith(f"{binding.id}.") and len(cookie.value) > 40
    # Only a hash of the device secret and of the PIN is stored.
    assert cookie.value.split(".", 1)[1] not in binding.secret_hash
    session.refresh(user)
    assert user.pin_hash.startswith("$argon2id$")


def test_code_is_single_use(web, client, app, make_returnee):
    _user, code = make_returnee()
    activate_returnee(web, code)
    other = type(web)(app.test_client())
    r = other.post("/activate", {"code": code})
    assert r.status_code == 400
    assert "This code does not work" in r.get_data(as_text=True)


def test_wrong_and_expired_codes_are_refused_with_one_message(web, session, make_returnee):
    user, code = make_returnee()
    for bad in ("AAAA-BBBB-CCCC", "x", code[:-1] + ("A" if code[-1] != "A" else "B")):
        r = web.post("/activate", {"code": bad})
        assert r.status_code == 400
        assert "This code does not work" in r.get_data(as_text=True)
    activation = session.scalars(
        select(ActivationCode).where(ActivationCode.user_id == user.id)).one()
    activation.expires_at = utcnow() - timedelta(minutes=1)
    session.commit()
    r = web.post("/activate", {"code": code})
    assert r.status_code == 400
    assert count(session, DeviceBinding, user_id=user.id) == 0


def test_code_is_forgiving_about_case_and_spacing(web, make_returnee):
    _user, code = make_returnee()
    r = web.post("/activate", {"code": " " + code.lower().replace("-", " ") + " "})
    assert r.status_code == 302


def test_code_may_be_typed_with_persian_digits(web, make_returnee):
    _user, code = make_returnee()
    while not any(ch.isdigit() for ch in code):  # codes mix letters and digits
        _user, code = make_returnee()
    persian = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert web.post("/activate", {"code": persian}).status_code == 302


def test_bad_pin_at_activation_changes_nothing(web, session, make_returnee):
    user, code = make_returnee()
    web.post("/activate", {"code": code})
    for pin, repeat, message in [("12345", "12345", "exactly 6 digits"),
                                 ("111111", "111111", "too easy"),
                                 ("123456", "123456", "too easy"),
                                 ("٢٤٦٨١x", "٢٤٦٨١x", "exactly 6 digits"),
                                 ("246813", "246814", "not the same")]:
        r = web.post("/activate/returnee", {"pin": pin, "pin_repeat": repeat, "agree": "y"})
        assert r.status_code == 400, pin
        assert message in r.get_data(as_text=True)
    r = web.post("/activate/returnee", {"pin": PIN, "pin_repeat": PIN})  # consent not ticked
    assert r.status_code == 400
    session.expire_all()
    assert session.get(User, user.id).pin_hash is None
    assert count(session, ConsentRecord, user_id=user.id) == 0
    assert count(session, DeviceBinding, user_id=user.id) == 0


def test_a_pin_is_the_same_in_arabic_persian_and_latin_digits(web, session, make_returnee):
    """A Dari, Pashto or Arabic keyboard types ۲۴۶, ٢٤٦: the same PIN. Typed
    the other way next time, it must not count as a wrong PIN (five lock the
    phone)."""
    from .conftest import activate_returnee

    user, code = make_returnee(locale="fa_AF")
    activate_returnee(web, code, pin="٢٤٦٨١٣")  # Arabic-Indic digits
    for typed in ("246813", "۲۴۶۸۱۳"):  # Latin, then Persian digits
        web.post("/signout", form_page="/home")
        assert web.post("/signin/pin", {"pin": typed}).status_code == 302, typed
        assert web.get("/home").status_code == 200
    binding = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == user.id)).one()
    assert binding.failed_pins == 0
    # Changing it works the same way.
    r = web.post("/me/pin", {"current": "۲۴۶۸۱۳", "pin": "٥٧٩١٣٨", "pin_repeat": "579138"},
                 form_page="/me/pin")
    assert r.status_code == 302
    web.post("/signout", form_page="/home")
    assert web.post("/signin/pin", {"pin": "579138"}).status_code == 302


def test_pin_signin_on_bound_browser(web, returnee_web):
    user = returnee_web()
    web.post("/signout", form_page="/home")
    assert web.get("/home").status_code == 302
    assert web.get("/signin").headers["Location"].endswith("/signin/pin")
    r = web.post("/signin/pin", {"pin": PIN})
    assert r.status_code == 302
    assert f"Hello, <bdi>{user.display_name}</bdi>" in web.get("/home").get_data(as_text=True)


def test_pin_never_works_from_an_unbound_browser(app, returnee_web, connection):
    returnee_web()
    from .conftest import Web

    other = Web(app.test_client())
    r = other.post("/signin/pin", {"pin": PIN})
    assert r.status_code == 401
    assert "not set up for your account" in r.get_data(as_text=True)
    assert other.get("/home").status_code == 302


def test_forged_device_cookie_is_refused(app, web, returnee_web):
    returnee_web()
    binding_id = web.client.get_cookie(DEVICE_COOKIE).value.split(".")[0]
    from .conftest import Web

    other = Web(app.test_client())
    other.client.set_cookie(DEVICE_COOKIE, f"{binding_id}.not-the-secret")
    r = other.post("/signin/pin", {"pin": PIN})
    assert r.status_code == 401


def test_five_wrong_pins_lock_the_binding_until_reactivation(web, session, returnee_web, ctx):
    user = returnee_web()
    web.post("/signout", form_page="/home")
    for attempt in range(1, 5):
        r = web.post("/signin/pin", {"pin": "975310"})
        assert r.status_code == 401
        left = 5 - attempt
        expected = f"You can try {left} more time{'s' if left > 1 else ''}."
        assert expected in r.get_data(as_text=True)
    r = web.post("/signin/pin", {"pin": "975310"})
    assert r.status_code == 403
    assert "locked" in r.get_data(as_text=True)
    # Even the right PIN does not open a locked binding.
    r = web.client.post("/signin/pin", data={"pin": PIN, "csrf_token": web.token("/signin/staff")})
    assert r.status_code == 403
    binding = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == user.id)).one()
    session.refresh(binding)
    assert binding.locked_at is not None and binding.failed_pins == 5
    # The caseworker issues a new code; activating again binds afresh.
    from webapp.auth import service

    with ctx():
        issued = service.issue_activation_code(session, session.get(User, user.id), None)
    session.commit()
    activate_returnee(web, issued.code, pin="135792")
    assert web.get("/home").status_code == 200


def test_signout_ends_the_session_for_every_copy_of_the_cookie(app, web, returnee_web, session):
    returnee_web()
    stolen = web.client.get_cookie("footing_session").value
    web.post("/signout", form_page="/home")
    thief = app.test_client()
    thief.set_cookie("footing_session", stolen)
    assert thief.get("/home").status_code == 302
    assert session.scalar(select(func.count()).select_from(AuthSession).where(
        AuthSession.ended_at.is_(None))) == 0


def test_session_identifier_changes_at_signin(app, web, returnee_web, session):
    web.get("/signin")
    before = web.client.get_cookie("footing_session")
    returnee_web()
    after = web.client.get_cookie("footing_session").value
    assert before is None or before.value != after
    tokens = session.scalars(select(AuthSession.token_hash)).all()
    assert len(tokens) == 1


def test_returnee_session_ends_after_30_idle_minutes(web, returnee_web, monkeypatch):
    returnee_web()
    assert web.get("/home").status_code == 200
    import time as time_module

    real = time_module.time
    monkeypatch.setattr(time_module, "time", lambda: real() + 29 * 60)
    assert web.get("/home").status_code == 200  # activity keeps it alive
    monkeypatch.setattr(time_module, "time", lambda: real() + 29 * 60 + 31 * 60)
    r = web.get("/home")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")


def test_pin_change_and_disable_end_sessions(web, session, returnee_web, make_staff, ctx):
    from webapp.auth import service

    user = returnee_web()
    session.expire_all()  # the app changed the row in its own session
    u = session.get(User, user.id)
    with ctx():
        service.change_pin(session, u, None, PIN, "864209", "864209")
    session.commit()
    assert web.get("/home").status_code == 302
    web.post("/signin/pin", {"pin": "864209"})
    assert web.get("/home").status_code == 200
    admin = make_staff()
    with ctx():
        people_service.disable_user(session, session.get(User, user.id), admin)
    session.commit()
    assert web.get("/home").status_code == 302
    r = web.post("/signin/pin", {"pin": "864209"})
    assert r.status_code == 401


def test_no_remember_cookie_is_ever_set(web, returnee_web):
    returnee_web()
    assert web.client.get_cookie("remember_token") is None


def test_changing_the_pin_ends_other_sessions_and_keeps_this_one(app, web, returnee_web):
    returnee_web()
    copy = app.test_client()
    copy.set_cookie("footing_session", web.client.get_cookie("footing_session").value)
    assert copy.get("/home").status_code == 200
    bad = web.post("/me/pin", {"current": "000000", "pin": "864209", "pin_repeat": "864209"})
    assert bad.status_code == 401 and "Wrong PIN. You can try 4 more times." in bad.get_data(
        as_text=True)
    assert copy.get("/home").status_code == 200  # nothing changed
    r = web.post("/me/pin", {"current": PIN, "pin": "864209", "pin_repeat": "864209"})
    assert r.status_code == 302
    assert web.get("/home").status_code == 200
    assert copy.get("/home").status_code == 302
    web.post("/signout", form_page="/home")
    assert web.post("/signin/pin", {"pin": PIN}).status_code == 401
    assert web.post("/signin/pin", {"pin": "864209"}).status_code == 302


def test_wrong_current_pins_at_change_pin_count_and_lock_the_phone(web, session, returnee_web):
    """Someone who finds the phone signed in cannot try PINs at "Change my
    PIN" without end: they count as wrong PINs at sign-in do, and the fifth
    locks sign-in on this phone and ends the session."""
    user = returnee_web()
    binding = session.scalars(select(DeviceBinding).where(DeviceBinding.user_id == user.id)).one()
    for left in (4, 3, 2, 1):
        r = web.post("/me/pin", {"current": "000000", "pin": "864209", "pin_repeat": "864209"})
        assert r.status_code == 401
        assert f"You can try {left} more time" in r.get_data(as_text=True)
    session.expire_all()
    assert session.get(DeviceBinding, binding.id).failed_pins == 4
    # The right PIN still works before the limit, and starts the count again.
    r = web.post("/me/pin", {"current": PIN, "pin": "864209", "pin_repeat": "864209"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(DeviceBinding, binding.id).failed_pins == 0
    for _ in range(4):
        web.post("/me/pin", {"current": "000000", "pin": "975318", "pin_repeat": "975318"})
    r = web.post("/me/pin", {"current": "000000", "pin": "975318", "pin_repeat": "975318"})
    assert r.status_code == 403 and "Sign-in on this phone is locked" in r.get_data(as_text=True)
    r = web.get("/home")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")
    page = web.get("/signin/pin").get_data(as_text=True)
    assert "I have a new code" in page and 'name="pin"' not in page


# --- Two requests at once (real connections; SQLite and PostgreSQL) -------------------

def test_two_wrong_pins_at_once_both_count(app, committed_returnee):
    """Wrong PINs sent at the same moment from two tabs (or by someone
    guessing) are each counted: the limit of 5 cannot be outrun."""
    def wrong_pin(s):
        return service.check_pin(s, service.binding_from_cookie(s, committed_returnee.cookie,
                                                                lock=True), "111111")

    results = race(app, wrong_pin, wrong_pin)
    assert all(isinstance(r, service.SigninError) for r in results.values()), results
    with Session(app.extensions["footing_db"].engine) as s:
        assert s.get(DeviceBinding, committed_returnee.binding).failed_pins == 2


def test_an_activation_code_used_twice_at_once_works_once(app, committed_returnee):
    def activate(s):
        activation = service.open_activation(s, committed_returnee.activation, lock=True)
        return service.activate_returnee(s, activation, pin="135792", pin_repeat="135792",
                                         choices={}, locale="en", device_label="")

    results = race(app, activate, activate)
    assert isinstance(results["first"], tuple), results
    assert isinstance(results["second"], service.ActivationError), results
    with Session(app.extensions["footing_db"].engine) as s:
        assert s.scalar(select(func.count()).select_from(DeviceBinding).where(
            DeviceBinding.user_id == committed_returnee.user,
            DeviceBinding.revoked_at.is_(None))) == 1
        assert s.scalar(select(func.count()).select_from(ConsentRecord).where(
            ConsentRecord.user_id == committed_returnee.user)) == 1


def test_a_staff_sign_in_code_sent_twice_at_once_works_once(app, committed_returnee):
    """The replay protection of TOTP codes holds for two requests at once."""

    code = pyotp.TOTP(committed_returnee.totp).now()

    def sign_in(s):
        user = get_locked(s, User, committed_returnee.staff)
        service.check_staff_totp(s, user, code)
        return "accepted"

    results = race(app, sign_in, sign_in)
    assert results["first"] == "accepted", results
    assert isinstance(results["second"], service.SigninError), results


def test_a_locked_person_can_still_be_written_about(app, committed_returnee):
    """The lock a post takes on the person it is about does not hold up other
    requests that only refer to them (a check-in, a claim): on PostgreSQL it
    is FOR NO KEY UPDATE, which a foreign key check does not wait for."""
    from sqlalchemy import text

    from webapp.submissions import ClientSubmission

    if app.extensions["footing_db"].engine.dialect.name != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one write lock")

    def lock_person(s):
        get_locked(s, User, committed_returnee.user)

    def refer_to_them(s):
        s.execute(text("SET LOCAL lock_timeout = '200ms'"))  # fail instead of waiting
        s.add(ClientSubmission(user_id=committed_returnee.user, client_uuid=str(uuid.uuid4()),
                               kind="checkin", body_digest="0" * 64))
        s.flush()
        return "stored"

    try:
        results = race(app, lock_person, refer_to_them, hold=1.0)
    finally:
        with Session(app.extensions["footing_db"].engine) as s:
            s.execute(delete(ClientSubmission).where(
                ClientSubmission.user_id == committed_returnee.user))
            s.commit()
    assert results["second"] == "stored", results
