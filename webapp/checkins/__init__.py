from flask import Blueprint

bp = Blueprint("checkins", __name__, url_prefix="/checkin")

from . import routes  # noqa: E402,F401
