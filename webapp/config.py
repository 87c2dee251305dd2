"""Configuration read from the environment.

`create_app(config)` takes one of these classes (or any object with the same
attributes); tests pass their own. Production refuses to start without a real
secret key (see `Config.validate`).
"""
from __future__ import annotations

import os
from pathlib import Path

INSECURE_SECRET = "insecure-development-key-change-me"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class Config:
    ENV_NAME = "production"
    TESTING = False
    SECRET_KEY = os.environ.get("SECRET_KEY", "")
    # Key of the columns stored encrypted (webapp/sealed.py): a Fernet key
    # (python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').
    # Empty: derived from SECRET_KEY.
    DATA_KEY = os.environ.get("DATA_KEY", "")
    # Keys DATA_KEY had before (comma-separated): still read, until `flask reseal`
    # has sealed everything again with DATA_KEY.
    DATA_KEY_RETIRED = os.environ.get("DATA_KEY_RETIRED", "")
    # Default: SQLite in the instance folder (filled in by create_app).
    DATABASE_URL = os.environ.get("DATABASE_URL", "")
    REDIS_URL = os.environ.get("REDIS_URL", "")
    # How many proxies in front of gunicorn set X-Forwarded-For, -Proto and
    # -Host (Caddy alone: 1); 0 ignores those headers (webapp/proxy.py).
    TRUSTED_PROXIES = os.environ.get("TRUSTED_PROXIES", "0")
    VAPID_PUBLIC_KEY = os.environ.get("VAPID_PUBLIC_KEY", "")
    VAPID_PRIVATE_KEY = os.environ.get("VAPID_PRIVATE_KEY", "")
    VAPID_SUBJECT = os.environ.get("VAPID_SUBJECT", "mailto:admin@example.org")
    PUSH_TIMEOUT_SECONDS = 10
    # The worker sweeps every minute: it escalates overdue alerts and routes
    # a signal whose alert could not be made with it. A signal still not
    # routed, or an alert not escalated, this long after it was due means the
    # worker has stopped: staff pages say so; /healthz/worker fails when no
    # sweep finished for this long.
    WORKER_LATE_SECONDS = _env_int("WORKER_LATE_SECONDS", 180)
    # Real push services are HTTPS; tests and benchmarks use a local receiver.
    PUSH_ALLOW_HTTP_ENDPOINTS = _env_bool("PUSH_ALLOW_HTTP_ENDPOINTS", False)
    # The push services a device may name as its endpoint (each host and its
    # subdomains): the worker POSTs to that address, so any other would let a
    # signed-in person point the server at a host of their choosing. These are
    # the services of the browsers in use today (Chrome and Android, Firefox,
    # Edge, Safari).
    PUSH_SERVICE_HOSTS = tuple(h.strip().lower() for h in os.environ.get(
        "PUSH_SERVICE_HOSTS",
        "fcm.googleapis.com,push.services.mozilla.com,notify.windows.com,push.apple.com",
    ).split(",") if h.strip())

    # Sessions: ours live server-side (AuthSession rows); the cookie only carries
    # the token. Flask-Login's remember cookie is never set.
    SESSION_COOKIE_NAME = "footing_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_DURATION = 0
    RETURNEE_IDLE_MINUTES = 30
    STAFF_IDLE_MINUTES = _env_int("STAFF_IDLE_MINUTES", 60)
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
    RATELIMIT_SIGNIN = os.environ.get("RATELIMIT_SIGNIN", "10 per minute;60 per hour")
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
    QUICK_EXIT_URL = os.environ.get("QUICK_EXIT_URL", "https://www.google.com/search?q=weather")

    LANGUAGES = ["en", "fr", "nl", "sr_Latn", "sr_Cyrl", "fa_AF", "ps", "ar", "so", "en_SL@kri",
                 "nl_SR@srn"]
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    @classmethod
    def validate(cls, config: dict) -> None:
        secret = config.get("SECRET_KEY") or ""
        if config.get("ENV_NAME") == "production" and (
            len(secret) < 32 or secret == INSECURE_SECRET
        ):
            raise RuntimeError(
                "SECRET_KEY must be set to a random value of at least 32 characters "
                "in production (e.g. python -c 'import secrets; print(secrets.token_hex(32))')."
            )


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    SECRET_KEY = os.environ.get("SECRET_KEY", INSECURE_SECRET)
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    WTF_CSRF_SSL_STRICT = False


class TestConfig(DevelopmentConfig):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret-key-that-is-long-enough-0123456789"
    DATABASE_URL = os.environ.get("TEST_DATABASE_URL", os.environ.get("DATABASE_URL", ""))
    REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
    TRUSTED_PROXIES = "0"
    # Cheap hashing keeps the suite fast; the algorithm stays argon2id.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    PUSH_ALLOW_HTTP_ENDPOINTS = True
    PUSH_SERVICE_HOSTS = Config.PUSH_SERVICE_HOSTS + ("127.0.0.1",)  # tests/push_receiver.py
    RATELIMIT_ENABLED = True
    RATELIMIT_SIGNIN = "10 per minute;60 per hour"


CONFIGS = {
    "production": Config,
    "development": DevelopmentConfig,
    "testing": TestConfig,
}


def config_from_env() -> type[Config]:
    return CONFIGS[os.environ.get("FOOTING_ENV", "production")]


def instance_path() -> str | None:
    """FOOTING_INSTANCE, the folder of the default SQLite database, the job
    queue, the VAPID key and the built static files, for every process (the
    job queue reads it too, queue.py); unset: Flask's default (`instance/`
    in a checkout)."""
    folder = os.environ.get("FOOTING_INSTANCE")
    return os.path.abspath(folder) if folder else None


def default_sqlite_url(instance_path: str) -> str:
    return "sqlite:///" + str(Path(instance_path) / "footing.db")
