from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import Form, required


class DeletionRequestForm(Form):
    understand = BooleanField(_l(
        "I understand: everything I wrote in Footing is deleted, and it cannot be brought back."),
        validators=[required()])


class DeletionConfirmForm(Form):
    talked = BooleanField(
        _l("I talked with the person: they want their account and everything in it deleted."),
        validators=[required()])
