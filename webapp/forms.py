"""Shared form pieces: every message is translated, every field has a length cap."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import DataRequired, Length


def required() -> DataRequired:
    return DataRequired(message=_l("Please fill this in."))


def max_len(n: int) -> Length:
    return Length(max=n, message=_l("Please use at most %(max)d characters.", max=n))
