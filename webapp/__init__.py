"""Footing: the app factory."""
from __future__ import annotations

import importlib
import importlib.util
import time
from pathlib import Path

from flask import Flask, g, session
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from . import (
    access,
    assets,
    bodies,
    i18n,
    logs,
    outbox,
    proxy,
    sealed,
    tasks,  # noqa: F401  (registers the outbox's handlers: the jobs that run after a commit)
)
from .auth import service as auth_service
from .cli import register_cli
from .config import Config, default_sqlite_url, settings
from .db import Database, db_session
from .errors import register_error_pages
from .extensions import babel, compress, csrf, htmx, limiter, login_manager
from .icons import choice_icon, choice_sprite, icon
from .security import (
    SessionInterface,
    answer_replay,
    apply_security_headers,
    help_version,
    queue_owner,
)

# One package per area, each with a blueprint `bp` in `<area>/routes.py` (and
# models in `<area>/models.py` when it has tables). Registered in this order.
AREAS = ("main", "auth", "people", "plan", "checkins", "groups", "support",
         "alerts", "push", "monitoring", "privacy", "organisation", "directory", "safety", "risk",
         "network", "voice")
# Shared mechanisms with a table of their own, beside the areas' models.
MODEL_MODULES = ("webapp.models", "webapp.audit", "webapp.submissions")


def import_all_models() -> None:
    """Load every table definition (for Alembic and the schema test)."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    for area in AREAS:
        if importlib.util.find_spec(f"webapp.{area}.models") is not None:
            importlib.import_module(f"webapp.{area}.models")


def create_app(config: object | None = None) -> Flask:
    config = config or settings()  # the environment's, read once per process
    app = Flask(__name__, instance_relative_config=False,
                instance_path=getattr(config, "INSTANCE_PATH", None))
    app.config.from_object(config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = default_sqlite_url(app.instance_path)
    _validate(app)
    app.session_interface = SessionInterface()

    logs.configure(app)
    Database(app)
    babel.init_app(app, locale_selector=i18n.select_locale,
                   timezone_selector=i18n.select_timezone,
                   default_translation_directories=str(Path(__file__).parent / "i18n"))
    i18n.install_formats(app)
    bodies.init_app(app)  # before CSRF's check, which reads the form
    csrf.init_app(app)
    htmx.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    limiter.init_app(app)
    _init_login(app)

    import_all_models()
    for area in AREAS:
        app.register_blueprint(importlib.import_module(f"webapp.{area}.routes").bp)

    app.before_request(access.enforce)
    app.after_request(_commit_at_edge)
    app.after_request(_refresh_idle_clock)
    app.after_request(apply_security_headers)
    app.after_request(answer_replay)
    register_error_pages(app)
    app.context_processor(_template_globals)
    # Globals of the environment: macros imported without context see them too.
    app.jinja_env.globals["choice_icon"] = choice_icon
    app.jinja_env.globals["choice_sprite"] = choice_sprite
    app.jinja_env.globals.update(native_checked=i18n.native_checked,
                                 contact_link=i18n.contact_link)
    register_cli(app)

    # Pages compressed on the way out (brotli or gzip, see security.py on
    # BREACH); static files hashed, precompressed and served by WhiteNoise.
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br"])
    compress.init_app(app)
    assets.init_app(app)
    proxy.init_app(app)  # outermost: X-Forwarded-* read before anything else
    return app


def _validate(app: Flask) -> None:
    Config.validate(app.config, app.instance_path)
    proxy.trusted_proxies(app.config.get("TRUSTED_PROXIES"))
    try:
        sealed.configure(sealed.key_from(app.config.get("DATA_KEY", ""), app.config["SECRET_KEY"]),
                         sealed.retired_keys(app.config.get("DATA_KEY_RETIRED", "")))
    except ValueError:
        raise RuntimeError("DATA_KEY and DATA_KEY_RETIRED must be Fernet keys "
                           "(32 bytes, url-safe base64).") from None


def _init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.session_protection = None  # our own server-side sessions
    login_manager.login_view = "auth.signin"

    @login_manager.user_loader
    def load_user(token: str):
        auth = auth_service.load_session(db_session(), token)
        if auth is None:
            return None
        seen = session.get("seen", 0)
        if time.time() - seen > auth_service.idle_limit(auth.user).total_seconds():
            auth_service.end_session(db_session(), token, "idle")
            g.keep_changes = True
            session.clear()
            return None
        return auth.user


def _commit_at_edge(response):
    """One commit per request: changes stay only when the answer is a success
    (or a route asked to keep them, e.g. a counted wrong PIN)."""
    session_ = g.pop("db_session", None)
    if session_ is None:
        outbox.run_after_commit()
        return response
    committed = False
    try:
        if response.status_code < 400 or g.get("keep_changes"):
            session_.commit()
            committed = True
        else:
            session_.rollback()
    finally:
        session_.close()
        if not committed:
            outbox.discard()
    if committed:
        outbox.run_after_commit()
    return response


IDLE_CLOCK_STEP = 60


def _refresh_idle_clock(response):
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        now = int(time.time())
        if now - session.get("seen", 0) >= IDLE_CLOCK_STEP:
            session["seen"] = now
    return response


def _template_globals() -> dict:
    code = str(get_locale() or "en")
    return {
        "locale_tag": i18n.locale_tag(code),
        "text_direction": i18n.text_direction(code),
        "language_choices": i18n.language_choices,
        "current_locale": code,
        "csrf_header": generate_csrf,
        "queue_owner": lambda: queue_owner(current_user),
        "help_version": lambda: help_version(current_user.organisation_id),
        "icon": icon,
    }
