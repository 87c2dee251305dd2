"""Fixtures: one migrated database per run, rolled back after every test.

`app` is built with TestConfig; the database is SQLite in a temp folder, or
DATABASE_URL when set (CI runs the suite again on PostgreSQL and Redis).
Factories (`make_org`, `make_user`, …) return functions, and `web` is a small
client that reads CSRF tokens from pages like a browser does.
"""
from __future__ import annotations

import os
import re
import threading
import time
from contextlib import contextmanager
from typing import Any

import pyotp
import pytest
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from webapp import create_app
from webapp.auth import service as auth_service
from webapp.config import TestConfig
from webapp.db import Base, get_db
from webapp.extensions import limiter
from webapp.models import ConsentRecord, Organisation, Role, User
from webapp.passwords import hash_secret

STAFF_PASSWORD = "correct horse battery staple"
PIN = "246813"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def app(database_url):
    class Config(TestConfig):
        DATABASE_URL = database_url
        REDIS_URL = os.environ.get("REDIS_URL", "")

    application = create_app(Config)
    with application.app_context():
        engine = get_db().engine
        _reset_schema(engine)
        from alembic import command

        from webapp.cli import alembic_config

        command.upgrade(alembic_config(), "head")
    yield application
    engine.dispose()


def _reset_schema(engine) -> None:
    """Start from an empty database (PostgreSQL keeps its tables between runs)."""
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))


@pytest.fixture()
def connection(app):
    """The outer transaction every test runs in, rolled back at the end."""
    db = app.extensions["footing_db"]
    conn = db.engine.connect()
    trans = conn.begin()
    db.bind_override = conn
    try:
        yield conn
    finally:
        db.bind_override = None
        trans.rollback()
        conn.close()


@pytest.fixture()
def session(connection) -> Session:
    s = Session(bind=connection, join_transaction_mode="create_savepoint",
                expire_on_commit=False)
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    if "app" in request.fixturenames:
        with request.getfixturevalue("app").app_context():
            limiter.reset()
    yield


@pytest.fixture()
def ctx(app):
    """`with ctx():` around service calls made by a test. Not held open during
    client requests: Flask would reuse it, and its `g`, for every request."""
    return app.app_context


@pytest.fixture()
def client(app, connection):
    return app.test_client()


# --- Factories ----------------------------------------------------------------

def new_org(session: Session, **kw: Any) -> Organisation:
    """An organisation with usable defaults, added and flushed."""
    org = Organisation(name=kw.pop("name", "Partner"), country=kw.pop("country", "SL"),
                       timezone=kw.pop("timezone", "Africa/Freetown"),
                       emergency_phone=kw.pop("emergency_phone", "+232 76 123 456"),
                       languages=kw.pop("languages", ["en", "nl", "sr_Latn", "fa_AF"]), **kw)
    session.add(org)
    session.flush()
    return org


@pytest.fixture()
def make_org(session, ctx):
    counter = iter(range(1, 10_000))

    def make(**kw: Any) -> Organisation:
        kw.setdefault("name", f"Partner {next(counter)}")
        org = new_org(session, **kw)
        session.commit()
        return org

    return make


@pytest.fixture()
def org(make_org):
    return make_org()


@pytest.fixture()
def make_staff(session, org, ctx):
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.CASEWORKER, organisation: Organisation | None = None,
             **kw: Any) -> User:
        n = next(counter)
        o = organisation or org
        with ctx():
            password_hash = hash_secret(kw.pop("password", STAFF_PASSWORD))
        user = User(organisation_id=o.id, role=role.value,
                    display_name=kw.pop("display_name", f"{role.value.title()} {n}"),
                    email=kw.pop("email", f"{role.value}{n}-{o.id}@example.org"),
                    password_hash=password_hash,
                    totp_secret=kw.pop("totp_secret", pyotp.random_base32()), locale="en", **kw)
        session.add(user)
        session.commit()
        return user

    return make


@pytest.fixture()
def make_returnee(session, org, make_staff, ctx):
    """A returnee with an unused activation code: returns (user, code)."""

    def make(caseworker: User | None = None, organisation: Organisation | None = None,
             name: str = "Abdul", locale: str = "en") -> tuple[User, str]:
        o = organisation or org
        cw = caseworker or make_staff(Role.CASEWORKER, organisation=o)
        with ctx():
            issued = auth_service.create_returnee(session, organisation=o, created_by=None,
                                                  display_name=name, locale=locale, caseworker=cw)
        session.commit()
        return issued.user, issued.code

    return make


def record_consent(session: Session, user: User, **choices: bool) -> None:
    """A consent record as activation or the privacy page writes it: the
    choices named here are yes, the others no."""
    session.add(ConsentRecord(user_id=user.id, version=auth_service.CONSENT_VERSION,
                              locale="en", choices={k: choices.get(k, False)
                                                    for k in auth_service.CONSENT_CHOICES}))
    session.commit()


# --- A browser-like client ----------------------------------------------------

