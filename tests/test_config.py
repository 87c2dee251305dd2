"""Settings (issue #20): read from the environment in one place, checked at
start with messages that name the variable; production refuses to serve
half-configured, while the operator's commands that complete the setup run."""
from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webapp import create_app
from webapp.config import (
    EXAMPLE_VAPID_SUBJECT,
    Config,
    ConfigError,
    DevelopmentConfig,
    TestConfig,
    read_settings,
)
from webapp.push.service import generate_vapid
from webapp.queue import make_huey

ROOT = Path(__file__).resolve().parent.parent


def production_env(folder: Path, **changes: str) -> dict[str, str]:
    """A complete production environment whose state lives in `folder`;
    a change of "" leaves that variable out."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "vapid_private.pem").exists():
        generate_vapid(folder / "vapid_private.pem")
    env = {
        "FOOTING_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATA_KEY": Fernet.generate_key().decode(),
        "DATABASE_URL": f"sqlite:///{folder}/footing.db",
        "FOOTING_INSTANCE": str(folder),
        "VAPID_SUBJECT": "mailto:ops@partner.example.org",
        "EMERGENCY_PHONE": "+232 99 000 111",
    }
    env.update(changes)
    return {k: v for k, v in env.items() if v}


def production_config(folder: Path, **changes: str) -> Config:
    """The configuration a production process reads from that environment."""
    return read_settings(production_env(folder, **changes))


def refusal(config: Config) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        create_app(config)
    return caught.value.problems


# --- Reading -------------------------------------------------------------------------

def test_each_process_reads_the_same_settings_once():
    from webapp import queue
    from webapp.config import settings

    assert settings() is settings()
    assert settings().ENV_NAME == "testing" == os.environ.get("FOOTING_ENV")
    assert queue.huey.immediate  # the queue took the same settings


def test_values_are_read_from_the_environment_with_their_types(tmp_path):
    config = read_settings({"FOOTING_ENV": "development", "WORKER_LATE_SECONDS": " 90 ",
                            "SESSION_COOKIE_SECURE": "yes", "PUSH_ALLOW_HTTP_ENDPOINTS": "off",
                            "PUSH_SERVICE_HOSTS": "Push.Example.org, 127.0.0.1",
                            "FOOTING_INSTANCE": str(tmp_path / "state"),
                            "STAFF_IDLE_MINUTES": "", "QUICK_EXIT_URL": "https://example.org/",
                            "ARGON2_TIME_COST": "2", "ARGON2_MEMORY_COST": "1024"})
    assert isinstance(config, DevelopmentConfig)
    assert config.WORKER_LATE_SECONDS == 90 and config.SESSION_COOKIE_SECURE is True
    assert config.PUSH_ALLOW_HTTP_ENDPOINTS is False
    assert config.PUSH_SERVICE_HOSTS == ("push.example.org", "127.0.0.1")
    assert config.INSTANCE_PATH == str(tmp_path / "state")
    assert config.STAFF_IDLE_MINUTES == 60  # empty: the default
    assert config.QUICK_EXIT_URL == "https://example.org/"
    assert (config.ARGON2_TIME_COST, config.ARGON2_MEMORY_COST) == (2, 1024)
    assert config.ENVIRONMENT_PROBLEMS == ()
    # The classes keep their defaults: nothing is read when they are defined.
    assert DevelopmentConfig.WORKER_LATE_SECONDS == 180


@pytest.mark.parametrize("name, value, message", [
    ("WORKER_LATE_SECONDS", "abc", "WORKER_LATE_SECONDS must be a whole number, not 'abc'"),
    ("WORKER_LATE_SECONDS", "0", "WORKER_LATE_SECONDS must be at least 1, not '0'"),
    ("STAFF_IDLE_MINUTES", "1.5", "STAFF_IDLE_MINUTES must be a whole number, not '1.5'"),
    ("WEB_CONCURRENCY", "four", "WEB_CONCURRENCY must be a whole number, not 'four'"),
    ("ARGON2_MEMORY_COST", "4", "ARGON2_MEMORY_COST must be at least 8, not '4'"),
    ("SESSION_COOKIE_SECURE", "flase",
     "SESSION_COOKIE_SECURE must be on or off (1 or 0, true or false, yes or no), not 'flase'"),
    ("PUSH_SERVICE_HOSTS", "fcm.googleapis.com, https://x/",
     "PUSH_SERVICE_HOSTS must be host names separated by commas, not 'https://x/'"),
    ("FOOTING_ENV", "prod", "FOOTING_ENV must be production, development or testing, not 'prod'"),
    ("TRUSTED_PROXIES", "one", "TRUSTED_PROXIES must be the number of proxies in front of the "
                               "app (0 when none, 1 behind Caddy alone), not 'one'"),
    ("DATA_KEY", "not-a-key", "DATA_KEY must be a Fernet key (32 bytes, url-safe base64)"),
    ("VAPID_SUBJECT", "admin@partner.org",
     "VAPID_SUBJECT must be a mailto: or https: address, not 'admin@partner.org'"),
    ("EMERGENCY_PHONE", "call 112",
     "EMERGENCY_PHONE must be a phone number (digits, spaces, + and -), not 'call 112'"),
])
def test_a_value_that_cannot_be_read_stops_the_start_naming_it(tmp_path, name, value, message):
    env = {"FOOTING_ENV": "development", "DATABASE_URL": f"sqlite:///{tmp_path}/d.db",
           "FOOTING_INSTANCE": str(tmp_path), name: value}
    config = read_settings(env)  # reading itself never fails: the start does
    problems = refusal(config)
    if name == "FOOTING_ENV":  # then taken for production, and what it lacks follows
        problems = problems[:1]
    assert problems == [message]


def test_every_problem_is_in_one_message(tmp_path):
    config = read_settings({"FOOTING_ENV": "development", "WORKER_LATE_SECONDS": "abc",
                            "SESSION_COOKIE_SECURE": "maybe", "FOOTING_INSTANCE": str(tmp_path)})
    with pytest.raises(ConfigError) as caught:
        create_app(config)
    message = str(caught.value)
    assert message.splitlines() == [
        'Footing cannot start with these settings (README, "Configuration"):',
        "- WORKER_LATE_SECONDS must be a whole number, not 'abc'",
        "- SESSION_COOKIE_SECURE must be on or off (1 or 0, true or false, yes or no), "
        "not 'maybe'",
    ]


def test_the_queue_follows_the_settings(tmp_path):
    embedded = make_huey(read_settings({"FOOTING_ENV": "development",
                                        "FOOTING_INSTANCE": str(tmp_path)}))
    assert embedded.storage.filename == str(tmp_path / "huey.db") and not embedded.immediate
    shared = make_huey(read_settings({"FOOTING_ENV": "production",
                                      "REDIS_URL": "redis://127.0.0.1:1/3"}))
    assert type(shared).__name__ == "RedisHuey"  # no connection is made yet
    assert shared.storage.conn.connection_pool.connection_kwargs["db"] == 3


# --- Production refuses to serve half-configured ----------------------------------------

def test_a_complete_production_configuration_starts(tmp_path):
    app = create_app(production_config(tmp_path))
    app.extensions["footing_db"].engine.dispose()
    assert app.config["ENV_NAME"] == "production"
    assert app.instance_path == str(tmp_path)


@pytest.mark.parametrize("changes, message", [
    ({"DATA_KEY": ""},
     "DATA_KEY is not set: the key of the columns stored encrypted, kept apart from the "
     "backups (python3 -c 'from cryptography.fernet import Fernet; "
     "print(Fernet.generate_key().decode())')"),
    ({"VAPID_SUBJECT": ""},
     "VAPID_SUBJECT is not set: a mailto: or https: address of whoever runs this server, for "
     f"the push services (not the example {EXAMPLE_VAPID_SUBJECT})"),
    ({"VAPID_SUBJECT": EXAMPLE_VAPID_SUBJECT},
     "VAPID_SUBJECT is not set: a mailto: or https: address of whoever runs this server, for "
     f"the push services (not the example {EXAMPLE_VAPID_SUBJECT})"),
    ({"EMERGENCY_PHONE": ""},
     "EMERGENCY_PHONE is not set: the emergency number error pages show when the person's "
     "organisation is not at hand"),
    ({"WEB_CONCURRENCY": "4"},
     "REDIS_URL is not set, and WEB_CONCURRENCY is 4: more than one process serves, and they "
     "must share the rate limits and the job queue (redis://127.0.0.1:6379/0)"),
    ({"ARGON2_MEMORY_COST": "8", "ARGON2_TIME_COST": "1"},
     "ARGON2_MEMORY_COST 8 and ARGON2_TIME_COST 1 hash PINs and passwords too cheaply for "
     "people's data: at least 19456 KiB with 2 passes, or 47104 KiB with 1 (leave both empty "
     "for the default)"),
    ({"ARGON2_MEMORY_COST": "20000", "ARGON2_TIME_COST": "1"},
     "ARGON2_MEMORY_COST 20000 and ARGON2_TIME_COST 1 hash PINs and passwords too cheaply for "
     "people's data: at least 19456 KiB with 2 passes, or 47104 KiB with 1 (leave both empty "
     "for the default)"),
    # One pass needs 46 MiB (OWASP); 40,000 KiB passed while the rule was twice 19 MiB.
    ({"ARGON2_MEMORY_COST": "40000", "ARGON2_TIME_COST": "1"},
     "ARGON2_MEMORY_COST 40000 and ARGON2_TIME_COST 1 hash PINs and passwords too cheaply for "
     "people's data: at least 19456 KiB with 2 passes, or 47104 KiB with 1 (leave both empty "
     "for the default)"),
    ({"SECRET_KEY": "short"},
     "SECRET_KEY must be a random value of at least 32 characters "
     "(python3 -c 'import secrets; print(secrets.token_hex(32))')"),
])
def test_production_refuses_to_start_without(tmp_path, changes, message):
    assert refusal(production_config(tmp_path, **changes)) == [message]


@pytest.mark.parametrize("memory, passes", [("19456", "2"), ("47104", "1")])
def test_production_starts_with_owasps_least_argon2_cost(tmp_path, memory, passes):
    config = production_config(tmp_path, ARGON2_MEMORY_COST=memory, ARGON2_TIME_COST=passes)
    app = create_app(config)
    app.extensions["footing_db"].engine.dispose()
    assert (app.config["ARGON2_MEMORY_COST"], app.config["ARGON2_TIME_COST"]) == (
        int(memory), int(passes))


def test_production_refuses_to_start_without_a_vapid_key(tmp_path):
    config = production_config(tmp_path)
    (tmp_path / "vapid_private.pem").unlink()
    assert refusal(config) == [
        "No VAPID key for web push: set VAPID_PRIVATE_KEY, or run `footing push "
        f"generate-vapid`, which writes {tmp_path}/vapid_private.pem"]


def test_a_vapid_key_in_the_environment_or_its_file_will_do(tmp_path):
    import base64

    from py_vapid import Vapid01

    key = tmp_path / "keys" / "vapid.pem"
    public = generate_vapid(key)
    number = Vapid01.from_file(str(key)).private_key.private_numbers().private_value
    raw = base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()
    for private in (str(key), raw):  # a PEM file, or the key itself (as pywebpush reads it)
        config = production_config(tmp_path / "state", VAPID_PRIVATE_KEY=private,
                                   VAPID_PUBLIC_KEY=public)
        (tmp_path / "state" / "vapid_private.pem").unlink(missing_ok=True)
        create_app(config).extensions["footing_db"].engine.dispose()


def test_a_vapid_key_that_is_not_one_or_does_not_match_is_refused(tmp_path):
    assert refusal(production_config(tmp_path, VAPID_PRIVATE_KEY="not a key")) == [
        "VAPID_PRIVATE_KEY is not a VAPID private key (nor the path of a readable one)"]
    other = generate_vapid(tmp_path / "other.pem")
    assert refusal(production_config(tmp_path, VAPID_PUBLIC_KEY=other)) == [
        "VAPID_PUBLIC_KEY is not the public half of the VAPID private key: leave it empty (it "
        "is derived) or set the one `footing push generate-vapid` printed"]


def test_more_than_one_process_is_fine_with_redis(tmp_path):
    from webapp.config import missing_for_production

    config = production_config(tmp_path, WEB_CONCURRENCY="4", REDIS_URL="redis://cache:6379/0")
    values = {name: getattr(config, name) for name in dir(config) if name.isupper()}
    assert missing_for_production(values, str(tmp_path)) == []


def test_everything_missing_is_listed_at_once(tmp_path):
    config = read_settings({"FOOTING_ENV": "production", "SECRET_KEY": "s" * 40,
                            "FOOTING_INSTANCE": str(tmp_path), "WEB_CONCURRENCY": "2",
                            "DATABASE_URL": f"sqlite:///{tmp_path}/d.db"})
    assert [p.split(" ")[0] for p in refusal(config)] == [
        "DATA_KEY", "No", "VAPID_SUBJECT", "EMERGENCY_PHONE", "REDIS_URL"]


def test_development_and_tests_need_none_of_it(tmp_path):
    for base in (DevelopmentConfig, TestConfig):
        class Config(base):  # type: ignore[valid-type, misc]
            DATABASE_URL = f"sqlite:///{tmp_path}/d.db"
            INSTANCE_PATH = str(tmp_path)
            WEB_CONCURRENCY = 4

        create_app(Config).extensions["footing_db"].engine.dispose()


# --- The real processes ------------------------------------------------------------------

def _run(args: list[str], env: dict[str, str], cwd: Path,
         timeout: int = 180) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("FOOTING_", "FLASK_", "VAPID_", "DATA_KEY"))
             and k not in ("DATABASE_URL", "REDIS_URL", "WEB_CONCURRENCY", "SECRET_KEY",
                           "EMERGENCY_PHONE")}
    return subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**clean, **env, "PYTHONPATH": str(ROOT)})


def test_commands_complete_the_setup_and_the_server_refuses_until_then(tmp_path):
    """`footing push generate-vapid` runs on a half-made production setup (it
    is how the key gets there); gunicorn and `flask run` refuse it, naming
    what is missing, and start once it is complete."""
    state = tmp_path / "state"
    env = production_env(state, DATA_KEY="", VAPID_SUBJECT="")
    (state / "vapid_private.pem").unlink()

    made = _run(["-m", "webapp", "push", "generate-vapid"], env, tmp_path)
    assert made.returncode == 0, made.stderr
    assert "VAPID_PUBLIC_KEY=" in made.stdout and (state / "vapid_private.pem").is_file()

    for server in (["-m", "gunicorn", "--check-config", "webapp:create_app()"],
                   ["-m", "flask", "--app", "wsgi", "run", "--port", "0"]):
        refused = _run(server, env, ROOT if "wsgi" in server else tmp_path, timeout=90)
        assert refused.returncode != 0
        output = refused.stdout + refused.stderr
        assert "Footing cannot start with these settings" in output, output
        assert "- DATA_KEY is not set" in output and "- VAPID_SUBJECT is not set" in output
        assert "VAPID key" not in output

    complete = production_env(state)
    started = _run(["-m", "gunicorn", "--check-config", "webapp:create_app()"], complete,
                   tmp_path)
    assert started.returncode == 0, started.stdout + started.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_refuses_workers_given_on_its_command_line_without_redis(tmp_path):
    """WEB_CONCURRENCY unset, `--workers 2` given to gunicorn: the settings
    module deploy/ uses sees the real number and refuses before serving;
    with REDIS_URL, or one worker, it starts."""
    state = tmp_path / "state"
    env = production_env(state)
    port = _free_port()
    server = ["-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", "--bind",
              f"127.0.0.1:{port}", "--workers", "2", "webapp:create_app()"]
    refused = _run(server, env, tmp_path, timeout=90)
    assert refused.returncode == 1
    assert "REDIS_URL is not set, and gunicorn's --workers is 2" in refused.stderr, refused.stderr
    assert "Booting worker" not in refused.stderr

    checked = _run(["-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", "--check-config",
                    "--workers", "2", "webapp:create_app()"],
                   {**env, "REDIS_URL": "redis://127.0.0.1:6379/15"}, tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_gunicorn_worker_sets_the_loaded_app_aside_from_the_garbage_collector(tmp_path):
    """After gunicorn's worker has loaded the app, the settings' hook leaves
    the collector a few objects to walk instead of the whole app's: a full
    collection over the app stopped a worker for 0.16-0.24 s every few
    thousand check-ins (issue #24). In a process of its own: a frozen test
    process would keep every test's garbage."""
    script = ("import gc\n"
              "from webapp import create_app, gunicorn_conf\n"
              "app = create_app()\n"
              "loaded = len(gc.get_objects())\n"
              "gunicorn_conf.post_worker_init(None)\n"
              "print(loaded, len(gc.get_objects()), gc.get_freeze_count())\n")
    done = _run(["-c", script], production_env(tmp_path / "state"), tmp_path)
    assert done.returncode == 0, done.stderr
    loaded, walked, set_aside = map(int, done.stdout.split())
    assert loaded > 50_000  # the app: modules, catalogs, mappers
    assert walked < loaded / 100
    assert set_aside > loaded / 2


def test_the_job_worker_sets_the_loaded_app_aside_from_the_garbage_collector(tmp_path):
    """The same for the job worker (`huey_consumer webapp.worker.huey`): once
    the module has made its app, a full collection walks what jobs made
    since, not the app."""
    script = ("import gc\n"
              "import webapp.worker\n"
              "print(len(gc.get_objects()), gc.get_freeze_count())\n")
    done = _run(["-c", script], production_env(tmp_path / "state"), tmp_path)
    assert done.returncode == 0, done.stderr
    walked, set_aside = map(int, done.stdout.split())
    assert set_aside > 50_000  # the app: modules, catalogs, mappers
    assert walked < set_aside / 100


def test_gunicorn_starts_as_many_workers_as_web_concurrency_says(tmp_path):
    env = production_env(tmp_path / "state", WEB_CONCURRENCY="3",
                         REDIS_URL="redis://127.0.0.1:6379/15")
    printed = _run(["-m", "gunicorn", "-c", "python:webapp.gunicorn_conf", "--print-config",
                    "webapp:create_app()"], env, tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert re.search(r"^workers\s*=\s*3$", printed.stdout, re.M), printed.stdout
