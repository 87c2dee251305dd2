"""gunicorn's settings for Footing, as deploy/footing-web.service runs it:

    gunicorn -c python:webapp.gunicorn_conf --bind 127.0.0.1:8000 'webapp:create_app()'

The app checks WEB_CONCURRENCY when it starts, but gunicorn may be given its
number of workers otherwise (`--workers 4`, `GUNICORN_CMD_ARGS`); this hook
checks the number gunicorn is really about to start. In production, more
than one worker without REDIS_URL is refused before any worker serves: each
would keep its own sign-in limits (README, "Configuration")."""
from __future__ import annotations

from webapp.config import ConfigError, settings, unshared_state

workers = settings().WEB_CONCURRENCY


def on_starting(server) -> None:
    config = settings()
    if config.ENV_NAME != "production":
        return
    problems = unshared_state(server.cfg.workers, config.REDIS_URL, "gunicorn's --workers")
    if problems:
        raise ConfigError(problems)  # gunicorn prints "Error: …" and exits with 1
