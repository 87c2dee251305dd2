from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField

from ..forms import max_len, required


class AckForm(FlaskForm):
    """Only the CSRF token."""


class ResolveForm(FlaskForm):
    note = TextAreaField(_l("What was done"), validators=[required(), max_len(1000)])
