"""Forms of the network area (issue #21)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, FileField, TextAreaField

from ..forms import ChoiceField, Form, RadioChoiceField, max_len


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


class ReferForm(Form):
    organisation = ChoiceField(_l("Partner organisation"), coerce=int, choices=[])


class ReferPlaceForm(Form):
    place = ChoiceField(_l("Listed service"), coerce=int, choices=[])


PLACE_OUTCOMES = {
    "reached": _l("Reached: they are in touch with the place"),
    "helped": _l("Helped"),
    "not_helped": _l("Not helped"),
    "could_not_reach": _l("Could not reach the place"),
}


class PlaceOutcomeForm(Form):
    outcome = RadioChoiceField(_l("What came of it"), choices=[])
    note = TextAreaField(_l("A short note"), validators=[max_len(1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome.choices = list(PLACE_OUTCOMES.items())


class ReferralAnswerForm(Form):
    decision = ChoiceField(_l("Your answer"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = [("agree", _l("I agree")), ("refuse", _l("I do not agree"))]


STEPS = {"accepted": _l("We take it on"), "declined": _l("We cannot take it on"),
         "done": _l("Done: the outcome")}


class ReferralStepForm(Form):
    step = ChoiceField(_l("What happens"), choices=[])
    text = TextAreaField(_l("Why, or what came of it"), validators=[max_len(1000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.step.choices = list(STEPS.items())


class IntakeForm(Form):
    file = FileField(_l("CSV file"))
    action = ChoiceField(_l("What to do"), choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.action.choices = [("check", _l("Check the file")),
                               ("create", _l("Create everyone"))]
