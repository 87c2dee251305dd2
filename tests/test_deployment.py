"""What a deployment sets (issue #20): FOOTING_INSTANCE for the folder the
processes share."""
from __future__ import annotations

from webapp import create_app
from webapp.config import TestConfig


def test_footing_instance_is_the_instance_folder_of_every_process(app, monkeypatch, tmp_path):
    """The web app's, as the job queue's (webapp/queue.py): the systemd units
    point both at their state directory."""
    monkeypatch.setenv("FOOTING_INSTANCE", str(tmp_path / "state"))

    class Config(TestConfig):
        DATABASE_URL = ""
        REDIS_URL = app.config["REDIS_URL"]

    other = create_app(Config)
    other.extensions["footing_db"].engine.dispose()
    assert other.instance_path == str(tmp_path / "state")
    assert other.config["DATABASE_URL"] == f"sqlite:///{tmp_path}/state/footing.db"
    assert (tmp_path / "state" / "static-build").is_dir()
