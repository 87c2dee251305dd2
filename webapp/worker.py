"""The worker process: `huey_consumer webapp.worker.huey`.

Creates the app the jobs run in, once per process, and loads the jobs."""
from __future__ import annotations

from . import create_app, tasks
from .queue import huey

tasks.use_app(app := create_app())
# The first push after a start must be as fast as the next (issue #18).
tasks.warm(app)

__all__ = ["huey"]
