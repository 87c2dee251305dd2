from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import Email, Optional, ValidationError

from ..forms import ChoiceField, DayField, Form, max_len, required


class NewReturneeForm(Form):
    display_name = StringField(_l("Name the person wants to be called"),
                               validators=[required(), max_len(100)])
    locale = ChoiceField(_l("Language"), choices=[])
    caseworker = ChoiceField(_l("Caseworker"), coerce=int, choices=[])
    household = ChoiceField(_l("Household"), coerce=int, choices=[])
    return_date = DayField(_l("Date of return"), validators=[Optional()])

    def validate_return_date(self, field):
        if field.data and not (date.today() - timedelta(days=365 * 20) <= field.data
                               <= date.today() + timedelta(days=365)):
            raise ValidationError(_l("Please check the date."))


class NewStaffForm(Form):
    display_name = StringField(_l("Name"), validators=[required(), max_len(100)])
    email = EmailField(_l("E-mail address"), validators=[
        required(), max_len(254), Email(message=_l("Please enter an e-mail address."))])
    role = ChoiceField(_l("Role"), choices=[])
    locale = ChoiceField(_l("Language"), choices=[])


class AssignForm(Form):
    caseworker = ChoiceField(_l("Caseworker"), coerce=int, choices=[])


class ReportingProfileForm(Form):
    """Choices are set by the route (the service's lists)."""

    consented = BooleanField(_l("The person agreed that these details are used, without "
                                "their name, in reports to funders"))
    sex = ChoiceField(_l("Sex"), choices=[])
    age_band = ChoiceField(_l("Age"), choices=[])
    country = ChoiceField(_l("Country of return"), choices=[])
    return_date = DayField(_l("Date of return"), validators=[Optional()])
    return_kind = ChoiceField(_l("Kind of return"), choices=[])
    household_size = ChoiceField(_l("People in the household"), choices=[],
                                 coerce=lambda v: int(v) if v not in ("", None) else "")

    validate_return_date = NewReturneeForm.validate_return_date
