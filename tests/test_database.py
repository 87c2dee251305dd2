"""Schema and SQLite set-up: migrations match the models and go both ways;
concurrent writers wait instead of failing."""
from __future__ import annotations

import threading
import uuid

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from webapp.cli import alembic_config
from webapp.db import Base, make_engine


@pytest.fixture()
def scratch_url(app, tmp_path):
    """An empty database of its own, on the backend the suite runs on."""
    url = make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() != "postgresql":
        yield "sqlite:///" + str(tmp_path / "scratch.db")
        return
    name = f"footing_scratch_{uuid.uuid4().hex[:8]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture()
def sqlite_url(tmp_path):
    return "sqlite:///" + str(tmp_path / "sqlite.db")


def user_tables(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return [t for t in inspect(engine).get_table_names() if t != "alembic_version"]
    finally:
        engine.dispose()


def test_models_equal_upgrade_head(app):
    engine = app.extensions["footing_db"].engine
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == [], diff


def test_every_migration_goes_up_and_down(app, scratch_url):
    app.config["DATABASE_URL"], original = scratch_url, app.config["DATABASE_URL"]
    try:
        with app.app_context():
            cfg = alembic_config()
            revisions = list(reversed(list(ScriptDirectory.from_config(cfg).walk_revisions())))
            assert revisions, "no migrations"
            for rev in revisions:
                command.upgrade(cfg, rev.revision)
                command.downgrade(cfg, rev.down_revision or "base")
                command.upgrade(cfg, rev.revision)
            assert sorted(user_tables(scratch_url)) == sorted(Base.metadata.tables)
            command.downgrade(cfg, "base")
            assert user_tables(scratch_url) == []
    finally:
        app.config["DATABASE_URL"] = original


def test_a_migration_waits_a_few_seconds_at_most_for_a_table_in_use(app, scratch_url):
    """PostgreSQL: an upgrade runs while the old release serves. A migration
    that must lock a table in use (here the check-ins' UUID column, added
    while a check-in's transaction is open) gives up after a few seconds with
    nothing changed, instead of waiting for ever with every new check-in
    queued behind it. Run again once the table is free, it goes through."""
    if make_url(scratch_url).get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL's lock queue; SQLite's writers wait their turn (busy timeout)")
    app.config["DATABASE_URL"], original = scratch_url, app.config["DATABASE_URL"]
    engine = make_engine(scratch_url)
    failures: list[BaseException] = []

    def upgrade():
        with app.app_context():
            try:
                command.upgrade(alembic_config(), "c24e5a9d1f07")
            except BaseException as exc:  # noqa: BLE001 (reported below)
                failures.append(exc)

    def revision() -> str | None:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    try:
        with app.app_context():
            command.upgrade(alembic_config(), "b24d1f8e6c42")
        check_in = engine.connect()
        check_in.exec_driver_sql("BEGIN")
        check_in.exec_driver_sql("LOCK TABLE checkins IN ROW EXCLUSIVE MODE")  # an INSERT's lock
        try:
            waiting = threading.Thread(target=upgrade)
            waiting.start()
            waiting.join(timeout=30)
            assert not waiting.is_alive(), "the migration still waits for the table"
        finally:
            check_in.rollback()
            check_in.close()
            waiting.join(timeout=30)
        assert len(failures) == 1 and "lock timeout" in str(failures[0]), failures
        assert revision() == "b24d1f8e6c42"
        upgrade()
        assert len(failures) == 1 and revision() == "c24e5a9d1f07"
    finally:
        engine.dispose()
        app.config["DATABASE_URL"] = original


def test_sqlite_pragmas(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    engine.dispose()


def test_concurrent_read_then_write_transactions_wait_instead_of_failing(sqlite_url):
    """Without BEGIN IMMEDIATE the second writer fails at once with "database is
    locked" when its read lock cannot be upgraded."""
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def worker():
        try:
            barrier.wait()
            for _ in range(20):
                with engine.begin() as conn:
                    n = conn.exec_driver_sql("SELECT n FROM counter").scalar()
                    conn.exec_driver_sql("UPDATE counter SET n = ?", (n + 1,))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with engine.connect() as conn:
        total = conn.exec_driver_sql("SELECT n FROM counter").scalar()
    engine.dispose()
    assert errors == []
    assert total == 80  # no lost update either


def _other_writer(url: str) -> None:
    """A second connection that writes one row, giving up after 0.2 s."""
    import sqlite3

    path = make_url(url).database
    other = sqlite3.connect(path, timeout=0.2, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO ledger (what) VALUES ('other')")
        other.execute("COMMIT")
    finally:
        other.close()


@pytest.fixture()
def ledger_engine(sqlite_url):
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE ledger (what TEXT)")
    yield engine
    engine.dispose()


def test_a_page_view_reads_without_the_write_lock_and_still_writes_its_audit_row(
        ledger_engine, sqlite_url):
    """GET requests begin as readers: a writer elsewhere is not kept waiting
    while a page renders, and the page's own audit write, made after that
    writer committed, waits its turn instead of failing."""
    from flask import Flask

    with Flask(__name__).test_request_context("/", method="GET"):
        with ledger_engine.connect() as conn:
            with conn.begin():
                assert conn.exec_driver_sql("SELECT count(*) FROM ledger").scalar() == 0
                _other_writer(sqlite_url)  # would time out behind BEGIN IMMEDIATE
                conn.exec_driver_sql("INSERT INTO ledger (what) VALUES ('viewed')")
    with ledger_engine.connect() as conn:
        rows = sorted(r[0] for r in conn.exec_driver_sql("SELECT what FROM ledger"))
    assert rows == ["other", "viewed"]


def test_a_form_post_reads_who_is_asking_as_a_reader_and_holds_the_write_lock_for_its_route(
        ledger_engine, sqlite_url):
    """Until its route begins, a form post only looks up who is asking: a
    writer elsewhere is not kept waiting. From then on its reads and writes are
    one unit: nobody writes between."""
    import sqlite3

    from flask import Flask

    from webapp.db import route_begins

    with Flask(__name__).test_request_context("/", method="POST"):
        with ledger_engine.connect() as conn:
            with conn.begin():
                conn.exec_driver_sql("SELECT count(*) FROM ledger").scalar()  # the session
                _other_writer(sqlite_url)  # would time out behind BEGIN IMMEDIATE
                route_begins()
                assert conn.exec_driver_sql("SELECT count(*) FROM ledger").scalar() == 1
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    _other_writer(sqlite_url)
                conn.exec_driver_sql("INSERT INTO ledger (what) VALUES ('posted')")
    with ledger_engine.connect() as conn:
        rows = sorted(r[0] for r in conn.exec_driver_sql("SELECT what FROM ledger"))
    assert rows == ["other", "posted"]


def test_a_post_takes_the_write_lock_once_its_sender_is_known_and_not_before(tmp_path):
    """The whole app on an SQLite file. A check-in post looks up its session
    as a reader, then stores the check-in under BEGIN IMMEDIATE; a change to a
    goal reads the goal under the write lock already. A PIN
    sign-in (nobody signed in yet) reads the phone's binding, with its count
    of wrong PINs, already under the write lock: the read and the count it
    updates are one unit."""
    import json

    from alembic import command
    from sqlalchemy import event

    from tests.conftest import PIN, Web, activate_returnee
    from webapp import create_app
    from webapp.config import TestConfig
    from webapp.db import get_db

    class Config(TestConfig):
        DATABASE_URL = "sqlite:///" + str(tmp_path / "app.db")

    app = create_app(Config)
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        engine = get_db().engine
    cli = app.test_cli_runner()
    assert cli.invoke(args=["seed-demo", "--json"]).exit_code == 0
    out = cli.invoke(args=["demo-returnee", "Lock Reader"]).output
    code = json.loads(out[out.index("{"):])["activation_code"]
    engine.dispose()
    sent: list[str] = []

    @event.listens_for(engine, "connect")
    def trace(dbapi_connection, _record):
        dbapi_connection.set_trace_callback(sent.append)

    def first(prefix: str, after: int = 0) -> int:
        return next(i for i, s in enumerate(sent) if i >= after
                    and s.lstrip().upper().startswith(prefix))

    def where(text: str) -> int:
        return next(i for i, s in enumerate(sent) if text in s)

    web = Web(app.test_client())
    activate_returnee(web, code)
    token = web.token("/checkin/")
    sent.clear()
    r = web.client.post("/checkin/", data={
        "csrf_token": token, "mood": "3", "visibility": "caseworker", "note": "",
        "client_uuid": str(uuid.uuid4())})
    assert r.status_code == 302, r.get_data(as_text=True)
    immediate = first("BEGIN IMMEDIATE")
    assert sent[0] == "BEGIN DEFERRED" and where("FROM auth_sessions") < immediate
    # The check-in (its own claim; the summary is its trigger) in the one
    # write transaction, then its commit.
    commit = first("COMMIT", after=immediate)
    assert immediate < where("INSERT INTO checkins") < commit
    assert not any(s.upper().startswith("BEGIN") for s in sent[immediate + 1:commit])

    # A signed-in post whose route reads before it writes: the goal it changes
    # is read (by the access check) under the write lock, the session not.
    r = web.post("/plan/goals/new", {"area": "work", "title": "Open a shop"},
                 form_page="/plan/goals/new?area=work")
    goal = int(r.headers["Location"].rstrip("/").split("/")[-1])
    token = web.token(f"/plan/goals/{goal}")
    sent.clear()
    r = web.client.post(f"/plan/goals/{goal}/status",
                        data={"status": "under_way", "csrf_token": token})
    assert r.status_code == 302, r.get_data(as_text=True)
    assert where("FROM auth_sessions") < first("BEGIN IMMEDIATE") < where("FROM plan_goals")
    update = where("UPDATE plan_goals")
    assert where("FROM plan_goals") < update < first("COMMIT", after=update)

    web.post("/signout", form_page="/home")
    token = web.token("/signin/pin")
    sent.clear()
    r = web.client.post("/signin/pin", data={"csrf_token": token, "pin": "111111"})
    assert r.status_code == 401  # a wrong PIN: counted
    assert sent[0] == "BEGIN IMMEDIATE"
    assert where("FROM device_bindings") < where("UPDATE device_bindings") < first("COMMIT")
    assert web.post("/signin/pin", {"pin": PIN}).status_code == 302
    engine.dispose()


def test_totp_secrets_are_stored_encrypted_and_migrated_both_ways(app, scratch_url, session,
                                                                   make_staff):
    """A copy of the database does not give the staff's TOTP secrets away;
    the migration encrypts those stored before, and its downgrade decrypts."""
    from sqlalchemy import text

    user = make_staff(totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")
    stored = session.execute(text("SELECT totp_secret FROM users WHERE id = :id"),
                             {"id": user.id}).scalar_one()
    assert "JBSWY3DPEHPK3PXP" not in stored
    session.expire_all()
    assert session.get(type(user), user.id).totp_secret == "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

    app.config["DATABASE_URL"], original = scratch_url, app.config["DATABASE_URL"]
    engine = make_engine(scratch_url)
    try:
        with app.app_context():
            cfg = alembic_config()
            command.upgrade(cfg, "7c41d9e2b6f3")
            with engine.begin() as conn:
                conn.execute(text("INSERT INTO organisations (name, country, timezone, "
                                  "emergency_phone, languages, currency, followup_months, "
                                  "export_secret, created_at) VALUES ('O', 'SL', 'UTC', '', '[]', "
                                  "'SLE', '[1]', 'x', CURRENT_TIMESTAMP)"))
                conn.execute(text("INSERT INTO users (organisation_id, role, display_name, "
                                  "totp_secret, totp_last_counter, session_epoch, created_at) "
                                  "SELECT id, 'caseworker', 'C', 'PLAINSECRET234567', 0, 0, "
                                  "CURRENT_TIMESTAMP FROM organisations"))
            command.upgrade(cfg, "9d3e5a7f1c20")
            with engine.connect() as conn:
                sealed_value = conn.execute(text("SELECT totp_secret FROM users")).scalar_one()
            assert sealed_value != "PLAINSECRET234567"
            from webapp.sealed import unseal

            assert unseal(sealed_value) == "PLAINSECRET234567"
            command.downgrade(cfg, "7c41d9e2b6f3")
            with engine.connect() as conn:
                assert conn.execute(text("SELECT totp_secret FROM users")).scalar_one() == (
                    "PLAINSECRET234567")
    finally:
        engine.dispose()
        app.config["DATABASE_URL"] = original
