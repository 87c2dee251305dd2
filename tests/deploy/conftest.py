"""The app as deployed: gunicorn and the worker behind Caddy, over HTTPS.

Not part of the normal runs: these tests are collected only when asked for
with `-m deploy`, which scripts/behind_caddy.sh does (it also installs Debian's
caddy when missing, and stops anything left behind if pytest itself dies).

    scripts/behind_caddy.sh

The stack is started the way deploy/ says: the commands are the units'
ExecStart lines (deploy/footing-web.service, deploy/footing-worker.service)
with this virtual environment's executables and loopback ports, and Caddy
imports deploy/footing.caddy into a site with `tls internal` (a global
`local_certs` and `skip_install_trust`, so nothing leaves the machine).
The app runs with the production configuration and TRUSTED_PROXIES=1, on a
fresh SQLite database filled by `flask seed-demo --json` (run with the
development configuration: production refuses it) and, for the rate limits
gunicorn's two workers must share and for the job queue, Redis (a database
of its own, emptied first: DEPLOY_REDIS_URL, default redis://127.0.0.1:6379/9).
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from ..browser.conftest import ROOT, Account, LiveServer, _free_port, flask_command
from ..push_receiver import PushReceiver

CADDY = os.environ.get("CADDY", "caddy")
REDIS_URL = os.environ.get("DEPLOY_REDIS_URL", "redis://127.0.0.1:6379/9")
START_SECONDS = 90  # a loaded CI machine: gunicorn's workers each build the app
VENV_BIN = Path(sys.executable).parent


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "deploy: the app behind Caddy over HTTPS (scripts/behind_caddy.sh)")


def pytest_ignore_collect(collection_path, config):
    """Only `-m deploy` (or an expression naming it) collects these tests."""
    if "deploy" not in (config.getoption("markexpr") or ""):
        return True
    return None


def unit_command(unit: str, **values: str) -> list[str]:
    """The ExecStart of a shipped unit, with this environment's executable and
    the values of some of its options replaced (bind="127.0.0.1:…"): gunicorn
    adds a second --bind to the first rather than replacing it."""
    text = (ROOT / "deploy" / unit).read_text()
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    argv = shlex.split(line.removeprefix("ExecStart="))
    argv[0] = str(VENV_BIN / Path(argv[0]).name)
    for name, value in values.items():
        option = "--" + name.replace("_", "-")
        assert option in argv, f"{unit}: no {option} in {argv}"
        argv[argv.index(option) + 1] = value
    return argv


CADDYFILE = """\
{{
	local_certs
	skip_install_trust
	admin off
	auto_https disable_redirects
	http_port {http_port}
	https_port {https_port}
	storage file_system {storage}
}}

https://localhost:{https_port} {{
	bind 127.0.0.1
	tls internal
	import {site}
}}
"""


@dataclass
class Stack:
    url: str  # https://localhost:<port>, through Caddy
    port: int
    upstream: str  # http://127.0.0.1:<port>, gunicorn itself
    tmp: Path
    server: LiveServer  # the demo accounts, as the browser tests know them
    receiver: PushReceiver
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def access_log(self) -> Path:
        return self.tmp / "gunicorn-access.log"

    def tail(self, lines: int = 25) -> str:
        """The end of every log, for a failure's message."""
        out = []
        for log in sorted(self.tmp.glob("*.log")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name} ---\n" + "\n".join(text))
        return "\n".join(out)


def _answers(url: str, context: ssl.SSLContext | None = None) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as r:
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    """Each started process and its children (its own process group)."""
    for proc in reversed(list(procs.values())):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
    for proc in reversed(list(procs.values())):
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def _flush_redis() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except redis.exceptions.ConnectionError as exc:
        pytest.fail(f"Redis does not answer at {REDIS_URL} ({exc}); start it first "
                    "(.ci/run does, in step 2)", pytrace=False)
    finally:
        client.close()


