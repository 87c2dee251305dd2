"""Command-line tools: seed-demo, db upgrade."""
from __future__ import annotations

import json

from webapp import create_app


def test_seed_demo_prints_accounts_as_json(app, connection):
    result = app.test_cli_runner().invoke(args=["seed-demo", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    roles = sorted({a["role"] for a in data["accounts"]})
    assert roles == ["caseworker", "coordinator", "facilitator", "returnee"]
    staff = [a for a in data["accounts"] if a["role"] != "returnee"]
    assert all(a["email"] and a["password"] and len(a["totp_secret"]) >= 16 for a in staff)
    assert all(a["activation_code"] for a in data["accounts"] if a["role"] == "returnee")
    # Run again: same accounts, fresh codes for those not activated yet.
    again = json.loads(app.test_cli_runner().invoke(args=["seed-demo", "--json"]).output)
    assert [a["user_id"] for a in again["accounts"]] == [a["user_id"] for a in data["accounts"]]


def test_seed_demo_codes_and_totp_work(app, connection):
    import pyotp

    from .conftest import Web, activate_returnee

    data = json.loads(app.test_cli_runner().invoke(args=["seed-demo", "--json"]).output)
    coordinator = next(a for a in data["accounts"] if a["role"] == "coordinator")
    web = Web(app.test_client())
    web.post("/signin/staff", {"email": coordinator["email"], "password": coordinator["password"]})
    r = web.post("/signin/staff/code", {"code": pyotp.TOTP(coordinator["totp_secret"]).now()})
    assert r.status_code == 302
    returnee = next(a for a in data["accounts"] if a["role"] == "returnee")
    activate_returnee(Web(app.test_client()), returnee["activation_code"])


def test_seed_demo_refuses_production(tmp_path):
    from .test_config import production_config

    result = create_app(production_config(tmp_path)).test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code != 0
    assert "refuses" in result.output


def test_demo_returnee_adds_one_more_person_with_a_working_code(app, connection):
    from .conftest import Web, activate_returnee

    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-returnee", "Nobody"]).exit_code != 0  # no demo org yet
    runner.invoke(args=["seed-demo", "--json"])
    result = runner.invoke(args=["demo-returnee", "Kadiatu", "--locale", "nl"])
    assert result.exit_code == 0, result.output
    account = json.loads(result.output)
    assert account["role"] == "returnee" and account["name"] == "Kadiatu"
    web = Web(app.test_client())
    activate_returnee(web, account["activation_code"])
    assert 'lang="nl"' in web.get("/home").get_data(as_text=True)


def test_demo_returnee_makes_one_person_a_line_from_stdin(app, connection):
    """One process for many (the browser tests): each line answered on its
    own line, a refused one with its reason, the next made all the same."""
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo", "--json"])
    asked = [{"name": "Pipe One"}, {"name": "Pipe Two", "caseworker": "nobody@example.org"},
             {"name": "Pipe Three", "locale": "nl"}]
    lines = [json.dumps(a) for a in asked]
    lines[2:2] = ["not json", json.dumps({"nom": "x"})]
    result = runner.invoke(args=["demo-returnee", "--stdin"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    answers = [json.loads(line) for line in result.output.splitlines()]
    assert [a.get("name") for a in answers] == ["Pipe One", None, None, None, "Pipe Three"]
    assert answers[1] == {"error": "no such caseworker in the demo organisation"}
    assert all(a["error"].startswith("not a person") for a in answers[2:4])
    answers = [answers[0], answers[1], answers[4]]
    assert answers[0]["user_id"] != answers[2]["user_id"]
    assert answers[0]["activation_code"] != answers[2]["activation_code"]
    assert runner.invoke(args=["demo-returnee"]).exit_code != 0  # a name, or --stdin


# --- flask db current, history ------------------------------------------------------

def test_db_current_and_history_say_where_the_database_is(tmp_path):
    from webapp.config import TestConfig

    class Fresh(TestConfig):
        DATABASE_URL = "sqlite:///" + str(tmp_path / "fresh.db")

    runner = create_app(Fresh).test_cli_runner()

    def db(*args):
        result = runner.invoke(args=["db", *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert db("current").strip() == ""  # nothing before the first upgrade
    db("upgrade")
    head, marker = db("current").split()
    assert marker == "(head)"
    db("downgrade")
    (previous,) = db("current").split()
    history = db("history")
    assert f"{previous} -> {head} (head)," in history
    assert f"-> {previous} (current)," in history


# --- flask db backup ----------------------------------------------------------------

def _live_sqlite_app(tmp_path):
    """An app on its own SQLite file, migrated and seeded, as `make run` leaves it
    (the suite's shared database may be PostgreSQL)."""
    from webapp.config import TestConfig

    class Live(TestConfig):
        DATABASE_URL = "sqlite:///" + str(tmp_path / "live.db")

    app = create_app(Live)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["seed-demo", "--json"]).exit_code == 0
    return app, tmp_path / "live.db"


def _rows(path, sql):
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_backup_copies_every_committed_row_while_a_write_is_open(tmp_path):
    import sqlite3
    import stat

    app, live = _live_sqlite_app(tmp_path)
    target = tmp_path / "backups" / "footing.db"
    target.parent.mkdir()
    # Another process is half-way through a write: the backup neither waits
    # for it nor copies what it has not committed.
    writer = sqlite3.connect(live, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE organisations SET name = 'not committed'")
    try:
        result = app.test_cli_runner().invoke(args=["db", "backup", str(target)])
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert result.exit_code == 0, result.output
    assert "Backup written" in result.output and "encrypted" in result.output
    query = "SELECT id, display_name, role, totp_secret FROM users ORDER BY id"
    assert _rows(target, query) == _rows(live, query) and len(_rows(target, query)) >= 5
    names = "SELECT name FROM organisations"
    assert _rows(target, names) == _rows(live, names)
    assert _rows(target, "PRAGMA journal_mode") == [("delete",)]  # one file, no WAL beside it
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # personal data: the owner only
    assert sorted(p.name for p in target.parent.iterdir()) == ["footing.db"]  # no .partial left
    # The copy is a working database: the app starts on it and is at the same migration.
    assert _rows(target, "SELECT version_num FROM alembic_version") == \
        _rows(live, "SELECT version_num FROM alembic_version")


def test_backup_never_overwrites(tmp_path):
    app, _live = _live_sqlite_app(tmp_path)
    target = tmp_path / "footing.db.bak"
    target.write_bytes(b"an older backup")
    result = app.test_cli_runner().invoke(args=["db", "backup", str(target)])
    assert result.exit_code != 0
    assert "exists" in result.output
    assert target.read_bytes() == b"an older backup"


def test_backup_of_postgresql_points_to_pg_dump(tmp_path):
    from webapp.config import TestConfig

    class Pg(TestConfig):
        DATABASE_URL = "postgresql+psycopg://nobody@127.0.0.1:1/none"

    target = tmp_path / "footing.db"
    result = create_app(Pg).test_cli_runner().invoke(args=["db", "backup", str(target)])
    assert result.exit_code != 0
    assert "pg_dump" in result.output
    assert not target.exists() and not list(tmp_path.iterdir())


def test_restoring_a_backup_then_delete_again_keeps_a_deletion_made_since(tmp_path):
    """The backup was made before a person's account was deleted: restoring it
    brings the person back, and `delete-again` with the id from the log line
    deletes them once more."""
    import shutil

    from sqlalchemy import func, select

    from webapp.audit import AuditEvent
    from webapp.checkins.models import CheckIn
    from webapp.checkins.service import record_checkin
    from webapp.config import TestConfig
    from webapp.db import db_session
    from webapp.models import Role, User, utcnow
    from webapp.privacy import service as privacy

    app, live = _live_sqlite_app(tmp_path)
    with app.app_context():
        s = db_session()
        person = s.scalars(select(User).where(User.role == Role.RETURNEE.value)).first()
        staff = s.scalars(select(User).where(User.role == Role.CASEWORKER.value)).first()
        person_id, staff_id, name = person.id, staff.id, person.display_name
        person.deletion_requested_at = utcnow()
        record_checkin(s, person, mood=2, answers={}, note="Written before the backup",
                       share_with_group=False)
        s.commit()
    backup = tmp_path / "before-the-deletion.db"
    assert app.test_cli_runner().invoke(args=["db", "backup", str(backup)]).exit_code == 0
    with app.app_context():
        s = db_session()
        privacy.delete_account(s, s.get(User, staff_id), s.get(User, person_id))
        s.commit()

    # The server is lost; the backup comes back in its place.
    restored_path = tmp_path / "restored" / "footing.db"
    restored_path.parent.mkdir()
    shutil.copyfile(backup, restored_path)

    class Restored(TestConfig):
        DATABASE_URL = "sqlite:///" + str(restored_path)

    restored = create_app(Restored)

    def notes():
        with restored.app_context():
            return db_session().scalars(
                select(CheckIn.note).where(CheckIn.user_id == person_id)).all()

    assert notes() == ["Written before the backup"]  # the person is back
    runner = restored.test_cli_runner()
    # A staff account's id (a slip in the list) is refused and nothing changes.
    result = runner.invoke(args=["delete-again", str(person_id), str(staff_id)])
    assert result.exit_code != 0 and f"account {staff_id}" in result.output
    assert notes() == ["Written before the backup"]

    result = runner.invoke(args=["delete-again", str(person_id)])
    assert result.exit_code == 0, result.output
    assert f"Account {person_id}: deleted" in result.output
    assert name not in result.output  # ids only
    with restored.app_context():
        s = db_session()
        shell = s.get(User, person_id)
        assert shell.deleted_at and shell.display_name == "" and shell.pin_hash is None
        trail = s.execute(select(AuditEvent.action, AuditEvent.actor_id)
                          .where(AuditEvent.subject_id == person_id)
                          .order_by(AuditEvent.id.desc())).first()
        assert tuple(trail) == ("account.delete", None)
        assert s.scalar(select(func.count()).select_from(CheckIn)
                        .where(CheckIn.user_id == person_id)) == 0
    # Run again (the same list twice): nothing left to do, no error.
    assert runner.invoke(args=["delete-again", str(person_id)]).exit_code == 0


def test_seed_demo_fills_the_directory_and_a_safety_plan_marked_as_demo(app, connection):
    """Issue #22: `make run` shows the directory, the emergency numbers on the
    help pages and a safety plan."""
    from sqlalchemy import select

    from webapp.db import db_session
    from webapp.directory.models import Place
    from webapp.safety.models import SafetyPlanVersion

    data = json.loads(app.test_cli_runner().invoke(args=["seed-demo", "--json"]).output)
    with app.app_context():
        places = db_session().scalars(select(Place)).all()
        kinds = {p.kind for p in places}
        assert {"clinic", "pharmacy", "emergency", "womens_shelter", "legal_aid",
                "micro_finance"} <= kinds
        assert all("(demo)" in p.name and "Demo entry" in p.who for p in places)
        assert any(p.medicine_list for p in places if p.kind == "pharmacy")
        (plan,) = db_session().scalars(select(SafetyPlanVersion)).all()
        abdul = next(a for a in data["accounts"] if a["name"] == "Abdul")
        assert plan.returnee_id == abdul["user_id"] and len(plan.place_ids) == 2
    # Run again: nothing added twice.
    app.test_cli_runner().invoke(args=["seed-demo", "--json"])
    with app.app_context():
        assert len(db_session().scalars(select(Place)).all()) == len(places)
