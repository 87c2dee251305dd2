"""The worker process: `huey_consumer webapp.worker.huey`.

Creates the app the jobs run in, once per process, and loads the jobs."""
from __future__ import annotations

from . import create_app, tasks
from .queue import huey

tasks.use_app(create_app())

__all__ = ["huey"]
