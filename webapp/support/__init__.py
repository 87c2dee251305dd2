from flask import Blueprint

bp = Blueprint("support", __name__, url_prefix="/help")

from . import routes  # noqa: E402,F401
