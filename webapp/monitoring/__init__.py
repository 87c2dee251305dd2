"""Aftercare monitoring (issue #7): caseload, timeline, follow-ups, the
reintegration check, the organisation overview and the export."""
from flask import Blueprint

bp = Blueprint("monitoring", __name__)

from . import routes  # noqa: E402,F401
