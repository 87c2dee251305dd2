"""Command-line tools: seed-demo, db upgrade."""
from __future__ import annotations

import json

from webapp import create_app
from webapp.config import Config


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
    class Prod(Config):
        SECRET_KEY = "p" * 40
        DATABASE_URL = "sqlite:///" + str(tmp_path / "prod.db")

    result = create_app(Prod).test_cli_runner().invoke(args=["seed-demo"])
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
