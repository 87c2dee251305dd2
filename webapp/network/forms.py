"""Forms of the network area (issue #21)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField

from ..forms import ChoiceField, Form


class ProposeForm(Form):
    organisation = ChoiceField(_l("Partner organisation in the country of return"),
                               coerce=int, choices=[])


class AnswerForm(Form):
    share_history = BooleanField(_l("Also my support requests and check-ins until now"))
    share_milestones = BooleanField(
        _l("The organisation that prepared me may see when my follow-ups are due and done "
           "(not what was said)"))
    decision = ChoiceField(_l("Your answer"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = [("agree", _l("I agree")), ("refuse", _l("I do not agree"))]


class AcceptForm(Form):
    caseworker = ChoiceField(_l("Caseworker"), coerce=int, choices=[])
