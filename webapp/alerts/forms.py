from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField

from ..forms import Form, max_len, required


class ResolveForm(Form):
    note = TextAreaField(_l("What was done"), validators=[required(), max_len(1000)])
