"""Settings: read from the environment in one place, checked when a process starts.

`settings()` reads the environment once per process and is what the web app
(`create_app()`), the worker (`webapp.worker`, `webapp.queue`) and the command
line (`flask --app wsgi …`, `footing …`) all use. It is a `Config` (or a
`DevelopmentConfig`, `TestConfig`, after FOOTING_ENV): the classes hold the
defaults, the object what the environment says (`ENVIRONMENT`). Reading never
fails: a value that cannot be read is noted, and `Config.validate`, which
`create_app` calls, stops the start with one message naming every problem.
Tests pass their own classes to `create_app`.

Production refuses to serve half-configured (`missing_for_production`): the
web app and the worker do not start without what they need. Operators'
commands (`footing db upgrade`, `footing push generate-vapid`) are what
completes the setup, so they run without it (`serving`).
"""
from __future__ import annotations

import base64
import functools
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import click
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from flask import Flask
from py_vapid import Vapid01

from . import proxy

INSECURE_SECRET = "insecure-development-key-change-me"
EXAMPLE_VAPID_SUBJECT = "mailto:admin@example.org"


class ConfigError(RuntimeError):
    """The settings a process cannot start with; the message lists them all."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("Footing cannot start with these settings (README, \"Configuration\"):\n"
                         + "\n".join(f"- {p}" for p in problems))


class Config:
    ENV_NAME = "production"
    TESTING = False
    # What the environment held that could not be read (see `settings`).
    ENVIRONMENT_PROBLEMS: tuple[str, ...] = ()
    # FOOTING_INSTANCE; None: Flask's default (`instance/` in a checkout).
    INSTANCE_PATH: str | None = None
    SECRET_KEY = ""
    # Key of the columns stored encrypted (webapp/sealed.py): a Fernet key
    # (python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').
    # Empty: derived from SECRET_KEY (not in production).
    DATA_KEY = ""
    # Keys DATA_KEY had before (comma-separated): still read, until `flask reseal`
    # has sealed everything again with DATA_KEY.
    DATA_KEY_RETIRED = ""
    # Default: SQLite in the instance folder (filled in by create_app).
    DATABASE_URL = ""
    REDIS_URL = ""
    # gunicorn's number of workers (it reads WEB_CONCURRENCY too, when no
    # --workers is given): more than one serving process needs REDIS_URL, or
    # each would count sign-in attempts on its own.
    WEB_CONCURRENCY = 1
    # How many proxies in front of gunicorn set X-Forwarded-For, -Proto and
    # -Host (Caddy alone: 1); 0 ignores those headers (webapp/proxy.py).
    TRUSTED_PROXIES: str | int = "0"
    # Web push: the private key (a key, or the path of a PEM file; unset: the
    # instance folder's vapid_private.pem), its public half (unset: derived)
    # and who runs the server, for the push services to contact.
    VAPID_PUBLIC_KEY = ""
    VAPID_PRIVATE_KEY = ""
    VAPID_SUBJECT = ""
    PUSH_TIMEOUT_SECONDS = 10
    # The worker sweeps every minute: it escalates overdue alerts and routes
    # a signal whose alert could not be made with it. A signal still not
    # routed, or an alert not escalated, this long after it was due means the
    # worker has stopped: staff pages say so; /healthz/worker fails when no
    # sweep finished for this long.
    WORKER_LATE_SECONDS = 180
    # Real push services are HTTPS; tests and benchmarks use a local receiver.
    PUSH_ALLOW_HTTP_ENDPOINTS = False
    # The push services a device may name as its endpoint (each host and its
    # subdomains): the worker POSTs to that address, so any other would let a
    # signed-in person point the server at a host of their choosing. These are
    # the services of the browsers in use today (Chrome and Android, Firefox,
    # Edge, Safari).
    PUSH_SERVICE_HOSTS: tuple[str, ...] = (
        "fcm.googleapis.com", "push.services.mozilla.com", "notify.windows.com", "push.apple.com")

    # The emergency number of error pages when the person's organisation is
    # not at hand (signed out, or the database down): someone in danger must
    # always see a number. Required in production.
    EMERGENCY_PHONE = ""

    # Sessions: ours live server-side (AuthSession rows); the cookie only carries
    # the token. Flask-Login's remember cookie is never set.
    SESSION_COOKIE_NAME = "footing_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_DURATION = 0
    RETURNEE_IDLE_MINUTES = 30
    STAFF_IDLE_MINUTES = 60
    # However active, a session ends after this long (sign in again).
    SESSION_MAX_HOURS = 12
    # A device binding cookie lives long: the phone stays bound until revoked.
    DEVICE_COOKIE_DAYS = 730

    ACTIVATION_HOURS = 48
    MAX_WRONG_PINS = 5
    PASSWORD_MIN_LENGTH = 12

    # Flask-WTF: the token is bound to the server-side session, which ends at
    # sign-out, idle timeout or PIN change; a time limit on top would make a
    # form filled in slowly on a bad connection fail for no gain.
    WTF_CSRF_TIME_LIMIT = None
    WTF_CSRF_SSL_STRICT = True

    MAX_CONTENT_LENGTH = 256 * 1024
    # per address
    RATELIMIT_SIGNIN = "10 per minute;60 per hour"
    # Wrong staff passwords (or codes) per account, from any address; a browser
    # that signed in to the account before has a ceiling of its own (auth/throttle.py).
    RATELIMIT_ACCOUNT = "20 per hour"
    # Wrong current passwords at /me/password per account; the last ends the session.
    RATELIMIT_PASSWORD_CHANGE = "5 per hour"
    RATELIMIT_HEADERS_ENABLED = True

    # argon2id parameters (RFC 9106 second recommended option is heavier; this is
    # the library default, memory-hard, ~50 ms on a small server).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 64 * 1024
    ARGON2_PARALLELISM = 1

    # Where the quick-exit button leaves to: a neutral, common page.
    QUICK_EXIT_URL = "https://www.google.com/search?q=weather"

    LANGUAGES = ["en", "fr", "nl", "sr_Latn", "sr_Cyrl", "fa_AF", "ps", "ar", "so", "en_SL@kri",
                 "nl_SR@srn"]
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    @classmethod
    def validate(cls, config: Mapping, instance_path: str | None = None) -> None:
        """Raise one ConfigError naming everything wrong with `config`: what
        the environment held that could not be read, malformed values, and,
        for a production process that serves people, what is missing."""
        problems = list(config.get("ENVIRONMENT_PROBLEMS") or ())
        problems += malformed(config)
        if config.get("ENV_NAME") == "production" and serving():
            problems += missing_for_production(config, instance_path)
        if problems:
            raise ConfigError(problems)


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = INSECURE_SECRET
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_SSL_STRICT = False
    VAPID_SUBJECT = EXAMPLE_VAPID_SUBJECT
    EMERGENCY_PHONE = "112"


class TestConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
    TRUSTED_PROXIES = "0"
    # Cheap hashing keeps the suite fast; the algorithm stays argon2id.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    PUSH_ALLOW_HTTP_ENDPOINTS = True
    PUSH_SERVICE_HOSTS = Config.PUSH_SERVICE_HOSTS + ("127.0.0.1",)  # tests/push_receiver.py
    RATELIMIT_ENABLED = True
    RATELIMIT_SIGNIN = "10 per minute;60 per hour"


CONFIGS: dict[str, type[Config]] = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestConfig,
}


# --- Reading the environment ----------------------------------------------------------
# Each reader turns the text of a variable into its value, or raises
# ValueError with the end of a sentence that starts with the variable's name.

def _text(raw: str) -> str:
    return raw


def _whole(minimum: int) -> Callable[[str], int]:
    def read(raw: str) -> int:
        text = raw.strip()
        if not re.fullmatch(r"[0-9]+", text):
            raise ValueError(f"must be a whole number, not {raw!r}")
        if int(text) < minimum:
            raise ValueError(f"must be at least {minimum}, not {raw!r}")
        return int(text)
    return read


_ON, _OFF = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _flag(raw: str) -> bool:
    text = raw.strip().lower()
    if text not in _ON | _OFF:
        raise ValueError(f"must be on or off (1 or 0, true or false, yes or no), not {raw!r}")
    return text in _ON


def _hosts(raw: str) -> tuple[str, ...]:
    hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
    bad = [h for h in hosts if not re.fullmatch(r"[a-z0-9.-]+", h)]
    if bad:
        raise ValueError(f"must be host names separated by commas, not {bad[0]!r}")
    return hosts


# Variable → reader. An empty value is the same as none: the default holds.
ENVIRONMENT: dict[str, Callable[[str], object]] = {
    "SECRET_KEY": _text,
    "DATA_KEY": _text,
    "DATA_KEY_RETIRED": _text,
    "DATABASE_URL": _text,
    "REDIS_URL": _text,
    "WEB_CONCURRENCY": _whole(1),
    "TRUSTED_PROXIES": _text,  # its own check: proxy.trusted_proxies
    "VAPID_PUBLIC_KEY": _text,
    "VAPID_PRIVATE_KEY": _text,
    "VAPID_SUBJECT": _text,
    "WORKER_LATE_SECONDS": _whole(1),
    "PUSH_ALLOW_HTTP_ENDPOINTS": _flag,
    "PUSH_SERVICE_HOSTS": _hosts,
    "EMERGENCY_PHONE": _text,
    "SESSION_COOKIE_SECURE": _flag,
    "STAFF_IDLE_MINUTES": _whole(1),
    "RATELIMIT_SIGNIN": _text,
    "QUICK_EXIT_URL": _text,
    # argon2id's cost, for a server smaller or larger than the default's; the
    # library's minimum memory (8 KiB per lane) is the floor.
    "ARGON2_TIME_COST": _whole(1),
    "ARGON2_MEMORY_COST": _whole(8),
}


def read_settings(environ: Mapping[str, str]) -> Config:
    """The configuration `environ` describes. Never raises: what cannot be
    read is in ENVIRONMENT_PROBLEMS, for `Config.validate` to report."""
    problems = []
    env_name = environ.get("FOOTING_ENV", "").strip() or "production"
    if env_name not in CONFIGS:
        problems.append(f"FOOTING_ENV must be production, development or testing, "
                        f"not {env_name!r}")
        env_name = "production"
    config = CONFIGS[env_name]()
    for name, read in ENVIRONMENT.items():
        raw = environ.get(name, "")
        if not raw.strip():
            continue
        try:
            setattr(config, name, read(raw))
        except ValueError as err:
            problems.append(f"{name} {err}")
    instance = environ.get("FOOTING_INSTANCE", "").strip()
    if instance:
        config.INSTANCE_PATH = os.path.abspath(instance)
    config.ENVIRONMENT_PROBLEMS = tuple(problems)
    return config


@functools.cache
def settings() -> Config:
    """This process's settings, read from the environment once."""
    return read_settings(os.environ)


