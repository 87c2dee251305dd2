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
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pyotp
import pytest
from sqlalchemy import delete, event, select, text
from sqlalchemy.orm import Session

from webapp import create_app
from webapp.audit import AuditEvent
from webapp.auth import service as auth_service
from webapp.auth.models import ActivationCode, AuthSession, DeviceBinding
from webapp.checkins.models import CheckIn
from webapp.config import TestConfig
from webapp.db import Base, get_db
from webapp.extensions import limiter
from webapp.groups.models import GroupFacilitator, GroupMember, PeerGroup
from webapp.models import Organisation, Role, User, utcnow
from webapp.monitoring.models import FollowUp, ReintegrationCheck
from webapp.passwords import hash_secret, token_digest
from webapp.people import service as people_service
from webapp.people.models import CaseworkerAssignment
from webapp.plan.models import Goal, Step
from webapp.privacy.models import ConsentRecord
from webapp.support.models import Case

STAFF_PASSWORD = "correct horse battery staple"
PIN = "246813"


def xdist_worker() -> str:
    """"gw0", "gw1", … in a pytest-xdist worker (`make test` runs one a core); "" when
    the suite runs in one process."""
    return os.environ.get("PYTEST_XDIST_WORKER", "")


def worker_database(url: str) -> str:
    """The database of this xdist worker on the server of `url`: its name with
    the worker's suffix (`test` -> `test_gw0`), made when missing. Workers never
    share a database: each resets its schema at the start and commits in
    `race`. `url` itself when the suite runs in one process."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    worker = xdist_worker()
    target = make_url(url)
    if not worker:
        return url
    if target.get_backend_name() == "sqlite":
        path = target.database or ""
        if not path or path == ":memory:":
            return url
        stem, dot, ext = path.rpartition(".")
        own = f"{stem}_{worker}.{ext}" if dot else f"{path}_{worker}"
        return target.set(database=own).render_as_string(hide_password=False)
    own = f"{target.database}_{worker}"
    admin = create_engine(target, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(
                "SELECT 1 FROM pg_database WHERE datname = %s", (own,)).scalar()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{own}"')
    finally:
        admin.dispose()
    return target.set(database=own).render_as_string(hide_password=False)


def worker_redis(url: str) -> str:
    """This xdist worker's Redis database: the URL's number plus the worker's
    (db 0 -> gw0 on 0, gw1 on 1), so one worker's `limiter.reset()` never
    clears the rate-limit counters another worker's test is counting on."""
    worker = xdist_worker()
    if not url or not worker:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    base = int(parts.path.strip("/") or 0)
    number = base + int(worker.removeprefix("gw"))
    assert number < 16, f"Redis has no database {number} for xdist worker {worker}"
    return urlunsplit(parts._replace(path=f"/{number}"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return worker_database(url)
    # tmp_path_factory's folder is the worker's own under xdist.
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.db")


@pytest.fixture(scope="session")
def app(database_url):
    class Config(TestConfig):
        DATABASE_URL = database_url
        REDIS_URL = worker_redis(os.environ.get("REDIS_URL", ""))

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
            issued = people_service.create_returnee(session, organisation=o, created_by=None,
                                                  display_name=name, locale=locale, caseworker=cw)
        session.commit()
        return issued.user, issued.code

    return make


@pytest.fixture()
def make_group(session, org):
    """A peer group, with a facilitator and members when given: returns it."""

    def make(facilitator=None, members=(), organisation=None, period=7, name="Women's group"):
        o = organisation or org
        group = PeerGroup(organisation_id=o.id, name=name, language="en",
                          meeting_place="Community hall", checkin_period_days=period)
        session.add(group)
        session.flush()
        if facilitator is not None:
            session.add(GroupFacilitator(organisation_id=o.id, group_id=group.id,
                                         user_id=facilitator.id))
        for m in members:
            session.add(GroupMember(organisation_id=o.id, group_id=group.id, user_id=m.id,
                                    created_at=datetime(2020, 1, 1, tzinfo=UTC)))
        session.commit()
        return group

    return make


def record_consent(session: Session, user: User, **choices: bool) -> None:
    """A consent record as activation or the privacy page writes it: the
    choices named here are yes, the others no."""
    session.add(ConsentRecord(user_id=user.id, version=auth_service.CONSENT_VERSION,
                              locale="en", choices={k: choices.get(k, False)
                                                    for k in auth_service.CONSENT_CHOICES}))
    session.commit()


def bulk_returnees(session, org, caseworker, n: int, start: int = 0) -> list[User]:
    """Many returnees without activation codes (fast): a few records each
    (check-ins, an open concern, a goal with a step, a follow-up, a check),
    assigned to `caseworker`; committed. For the caseload's tests."""
    people = []
    for i in range(start, start + n):
        person = User(organisation_id=org.id, role="returnee", display_name=f"Person {i:04d}",
                      locale="en", pin_hash="not a real hash",
                      return_date=date.today() - timedelta(days=30 + i % 300))
        session.add(person)
        people.append(person)
    session.flush()
    now = utcnow()
    for i, person in enumerate(people):
        session.add(CaseworkerAssignment(organisation_id=org.id, returnee_id=person.id,
                                         caseworker_id=caseworker.id))
        for k in range(3):
            session.add(CheckIn(organisation_id=org.id, user_id=person.id, mood=1 + (i + k) % 5,
                                created_at=now - timedelta(days=k * 5 + i % 20)))
        session.add(Case(organisation_id=org.id, returnee_id=person.id, type="concern",
                         kind="health", sub_type="sick", urgency="soon", priority=2 + i % 2,
                         status="new"))
        goal = Goal(organisation_id=org.id, returnee_id=person.id, area="work", title="Shop")
        session.add(goal)
        session.flush()
        session.add(Step(organisation_id=org.id, goal_id=goal.id, text="Rent a stall",
                         done_at=now if i % 2 else None))
        followup = FollowUp(organisation_id=org.id, returnee_id=person.id, month=3,
                            due_on=date.today() + timedelta(days=i % 40 - 20))
        session.add(followup)
        session.flush()
        session.add(ReintegrationCheck(organisation_id=org.id, returnee_id=person.id,
                                       followup_id=followup.id if i % 2 else None,
                                       instrument_id="footing-default", instrument_version=1,
                                       answers={}, economic=.5, social=.5, psychosocial=.5,
                                       composite=.5, recorded_by_id=caseworker.id))
    session.commit()
    return people


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
    assert r.status_code == 302 and r.headers["Location"].endswith("/home"), (
        r.get_data(as_text=True))
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

TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE", "ROLLBACK TO", "BEGIN")


@contextmanager
def before_revision(app, tmp_path, revision: str, returnees: int = 1):
    """A scratch SQLite database at the migration before `revision`, holding
    one organisation and `returnees` returnees (ids 1, 2, …): for the tests
    of what a revision fills from the rows already there. Yields (engine,
    upgrade); `upgrade()` applies `revision`."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from webapp.cli import alembic_config
    from webapp.db import make_engine

    url = "sqlite:///" + str(tmp_path / "fill.db")
    original = app.config["DATABASE_URL"]
    app.config["DATABASE_URL"] = url
    try:
        with app.app_context():
            cfg = alembic_config()
            command.upgrade(cfg, ScriptDirectory.from_config(cfg)
                            .get_revision(revision).down_revision)
            engine = make_engine(url)
            with engine.begin() as conn:
                conn.execute(text(
                    "INSERT INTO organisations (id, name, country, timezone, emergency_phone, "
                    "languages, currency, followup_months, export_secret, created_at) VALUES "
                    "(1, 'o', 'SL', 'UTC', '', '[]', 'SLE', '[1]', 's', '2026-01-01')"))
                for n in range(1, returnees + 1):
                    conn.execute(text(
                        "INSERT INTO users (id, organisation_id, role, display_name, "
                        "totp_last_counter, session_epoch, created_at) VALUES "
                        "(:n, 1, 'returnee', :name, 0, 0, '2026-01-01')"),
                        {"n": n, "name": chr(ord("A") + n - 1)})
            try:
                yield engine, lambda: command.upgrade(cfg, revision)
            finally:
                engine.dispose()
    finally:
        app.config["DATABASE_URL"] = original


@pytest.fixture()
def count_queries(app):
    """with count_queries() as n: ...; n() is the number of SQL statements run."""

    @contextmanager
    def counter():
        seen: list[str] = []

        def before(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(TRANSACTION_CONTROL):
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


@pytest.fixture()
def committed_returnee(app):
    """A returnee with a PIN, a bound phone and an open activation code, and a
    caseworker with a TOTP secret, all committed (for `race`, which runs outside
    the test's transaction); removed afterwards with everything written about
    them."""
    engine = app.extensions["footing_db"].engine
    secret = "s" * 43
    with app.app_context(), Session(engine) as s:
        org = new_org(s, name="Race")
        user = User(organisation_id=org.id, role=Role.RETURNEE.value, display_name="Racer",
                    pin_hash=hash_secret(PIN))
        s.add(user)
        s.flush()
        binding = DeviceBinding(user_id=user.id, secret_hash=token_digest(secret))
        staff = User(organisation_id=org.id, role=Role.CASEWORKER.value, display_name="Racing",
                     email="racing@example.org", totp_secret=pyotp.random_base32())
        s.add_all([binding, staff])
        auth_service.issue_activation_code(s, user, issued_by=None)
        s.commit()
        activation = s.scalar(select(ActivationCode.id).where(ActivationCode.user_id == user.id))
        ids = SimpleNamespace(org=org.id, user=user.id, binding=binding.id, staff=staff.id,
                              totp=staff.totp_secret, cookie=f"{binding.id}.{secret}",
                              activation=activation)
    yield ids
    people = (ids.user, ids.staff)
    with Session(engine) as s:
        s.execute(delete(AuditEvent).where(AuditEvent.subject_id.in_(people)))
        for model in (ConsentRecord, AuthSession, DeviceBinding, ActivationCode):
            s.execute(delete(model).where(model.user_id.in_(people)))
        s.execute(delete(User).where(User.id.in_(people)))
        s.execute(delete(Organisation).where(Organisation.id == ids.org))
        s.commit()


# --- Two workers (pytest-xdist) ------------------------------------------------------

# Browser modules whose fixtures are made once per live server (session
# scope), so that their tests can run on any worker: one scope per test
# function. tests/browser/test_pages.py alone was five of the browser suite's
# ten minutes of work, so one worker ran it while the other ran out of work.
SPLIT_BY_FUNCTION = {"tests/browser/test_pages.py"}


def xdist_scope(nodeid: str) -> str:
    """What one xdist worker runs together, in order: a browser module (its
    module-scoped fixtures hold one flow, made once on that worker's live
    server, and hand out the demo's activation codes once), or one test
    function of a module in SPLIT_BY_FUNCTION, or else one test (no other
    module has module-scoped fixtures)."""
    module, _, name = nodeid.partition("::")
    if module in SPLIT_BY_FUNCTION:
        return f"{module}::{name.partition('[')[0]}"
    return module if module.startswith("tests/browser/") else nodeid


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` (`make test`) with the scopes of `xdist_scope`, the
    largest first: the browser modules start at once, the many short tests
    fill in (plain loadscope would start the browser modules, with their few
    but long tests, last). Not `--dist loadgroup` with xdist_group marks: it
    marks the node ids, which pytest 9.2 no longer lets it do (pytest-xdist
    issue #1386), and the tests are then spread one by one."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Scopes(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return xdist_scope(nodeid)

    return Scopes(config, log)


# --- The browser tests' axe summary ------------------------------------------------

_WORKER_AXE_TALLIES: list[dict] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """An xdist worker is done: keep the axe tally it sent (browser/conftest.py)."""
    tally = getattr(node, "workeroutput", {}).get("axe_tally")
    if tally:
        _WORKER_AXE_TALLIES.append(tally)


def pytest_terminal_summary(terminalreporter):
    """How many pages axe checked, in this process or in all xdist workers.
    Here, not in browser/conftest.py: under xdist the controller loads only
    this conftest."""
    from .browser.conftest import AXE_TALLY, AxeTally

    tally = AxeTally()
    tally.add(AXE_TALLY.as_dict())
    for other in _WORKER_AXE_TALLIES:
        tally.add(other)
    if tally.pages:
        terminalreporter.write_line(
            f"axe: {tally.pages} pages checked, {tally.violations} violations")
        for rule, labels in sorted(tally.incomplete.items()):
            terminalreporter.write_line(
                f"axe: needs review ({rule}) on {len(labels)} page(s), e.g. {labels[0]}")


def assert_covers_the_url_map(app, table, name: str) -> None:
    """`table` (a dict keyed by endpoint) names every endpoint of the app, and
    no endpoint that does not exist: a new route fails the test until added."""
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - set(table))
    assert not missing, f"endpoints {name} does not cover: {missing}"
    stale = sorted(set(table) - endpoints)
    assert not stale, f"{name} names endpoints that do not exist: {stale}"
