"""Guessing a staff password or code is limited without locking the owner out
(issue #20; docs/SECURITY.md). Every test here starts with empty limits.

Addresses are REMOTE_ADDR: each address has its own per-address bucket
(RATELIMIT_SIGNIN, 10 a minute in tests), so a guesser "from many addresses"
meets only the per-account ceiling (RATELIMIT_ACCOUNT, 20 wrong an hour)."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from webapp.auth import service as auth_service, throttle
from webapp.models import User

from .conftest import STAFF_PASSWORD, Web, sign_in_staff, totp_now

WRONG = "wrong-wrong-wrong"
OWNER_ADDRESS = "192.0.2.10"


def client_at(app, address: str) -> Web:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Web(client)


def password_try(web: Web, user: User, password: str = WRONG) -> int:
    return web.post("/signin/staff", {"email": user.email, "password": password}).status_code


def guesses(app, user: User, times: int, addresses: int) -> list[int]:
    """`times` wrong passwords for `user`, spread over `addresses` addresses
    that have never signed in to the account."""
    clients = [client_at(app, f"10.1.{i}.1") for i in range(addresses)]
    return [password_try(clients[i % addresses], user) for i in range(times)]


def known_computer(app, user: User, step: int = 0) -> Web:
    """The owner's computer: she signed in there once (and out again)."""
    web = client_at(app, OWNER_ADDRESS)
    sign_in_staff(web, user, step)
    web.post("/signout", form_page="/home")
    assert web.get("/home").status_code == 302
    return web


def known_device_cookie(web: Web) -> str:
    cookie = web.client.get_cookie(throttle.KNOWN_DEVICE_COOKIE, path="/signin")
    assert cookie is not None
    return cookie.value


def with_cookie(web: Web, value: str) -> Web:
    web.client.set_cookie(throttle.KNOWN_DEVICE_COOKIE, value, path="/signin")
    return web


def signed_with(key: str, signer=TimestampSigner) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(key, salt="footing.known-device", signer=signer)


def wrong_code(user: User) -> str:
    """Six digits that are none of the codes the server accepts now."""
    right = {totp_now(user, step) for step in (-1, 0, 1)}
    return next(code for code in ("000000", "111111", "222222") if code not in right)


# --- The guesser is stopped ----------------------------------------------------------

def test_a_guesser_from_many_addresses_stops_at_the_account_ceiling(app, make_staff):
    user = make_staff()
    assert guesses(app, user, 21, addresses=21) == [401] * 20 + [429]
    # Even the right password, from a browser that never signed in here: the
    # ceiling tells nobody whether a password is right.
    assert password_try(client_at(app, "10.2.0.1"), user, STAFF_PASSWORD) == 429
    # Another account is not affected.
    assert password_try(client_at(app, "10.2.0.2"), make_staff()) == 401


def test_the_refusal_says_how_long_to_wait(app, make_staff):
    """The hour's ceiling says about an hour, the address's minute says a
    minute: never "a few minutes" for a wait of an hour."""
    user = make_staff()
    assert guesses(app, user, 20, addresses=20) == [401] * 20
    page = client_at(app, "10.4.0.1").post("/signin/staff",
                                           {"email": user.email, "password": WRONG})
    assert page.status_code == 429
    minutes = re.search(r"Wait (\d+) minutes, then try again", page.get_data(as_text=True))
    assert minutes and 55 <= int(minutes.group(1)) <= 60, page.get_data(as_text=True)

    one = client_at(app, "10.4.0.2")
    other = make_staff()
    assert [password_try(one, other) for _ in range(11)] == [401] * 10 + [429]
    page = one.post("/signin/staff", {"email": other.email, "password": WRONG})
    assert "Wait 1 minute, then try again." in page.get_data(as_text=True)


def test_only_wrong_passwords_use_up_the_account_ceiling(app, make_staff):
    user = make_staff()
    assert guesses(app, user, 19, addresses=19) == [401] * 19
    for i in range(3):  # the right password, from browsers new to the account
        assert password_try(client_at(app, f"10.3.{i}.1"), user, STAFF_PASSWORD) == 302
    assert guesses(app, user, 2, addresses=2) == [401, 429]


# --- The owner still gets in -----------------------------------------------------------

@pytest.mark.parametrize("addresses", [1, 5])
def test_the_owner_signs_in_on_her_computer_while_a_guesser_is_refused(app, make_staff,
                                                                       addresses):
    user = make_staff(display_name="Mariama")
    computer = known_computer(app, user)
    statuses = guesses(app, user, 25, addresses)
    if addresses == 1:
        assert statuses == [401] * 10 + [429] * 15  # the per-address limit first
    else:
        assert statuses == [401] * 20 + [429] * 5  # then the account's ceiling
    sign_in_staff(computer, user, step=1)
    assert "Hello, <bdi>Mariama</bdi>" in computer.get("/home").get_data(as_text=True)
    assert guesses(app, user, 1, addresses=1) == [429]  # the guesser still is refused


def test_a_known_computer_has_a_ceiling_of_its_own(app, make_staff):
    """A copy of the owner's cookie (a shared computer, a stolen one) is worth
    20 wrong passwords an hour, no more, and spends nobody else's."""
    user = make_staff()
    laptop = known_computer(app, user)
    office = known_computer(app, user, step=1)
    copy = known_device_cookie(laptop)
    thief = [with_cookie(client_at(app, f"10.4.{i}.1"), copy) for i in range(5)]
    assert [password_try(thief[i % 5], user) for i in range(21)] == [401] * 20 + [429]
    assert password_try(laptop, user, STAFF_PASSWORD) == 429  # that copy is used up
    assert password_try(office, user, STAFF_PASSWORD) == 302  # another computer is not
    assert guesses(app, user, 1, addresses=1) == [401]  # nor the account's own ceiling