# --- Checking ---------------------------------------------------------------------------

def serving() -> bool:
    """Whether this process serves people: a WSGI server, the worker, `flask
    run` — not an operator's command (`footing db upgrade`), which runs
    inside click."""
    ctx = click.get_current_context(silent=True)
    return ctx is None or ctx.info_name == "run"


def _fernet_key(value: str) -> bool:
    try:
        Fernet(value.strip().encode())
    except ValueError:
        return False
    return True


PHONE = re.compile(r"\+?[0-9][0-9 -]{1,30}")


def malformed(config: Mapping) -> list[str]:
    """Values that are set but cannot be right, in any environment."""
    problems = []
    secret = config.get("SECRET_KEY") or ""
    if config.get("ENV_NAME") == "production" and (len(secret) < 32 or secret == INSECURE_SECRET):
        problems.append("SECRET_KEY must be a random value of at least 32 characters "
                        "(python3 -c 'import secrets; print(secrets.token_hex(32))')")
    try:
        proxy.trusted_proxies(config.get("TRUSTED_PROXIES"))
    except RuntimeError as err:
        problems.append(str(err).rstrip("."))
    data_key = config.get("DATA_KEY") or ""
    if data_key and not _fernet_key(data_key):
        problems.append("DATA_KEY must be a Fernet key (32 bytes, url-safe base64)")
    retired = [k for k in (config.get("DATA_KEY_RETIRED") or "").split(",") if k.strip()]
    if not all(_fernet_key(k) for k in retired):
        problems.append("DATA_KEY_RETIRED must be Fernet keys (32 bytes, url-safe base64), "
                        "separated by commas")
    subject = config.get("VAPID_SUBJECT") or ""
    if subject and not subject.startswith(("mailto:", "https:")):
        problems.append(f"VAPID_SUBJECT must be a mailto: or https: address, not {subject!r}")
    phone = config.get("EMERGENCY_PHONE") or ""
    if phone and not (len(phone) <= 32 and PHONE.fullmatch(phone)):
        problems.append(f"EMERGENCY_PHONE must be a phone number (digits, spaces, + and -), "
                        f"not {phone!r}")
    return problems


