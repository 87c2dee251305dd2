"""gunicorn's settings for Footing, as deploy/footing-web.service runs it:

    gunicorn -c python:webapp.gunicorn_conf --bind 127.0.0.1:8000 'webapp:create_app()'

The app checks WEB_CONCURRENCY when it starts, but gunicorn may be given its
number of workers otherwise (`--workers 4`, `GUNICORN_CMD_ARGS`); this hook
checks the number gunicorn is really about to start. In production, more
than one worker without REDIS_URL is refused before any worker serves: each
would keep its own sign-in limits (README, "Configuration").

Each worker, once it has loaded the app, sets what it loaded aside from the
garbage collector (`post_worker_init`)."""
from __future__ import annotations

import gc

from webapp.config import ConfigError, settings, unshared_state

workers = settings().WEB_CONCURRENCY


def on_starting(server) -> None:
    config = settings()
    if config.ENV_NAME != "production":
        return
    problems = unshared_state(server.cfg.workers, config.REDIS_URL, "gunicorn's --workers")
    if problems:
        raise ConfigError(problems)  # gunicorn prints "Error: …" and exits with 1


def post_worker_init(worker) -> None:
    """The app's modules, catalogs and mappers live as long as the worker: set
    them aside from the garbage collector (`gc.freeze`), so that its full
    collections walk only what requests made since. Over the whole app one
    stopped the worker, and every request queued behind it, for 0.16-0.24 s
    on the bench's machine; over what is left after this, 0.012-0.014 s
    (issue #24, measured with gc.callbacks in the bench's workers, when every
    form still left a cycle behind; since webapp/forms.py frees forms without
    the collector, a form post costs it what a post without a form does).
    Garbage already made is collected first, not kept for ever."""
    gc.collect()
    gc.freeze()
