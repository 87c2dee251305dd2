"""What a deployment sets (issue #20): TRUSTED_PROXIES for the proxy in front
(deploy/Caddyfile), FOOTING_INSTANCE for the folder the processes share.

`behind_proxy` is the session's app wrapped the way create_app wraps it with
TRUSTED_PROXIES=1; `app` itself has 0. tests/deploy/ checks the same through
a real Caddy, gunicorn and Chromium."""
from __future__ import annotations

import re

import pytest
import segno
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import create_app, proxy
from webapp.config import TestConfig
from webapp.models import Role

from .conftest import Web, sign_in_staff

WRONG = "wrong-wrong-wrong"
HSTS = "Strict-Transport-Security"


@pytest.fixture()
def behind_proxy(app, monkeypatch):
    monkeypatch.setitem(app.config, "TRUSTED_PROXIES", "1")
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)  # put back afterwards
    proxy.init_app(app)
    assert isinstance(app.wsgi_app, ProxyFix)
    return app


def client_from(app, address: str | None = None, **forwarded: str) -> Web:
    """A client whose connection comes from 127.0.0.1 (the proxy) and whose
    every request carries these X-Forwarded-* headers (for="…", proto="…")."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address or "127.0.0.1"})
    client.environ_base.update({f"HTTP_X_FORWARDED_{k.upper()}": v for k, v in forwarded.items()})
    return Web(client)


def failed_signins(web: Web, email: str, times: int) -> list[int]:
    return [web.post("/signin/staff", {"email": email, "password": WRONG}).status_code
            for _ in range(times)]


def test_behind_one_proxy_each_client_has_its_own_signin_bucket(behind_proxy, make_staff):
    first, second = make_staff(), make_staff()
    one = client_from(behind_proxy, **{"for": "203.0.113.1"})
    assert failed_signins(one, first.email, 11) == [401] * 10 + [429]
    other = client_from(behind_proxy, **{"for": "203.0.113.2"})
    assert failed_signins(other, second.email, 1) == [401]
    # The proxy's own entry is what counts: an address the client wrote
    # before it changes nothing.
    again = client_from(behind_proxy, **{"for": "198.51.100.7, 203.0.113.1"})
    assert failed_signins(again, second.email, 1) == [429]


def test_without_trusted_proxies_a_forged_address_changes_nothing(app, make_staff):
    assert app.config["TRUSTED_PROXIES"] == 0
    first, second = make_staff(), make_staff()
    one = client_from(app, **{"for": "203.0.113.1"})
    assert failed_signins(one, first.email, 10) == [401] * 10
    forged = client_from(app, **{"for": "203.0.113.2"})
    assert failed_signins(forged, second.email, 1) == [429]
    # The connection's own address is still what counts.
    assert failed_signins(client_from(app, "10.9.8.7"), second.email, 1) == [401]


def test_hsts_follows_the_scheme_the_proxy_saw(behind_proxy):
    assert HSTS in client_from(behind_proxy, proto="https").get("/signin").headers
    assert HSTS not in client_from(behind_proxy, proto="http").get("/signin").headers
    assert HSTS not in client_from(behind_proxy).get("/signin").headers


def test_without_trusted_proxies_a_forged_scheme_gets_no_hsts(app):
    r = client_from(app, proto="https", host="evil.example").get("/signin")
    assert HSTS not in r.headers


def _activation_qr(app, make_staff, **forwarded: str) -> tuple[str, str]:
    """A coordinator makes a staff account: (the code, the page with its QR)."""
    coordinator = make_staff(Role.COORDINATOR)
    web = client_from(app, **forwarded)
    sign_in_staff(web, coordinator)
    r = web.post("/people/new/staff", {"display_name": "Fatmata", "role": "caseworker",
                                       "email": f"fatmata-{coordinator.id}@example.org",
                                       "locale": "en"})
    assert r.status_code == 200, r.get_data(as_text=True)
    page = r.get_data(as_text=True)
    code = re.search(r'class="code-big" dir="ltr">([A-Z0-9-]+)<', page).group(1)
    return code, page


def _qr_path(url: str) -> str:
    """The drawing of the QR code of `url`, as the activation sheet makes it."""
    svg = segno.make(url, error="m").svg_inline(scale=4, omitsize=True)
    return re.search(r' d="([^"]+)"', svg).group(1)


def test_the_activation_qr_holds_the_address_the_client_used(behind_proxy, make_staff):
    code, page = _activation_qr(behind_proxy, make_staff, **{
        "for": "203.0.113.5", "proto": "https", "host": "footing.example.org"})
    assert _qr_path(f"https://footing.example.org/activate#code={code}") in page


def test_without_trusted_proxies_the_qr_ignores_forwarded_headers(app, make_staff):
    code, page = _activation_qr(app, make_staff, proto="https", host="evil.example")
    assert _qr_path(f"http://localhost/activate#code={code}") in page


@pytest.mark.parametrize("value", ["one", "-1", "1.5", "yes", "1,2", "100"])
def test_a_malformed_trusted_proxies_stops_the_start(value):
    class Config(TestConfig):
        TRUSTED_PROXIES = value

    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES must be the number of proxies"):
        create_app(Config)


@pytest.mark.parametrize(("value", "hops"), [("", 0), (" 2 ", 2), (1, 1), ("0", 0)])
def test_trusted_proxies_reads_a_number_of_hops(value, hops):
    assert proxy.trusted_proxies(value) == hops


def test_create_app_puts_proxy_fix_outermost(app, tmp_path):
    class Config(TestConfig):
        INSTANCE_PATH = str(tmp_path)
        TRUSTED_PROXIES = "2"
        DATABASE_URL = app.config["DATABASE_URL"]
        REDIS_URL = app.config["REDIS_URL"]

    behind = create_app(Config)
    behind.extensions["footing_db"].engine.dispose()
    assert isinstance(behind.wsgi_app, ProxyFix)
    fix = behind.wsgi_app
    assert (fix.x_for, fix.x_proto, fix.x_host, fix.x_port, fix.x_prefix) == (2, 2, 2, 0, 0)


def test_footing_instance_is_the_instance_folder_of_every_process(tmp_path):
    """The web app's, as the job queue's (webapp/queue.py): the systemd units
    point both at their state directory."""
    from webapp.config import read_settings
    from webapp.queue import make_huey

    settings = read_settings({"FOOTING_ENV": "development",
                              "FOOTING_INSTANCE": str(tmp_path / "state")})
    other = create_app(settings)
    other.extensions["footing_db"].engine.dispose()
    assert other.instance_path == str(tmp_path / "state")
    assert other.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/state/footing.db"
    assert (tmp_path / "state" / "static-build").is_dir()
    assert make_huey(settings).storage.filename == f"{tmp_path}/state/huey.db"
