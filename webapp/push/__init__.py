from flask import Blueprint

bp = Blueprint("push", __name__, url_prefix="/notifications")

from . import routes  # noqa: E402,F401
