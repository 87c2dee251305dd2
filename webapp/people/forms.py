from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, StringField
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
