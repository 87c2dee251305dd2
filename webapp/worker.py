"""The worker process: `huey_consumer webapp.worker.huey`.

Creates the app the jobs run in, once per process, and loads the jobs.

Logging: the app's JSON lines (webapp/logs.py) already go to stderr from the
root logger. `huey_consumer` would add a plain-text handler of its own to the
"huey" logger after importing this module, and every line of the worker would
be written twice, once not as JSON. Its setup is kept to the level it sets.
"""
from __future__ import annotations

import gc

from huey.consumer_options import ConsumerConfig

from . import create_app, tasks
from .queue import huey


def _level_only(self: ConsumerConfig, logger=None) -> None:
    if logger is not None:
        logger.setLevel(self.loglevel)


ConsumerConfig.setup_logger = _level_only

tasks.use_app(app := create_app())
# The first push after a start must be as fast as the next (issue #18).
tasks.warm(app)
# What was loaded lives as long as the process: set aside from the garbage
# collector, as gunicorn's workers do (webapp/gunicorn_conf.py says why), so
# that a full collection does not stop every job thread, a push among them,
# while it walks the whole app.
gc.collect()
gc.freeze()

__all__ = ["huey"]
