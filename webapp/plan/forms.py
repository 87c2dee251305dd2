from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeAlias

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, Field, HiddenField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import TextInput

from ..errors import DomainError
from ..forms import ChoiceField, DayField, Form, ascii_digits, max_len, required
from . import service
from .catalog import AREAS, STARTERS, STATUSES

AMOUNT_RE = re.compile(r"^\d{1,13}([.,]\d{1,2})?$")


class AmountField(Field):
    """A sum of money in the organisation's currency: digits, and a decimal
    point or comma with up to two decimals. Empty means "not known yet"."""

    widget = TextInput()
    data: Decimal | None

    def process_formdata(self, valuelist) -> None:
        self.data = None
        # Dari and Pashto pages write their examples in Persian digits (issue #23).
        raw = ascii_digits((valuelist[0] if valuelist else "").strip().replace(" ", ""))
        if not raw:
            return
        if raw.startswith("-"):
            raise ValueError(_l("Please enter an amount of 0 or more."))
        if not AMOUNT_RE.match(raw):
            raise ValueError(_l("Please enter an amount in numbers, like 1500."))
        try:
            self.data = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            raise ValueError(_l("Please enter an amount in numbers, like 1500.")) from None

    def _value(self) -> str:
        return "" if self.data is None else str(self.data)

    def pre_validate(self, form) -> None:
        try:
            service.check_amount(self.data, self.name)
        except DomainError as err:
            raise ValidationError(str(err.message)) from None


def _check_date(form, field) -> None:
    try:
        service.check_date(field.data, field.name)
    except DomainError as err:
        raise ValidationError(str(err.message)) from None


# A ChoiceField's choices: (value, label) pairs, or what makes them.
_Choices: TypeAlias = list[tuple[str, Any]]


def _area_choices() -> _Choices:
    return list(AREAS.items())


class _FixedChoices(Form):
    """Sets each ChoiceField's choices after construction (tuples passed to
    the field's constructor are deprecated in WTForms)."""

    CHOICES: ClassVar[dict[str, _Choices | Callable[[], _Choices]]] = {}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name, choices in self.CHOICES.items():
            getattr(self, name).choices = choices() if callable(choices) else list(choices)


class NewGoalForm(_FixedChoices):
    """A starter picked with one tap, or a goal in own words."""

    CHOICES = {"area": _area_choices}
    area = ChoiceField(_l("Area"), choices=[])
    starter = HiddenField()
    title = StringField(_l("My goal in my own words"),
                        validators=[Optional(), max_len(service.TITLE_MAX)])

    def validate_starter(self, field) -> None:
        if field.data and field.data not in STARTERS:
            raise ValidationError(_l("Please choose one from the list."))

    def validate_title(self, field) -> None:
        if not self.starter.data and not (field.data or "").strip():
            raise ValidationError(_l("Please fill this in."))


class SuggestForm(_FixedChoices):
    CHOICES = {"area": _area_choices}
    starter = ChoiceField(_l("A goal from the list"), choices=[])
    area = ChoiceField(_l("Area"), choices=[])
    title = StringField(_l("Or in your own words"),
                        validators=[Optional(), max_len(service.TITLE_MAX)])
    why = TextAreaField(_l("Why it could help"), validators=[Optional(), max_len(service.WHY_MAX)])

    def validate_title(self, field) -> None:
        if not self.starter.data and not (field.data or "").strip():
            raise ValidationError(_l("Please pick a goal from the list or write one."))


def suggest_form() -> SuggestForm:
    form = SuggestForm()
    form.starter.choices = [("", _l("(none: I write my own)"))] + [
        (key, f"{AREAS[area]}: {label}") for key, (area, label) in STARTERS.items()]
    return form


class GoalForm(Form):
    title = StringField(_l("Goal"), validators=[required(), max_len(service.TITLE_MAX)])
    why = TextAreaField(_l("Why it matters to me"),
                        validators=[Optional(), max_len(service.WHY_MAX)])
    target_date = DayField(_l("When I want to reach it"), validators=[Optional(), _check_date])
    support_needed = BooleanField(_l("I need support with this: ask my caseworker for help"))
    budget_needed = AmountField(_l("Money needed in total"))
    budget_own = AmountField(_l("My own money"))
    budget_asked = AmountField(_l("Micro-finance asked"))
    budget_granted = AmountField(_l("Micro-finance granted"))


class StatusForm(_FixedChoices):
    CHOICES = {"status": lambda: list(STATUSES.items())}
    status = ChoiceField(_l("Status"), choices=[])


class StepForm(Form):
    text = StringField(_l("New step"), validators=[required(), max_len(service.STEP_MAX)])
    target_date = DayField(_l("By when (optional)"), validators=[Optional(), _check_date])
    support_needed = BooleanField(_l("I need support with this step: ask my caseworker for help"))


class TickForm(_FixedChoices):
    CHOICES = {"done": [("1", "1"), ("0", "0")]}
    done = ChoiceField(choices=[])


class CommentForm(Form):
    body = TextAreaField(_l("Write a message"),
                         validators=[required(), max_len(service.COMMENT_MAX)])


class InPlanForm(_FixedChoices):
    CHOICES = {"in_plan": [("1", "1"), ("0", "0")]}
    in_plan = ChoiceField(choices=[])


class AnswerForm(_FixedChoices):
    CHOICES = {"answer": [("accept", "accept"), ("decline", "decline")]}
    answer = ChoiceField(choices=[])