def test_a_known_computer_counts_only_for_its_own_account(app, make_staff):
    owner, colleague = make_staff(), make_staff()
    computer = known_computer(app, owner)
    assert guesses(app, colleague, 20, addresses=20) == [401] * 20
    assert password_try(computer, colleague, STAFF_PASSWORD) == 429


def test_a_forged_altered_or_old_known_device_cookie_counts_as_none(app, make_staff):
    user = make_staff()
    genuine = known_device_cookie(known_computer(app, user))
    account, _device = signed_with(app.config["SECRET_KEY"]).loads(genuine)

    class LongAgo(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - (throttle.KNOWN_DEVICE_DAYS + 1) * 86400

    forged = signed_with("another key").dumps([account, "forged-device"])
    old = signed_with(app.config["SECRET_KEY"], LongAgo).dumps([account, "old-device"])
    assert guesses(app, user, 20, addresses=20) == [401] * 20
    for n, cookie in enumerate([forged, genuine[:-2] + "xx", old, "junk~" * 10]):
        web = with_cookie(client_at(app, f"10.5.{n}.1"), cookie)
        assert password_try(web, user, STAFF_PASSWORD) == 429, cookie


# --- The second step and activation ---------------------------------------------------

def test_wrong_codes_stop_at_the_account_ceiling_and_the_owner_still_gets_in(app, make_staff):
    """A guesser who has the password tries codes from several addresses."""
    user = make_staff()
    computer = known_computer(app, user)
    clients = [client_at(app, f"10.6.{i}.1") for i in range(5)]
    for web in clients:
        assert password_try(web, user, STAFF_PASSWORD) == 302
    code = wrong_code(user)
    statuses = [clients[i % 5].post("/signin/staff/code", {"code": code}).status_code
                for i in range(25)]
    assert statuses == [401] * 20 + [429] * 5
    sign_in_staff(computer, user, step=1)
    assert computer.get("/home").status_code == 200


def test_a_new_activation_code_lets_the_owner_in_and_makes_the_computer_known(
        app, session, make_staff, ctx):
    """On a computer new to her, while the account's ceiling is used up, a code
    from her coordinator still lets her in, and that computer is known after."""
    user = make_staff()
    assert guesses(app, user, 21, addresses=21)[-1] == 429
    with ctx():
        code = auth_service.issue_activation_code(session, user, None).code
    session.commit()
    computer = client_at(app, OWNER_ADDRESS)
    assert computer.post("/activate", {"code": code}).status_code == 302
    page = computer.get("/activate/staff").get_data(as_text=True)
    secret = re.search(r'class="secret">([A-Z2-7]+)<', page).group(1)
    r = computer.post("/activate/staff", {"password": STAFF_PASSWORD,
                                          "password_repeat": STAFF_PASSWORD,
                                          "totp": pyotp.TOTP(secret).now()})
    assert r.status_code == 302 and computer.get("/home").status_code == 200
    computer.post("/signout", form_page="/home")
    assert guesses(app, user, 1, addresses=1) == [429]
    user = session.scalars(select(User).where(User.id == user.id)
                           .execution_options(populate_existing=True)).one()
    sign_in_staff(computer, user, step=1)


# --- Guessing the current password when changing it ---------------------------------------

def test_wrong_current_passwords_end_the_session(app, make_staff):
    user = make_staff()
    web = client_at(app, OWNER_ADDRESS)
    sign_in_staff(web, user)
    new = {"password": "a brand new passphrase", "password_repeat": "a brand new passphrase"}
    limit = int(app.config["RATELIMIT_PASSWORD_CHANGE"].split()[0])
    for _ in range(limit - 1):
        r = web.post("/me/password", {"current": WRONG, **new})
        assert r.status_code == 401
        assert "Your current password is not right." in r.get_data(as_text=True)
    r = web.post("/me/password", {"current": WRONG, **new})
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")
    assert "Your session has ended" in web.get("/signin").get_data(as_text=True)
    assert web.get("/home").status_code == 302

    # The count is the account's: in another session, one more ends it too,
    # while a form that is wrong otherwise (a short new password) is no guess.
    other = client_at(app, "192.0.2.11")
    sign_in_staff(other, user, step=1)
    assert other.post("/me/password", {"current": STAFF_PASSWORD, "password": "short",
                                       "password_repeat": "short"}).status_code == 400
    assert other.get("/home").status_code == 200
    assert other.post("/me/password", {"current": WRONG, **new}).status_code == 302
    assert other.get("/home").status_code == 302


def test_every_limit_is_on_a_route_and_still_refuses(app):
    """The limiter's check before every request is left out (webapp/extensions.py:
    it only adds default, application and blueprint limits, and there are
    none). So no blueprint may declare a limit; a route's own limit still
    refuses, as the tests above show, and says so in its headers."""
    from webapp.extensions import limiter

    manager = limiter.limit_manager
    assert not manager.default_limits and not manager.application_limits
    assert all(manager.blueprint_limits(app, name) == [] for name in app.blueprints)
    assert limiter._check_request_limit not in app.before_request_funcs.get(None, [])
    limited = client_at(app, "198.51.100.7")
    answers = [limited.post("/signin/staff", {"email": "nobody@example.org",
                                              "password": WRONG}) for _ in range(11)]
    assert [r.status_code for r in answers] == [401] * 10 + [429]
    assert answers[0].headers["X-RateLimit-Remaining"] == "9"
