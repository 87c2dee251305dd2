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
