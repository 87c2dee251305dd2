from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectMultipleField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form, max_len
from .models import TEXT_MAX
from .service import PlanText


class PlanForm(Form):
    warning_signs = TextAreaField(_l("Signs that danger is coming"),
                                  validators=[max_len(TEXT_MAX)])
    contacts = TextAreaField(_l("People I can call"), validators=[max_len(TEXT_MAX)])
    safe_places = TextAreaField(_l("Safe places I can go to"), validators=[max_len(TEXT_MAX)])
    what_to_do = TextAreaField(_l("What I will do"), validators=[max_len(TEXT_MAX)])
    # The service checks the places (a clear message in our words).
    places = SelectMultipleField(_l("Emergency numbers to keep in the plan"),
                                 validate_choice=False, choices=[],
                                 widget=ListWidget(prefix_label=False),
                                 option_widget=CheckboxInput())

    def text(self) -> PlanText:
        return PlanText(**{name: self._fields[name].data or ""
                           for name in PlanText.__dataclass_fields__})


class UseForm(Form):
    """"I need to use it": the device's UUID makes one alert of however many
    times the offline queue sends it (webapp.submissions)."""

    client_uuid = HiddenField(default=lambda: str(uuid.uuid4()))