# OWASP's least for argon2id (Password Storage Cheat Sheet): 19 MiB with 2
# passes, or 46 MiB with 1 (KiB, as ARGON2_MEMORY_COST is given).
ARGON2_LEAST_MEMORY = 19 * 1024
ARGON2_ONE_PASS_MEMORY = 46 * 1024


def missing_for_production(config: Mapping, instance_path: str | None) -> list[str]:
    """What a production web app or worker must not start without."""
    problems = []
    if not config.get("DATA_KEY"):
        problems.append(
            "DATA_KEY is not set: the key of the columns stored encrypted, kept apart from "
            "the backups (python3 -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())')")
    problems += _vapid_problems(config, instance_path)
    subject = config.get("VAPID_SUBJECT") or ""
    if not subject or subject == EXAMPLE_VAPID_SUBJECT:
        problems.append(
            "VAPID_SUBJECT is not set: a mailto: or https: address of whoever runs this "
            f"server, for the push services (not the example {EXAMPLE_VAPID_SUBJECT})")
    if not config.get("EMERGENCY_PHONE"):
        problems.append(
            "EMERGENCY_PHONE is not set: the emergency number error pages show when the "
            "person's organisation is not at hand")
    problems += unshared_state(config.get("WEB_CONCURRENCY") or 1, config.get("REDIS_URL"),
                               "WEB_CONCURRENCY")
    # The cheap hashing of the tests must not reach people's PINs.
    memory, passes = config.get("ARGON2_MEMORY_COST") or 0, config.get("ARGON2_TIME_COST") or 0
    if memory < ARGON2_LEAST_MEMORY or (passes < 2 and memory < ARGON2_ONE_PASS_MEMORY):
        problems.append(
            f"ARGON2_MEMORY_COST {memory} and ARGON2_TIME_COST {passes} hash PINs and passwords "
            f"too cheaply for people's data: at least {ARGON2_LEAST_MEMORY} KiB with 2 passes, "
            f"or {ARGON2_ONE_PASS_MEMORY} KiB with 1 (leave both empty for the default)")
    return problems


