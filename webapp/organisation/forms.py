from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField, TelField
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form, ascii_digits, max_len, required
from ..i18n import language_choices
from .service import FOLLOWUP_CHOICES


class SettingsForm(Form):
    name = StringField(_l("Name of the organisation"), validators=[required(), max_len(200)])
    emergency_phone = TelField(_l("Phone line for emergencies (shown to returnees)"),
                               validators=[max_len(32)], filters=[ascii_digits])
    sms_phone = TelField(_l("Phone number for text messages (if you have one)"),
                         validators=[max_len(32)], filters=[ascii_digits])
    timezone = StringField(_l("Time zone"), validators=[required(), max_len(64)])
    currency = StringField(_l("Currency of plan budgets"), validators=[required(), max_len(3)])
    corrections_contact = StringField(
        _l("Where people send corrections to the translations"),
        validators=[max_len(200)])
    # The service checks the months (a clear message in our words).
    followup_months = SelectMultipleField(
        _l("Follow-ups, months after the return"), coerce=int, validate_choice=False,
        choices=[], widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    # The service checks the languages too.
    languages = SelectMultipleField(
        _l("Languages your people and groups use"), validate_choice=False, choices=[],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.followup_months.choices = [(m, str(m)) for m in FOLLOWUP_CHOICES]
        self.languages.choices = [(code, name) for code, name, _tag in language_choices()]