TOKEN_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Web:
    """Fetches a page, then posts its form with the CSRF token in it."""

    def __init__(self, client):
        self.client = client
        self.last = None

    def get(self, url: str, **kw):
        self.last = self.client.get(url, **kw)
        return self.last

    def token(self, url: str) -> str:
        page = self.client.get(url)
        match = TOKEN_RE.search(page.get_data(as_text=True))
        assert match, f"no CSRF token on {url} ({page.status_code})"
        return match.group(1)

    def post(self, url: str, data: dict | None = None, *, form_page: str | None = None, **kw):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token(form_page or url))
        self.last = self.client.post(url, data=data, **kw)
        return self.last


@pytest.fixture()
def web(client):
    return Web(client)


def totp_now(user: User, offset_steps: int = 0) -> str:
    return pyotp.TOTP(user.totp_secret).at(time.time() + 30 * offset_steps)


def sign_in_staff(web: Web, user: User, step: int = 0):
    r = web.post("/signin/staff", {"email": user.email, "password": STAFF_PASSWORD})
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin/staff/code"), (
        r.status_code, r.get_data(as_text=True)[:500])
    r = web.post("/signin/staff/code", {"code": totp_now(user, step)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/home"), r.status_code
    return r


def activate_returnee(web: Web, code: str, pin: str = PIN, **choices: bool):
    r = web.post("/activate", {"code": code})
    assert r.status_code == 302 and r.headers["Location"].endswith("/activate/returnee"), (
        r.status_code, r.get_data(as_text=True)[:500])
    data = {"pin": pin, "pin_repeat": pin, "agree": "y"}
    data.update({k: "y" for k, v in choices.items() if v})
    r = web.post("/activate/returnee", data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/home"), r.get_data(as_text=True)
    return r


@pytest.fixture()
def staff_web(web, make_staff):
    """Sign a new staff member of `role` into `web`: returns the user."""

    def sign_in(role: Role = Role.CASEWORKER, organisation=None) -> User:
        user = make_staff(role, organisation=organisation)
        sign_in_staff(web, user)
        return user

    return sign_in


@pytest.fixture()
def returnee_web(web, make_returnee):
    def sign_in(**kw) -> User:
        user, code = make_returnee(**kw)
        activate_returnee(web, code)
        return user

    return sign_in


# --- Query counting -------------------------------------------------------------

@pytest.fixture()
def count_queries(app):
    """with count_queries() as n: ...; n() is the number of SQL statements run."""

    @contextmanager
    def counter():
        seen: list[str] = []

        def before(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO", "BEGIN")):
                seen.append(statement)

        engine = app.extensions["footing_db"].engine
        event.listen(engine, "before_cursor_execute", before)
        try:
            yield lambda: len(seen)
        finally:
            event.remove(engine, "before_cursor_execute", before)

    return counter


# --- Web push -------------------------------------------------------------------

@pytest.fixture()
def receiver():
    """A push service on 127.0.0.1 that verifies VAPID and decrypts payloads."""
    from .push_receiver import PushReceiver

    with PushReceiver() as r:
        yield r


@pytest.fixture()
def vapid(app, tmp_path, monkeypatch):
    """A fresh VAPID key for the app; returns the public key."""
    from webapp.push import service as push

    key = tmp_path / "vapid.pem"
    with app.app_context():
        public = push.generate_vapid(key)
    monkeypatch.setitem(app.config, "VAPID_PRIVATE_KEY", str(key))
    monkeypatch.setitem(app.config, "PUSH_TIMEOUT_SECONDS", 1)
    return public


def vary_names(response) -> set[str]:
    """The header names a response varies on, however the Vary lines are split."""
    return {name.strip() for line in response.headers.get_all("Vary")
            for name in line.split(",") if name.strip()}


# --- Two requests at once -------------------------------------------------------

def race(app, first, second, hold: float = 0.3) -> dict[str, Any]:
    """Two requests at once, on two real connections of their own (not the
    test's rolled-back transaction; the caller removes what they commit).
    `first(session)` runs and flushes, keeps its transaction open for `hold`
    seconds, then commits; `second(session)` starts meanwhile and commits when
    it is done. Returns what each returned or raised, under "first" and
    "second". A change that a failed request keeps (a wrong PIN counts) is
    committed too, as the request edge does."""
    engine = app.extensions["footing_db"].engine
    first_has_run = threading.Event()
    results: dict[str, Any] = {}

    def run(name, work):
        with app.app_context(), Session(engine) as s:
            if name == "second":
                first_has_run.wait(5)
            try:
                results[name] = work(s)
                s.flush()
            except Exception as exc:  # returned to the test, which asserts on it
                results[name] = exc
            if name == "first":
                first_has_run.set()
                time.sleep(hold)
            if s.is_active:
                s.commit()
            else:  # a statement failed: the request edge would roll back
                s.rollback()

    threads = [threading.Thread(target=run, args=("first", first)),
               threading.Thread(target=run, args=("second", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    return results