def unshared_state(processes: int, redis_url: str | None, source: str) -> list[str]:
    """More than one serving process without REDIS_URL: each would keep its
    own rate-limit counts (webapp/gunicorn_conf.py checks gunicorn's own
    number of workers, however it was given)."""
    if processes > 1 and not redis_url:
        return [f"REDIS_URL is not set, and {source} is {processes}: more than one process "
                "serves, and they must share the rate limits and the job queue "
                "(redis://127.0.0.1:6379/0)"]
    return []


def _vapid_problems(config: Mapping, instance_path: str | None) -> list[str]:
    key = config.get("VAPID_PRIVATE_KEY") or ""
    pem = Path(instance_path or default_instance_path()) / "vapid_private.pem"
    if not key and not pem.exists():
        return [f"No VAPID key for web push: set VAPID_PRIVATE_KEY, or run "
                f"`footing push generate-vapid`, which writes {pem}"]
    source = key or str(pem)
    try:
        vapid = (Vapid01.from_file(source) if Path(source).exists()
                 else Vapid01.from_string(source))
    except Exception:  # py_vapid raises what its parsers raise
        name = "VAPID_PRIVATE_KEY" if key else str(pem)
        return [f"{name} is not a VAPID private key (nor the path of a readable one)"]
    public = config.get("VAPID_PUBLIC_KEY") or ""
    if public and public != vapid_public_key(vapid):
        return ["VAPID_PUBLIC_KEY is not the public half of the VAPID private key: leave it "
                "empty (it is derived) or set the one `footing push generate-vapid` printed"]
    return []


def vapid_public_key(vapid) -> str:

    raw = vapid.public_key.public_bytes(serialization.Encoding.X962,
                                        serialization.PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def default_instance_path() -> str:
    """Flask's instance folder for this package: `instance/` in a checkout,
    `<prefix>/var/webapp-instance` for an installed package."""
    return Flask("webapp").instance_path


def instance_path(config: object) -> str:
    """The instance folder of every process (web app, worker, job queue,
    command line): FOOTING_INSTANCE, else Flask's default."""
    return getattr(config, "INSTANCE_PATH", None) or default_instance_path()


def default_sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "footing.db")