@pytest.fixture(scope="session")
def stack(tmp_path_factory) -> Iterator[Stack]:
    if shutil.which(CADDY) is None:
        pytest.fail(f"{CADDY} not found: apt-get install caddy (scripts/behind_caddy.sh "
                    "does it)", pytrace=False)
    _flush_redis()
    tmp = tmp_path_factory.mktemp("stack")
    instance = tmp / "instance"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FLASK_", "TEST_", "BROWSER_")) and k != "DATABASE_URL"}
    env.update({
        "FOOTING_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "FOOTING_INSTANCE": str(instance),  # the default SQLite database is made there
        "DATA_KEY": Fernet.generate_key().decode(),
        "REDIS_URL": REDIS_URL,
        "WEB_CONCURRENCY": "2",  # gunicorn's workers (the unit sets no --workers)
        "TRUSTED_PROXIES": "1",
        "VAPID_SUBJECT": "mailto:ops@footing.example.org",
        "EMERGENCY_PHONE": "+232 99 000 111",
        "PUSH_ALLOW_HTTP_ENDPOINTS": "1",  # the local push receiver is http
        "PUSH_SERVICE_HOSTS": "127.0.0.1",  # …and the only push service here
        "PYTHONUNBUFFERED": "1",
        # Not the machine's: gunicorn's control socket, caddy's certificates.
        "HOME": str(tmp),
        "XDG_RUNTIME_DIR": str(tmp),
        "XDG_DATA_HOME": str(tmp / "caddy"),
        "XDG_CONFIG_HOME": str(tmp / "caddy"),
    })
    flask_command(env, "db", "upgrade")
    seeded = flask_command({**env, "FOOTING_ENV": "development"}, "seed-demo", "--json").stdout
    data = json.loads(seeded[seeded.index("{"):])
    accounts = [Account(**{k: a.get(k) for k in Account.__dataclass_fields__})
                for a in data["accounts"]]
    vapid = flask_command(env, "push", "generate-vapid").stdout
    env["VAPID_PUBLIC_KEY"] = vapid.split("VAPID_PUBLIC_KEY=", 1)[1].split()[0]
    assert (instance / "vapid_private.pem").is_file(), vapid

    app_port, https_port, http_port = _free_port(), _free_port(), _free_port()
    caddyfile = tmp / "Caddyfile"
    caddyfile.write_text(CADDYFILE.format(
        http_port=http_port, https_port=https_port, storage=tmp / "caddy",
        site=ROOT / "deploy" / "footing.caddy"))
    commands = {
        "gunicorn": unit_command("footing-web.service", bind=f"127.0.0.1:{app_port}") + [
            "--access-logfile", str(tmp / "gunicorn-access.log")],
        "worker": unit_command("footing-worker.service"),
        "caddy": [CADDY, "run", "--adapter", "caddyfile", "--config", str(caddyfile)],
    }
    caddy_env = {**env, "FOOTING_UPSTREAM": f"127.0.0.1:{app_port}"}
    pidfile = os.environ.get("DEPLOY_PIDFILE")
    procs: dict[str, subprocess.Popen] = {}
    receiver = PushReceiver().__enter__()
    try:
        for name, argv in commands.items():
            with open(tmp / f"{name}.log", "w") as log:
                procs[name] = subprocess.Popen(
                    argv, cwd=tmp, env=caddy_env if name == "caddy" else env,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            if pidfile:  # the script stops these even when pytest dies
                with open(pidfile, "a") as f:
                    f.write(f"{procs[name].pid}\n")
        url = f"https://localhost:{https_port}"
        stack = Stack(url=url, port=https_port, upstream=f"http://127.0.0.1:{app_port}",
                      tmp=tmp, receiver=receiver, procs=procs,
                      server=LiveServer(url=url, log=tmp / "gunicorn-access.log", env=env,
                                        organisation=data["organisation"], accounts=accounts))
        insecure = ssl._create_unverified_context()
        deadline = time.monotonic() + START_SECONDS
        for what, check in (("gunicorn", lambda: _answers(stack.upstream + "/healthz")),
                            ("caddy", lambda: _answers(url + "/healthz", insecure))):
            while not check():
                gone = [n for n, p in procs.items() if p.poll() is not None]
                if gone or time.monotonic() > deadline:
                    pytest.fail(f"{what} did not answer /healthz (exited: {gone}):\n"
                                f"{stack.tail()}", pytrace=False)
                time.sleep(0.3)
        yield stack
    finally:
        _stop(procs)
        receiver.__exit__(None, None, None)
