from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import StringField, TextAreaField

from ..forms import ChoiceField, Form, ascii_digits, max_len
from . import choices as c
from .service import PlaceData


class PlaceForm(Form):
    """A place as staff type it. The service checks it (one clear error per
    field); the form only caps the lengths."""

    kind = ChoiceField(_l("Kind of place"), choices=[])
    name = StringField(_l("Name"), validators=[max_len(c.NAME_MAX)])
    town = StringField(_l("Town or district"), validators=[max_len(c.TOWN_MAX)])
    address = StringField(_l("Address"), validators=[max_len(c.ADDRESS_MAX)])
    directions = TextAreaField(_l("How to get there, in words"),
                               validators=[max_len(c.DIRECTIONS_MAX)])
    latitude = StringField(_l("Latitude (if you know it)"), validators=[max_len(20)],
                           filters=[ascii_digits])
    longitude = StringField(_l("Longitude (if you know it)"), validators=[max_len(20)],
                            filters=[ascii_digits])
    hours = StringField(_l("Opening hours"), validators=[max_len(c.HOURS_MAX)])
    phone = StringField(_l("Phone"), validators=[max_len(c.PHONE_MAX)], filters=[ascii_digits])
    cost = ChoiceField(_l("Cost"), choices=[], default="free")
    languages = StringField(_l("Languages spoken"), validators=[max_len(c.LANGUAGES_MAX)])
    who = StringField(_l("Who may use it"), validators=[max_len(c.WHO_MAX)])
    medicines = TextAreaField(_l("Medicines they had when last checked (one a line)"),
                              validators=[max_len(c.MEDICINES_MAX)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Nothing chosen at first: an entry without a kind is refused, not
        # quietly made a clinic.
        self.kind.choices = [("", _l("Choose one"))] + list(c.KINDS.items())
        self.cost.choices = list(c.COSTS.items())
        self.kind.validate_choice = False  # the service says what is wrong, on the field

    def data_for_service(self) -> PlaceData:
        def text(name: str) -> str:
            value = self._fields[name].data
            return value if isinstance(value, str) else ""
        return PlaceData(**{name: text(name) for name in PlaceData.__dataclass_fields__})


class FeedbackForm(Form):
    outcome = ChoiceField(_l("What happened?"), choices=[])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = list(c.FEEDBACK.items())


class CheckDaysForm(Form):
    days = StringField(_l("Check each place at least every this many days"),
                       validators=[max_len(4)], filters=[ascii_digits])

    @property
    def number(self) -> int | None:
        text = (self.days.data or "").strip()
        return int(text) if text.isdigit() else None


class ImportForm(Form):
    file = FileField(_l("CSV file"))
    mode = ChoiceField(_l("What to do"), choices=[])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.mode.choices = [("check", _l("Check only")), ("import", _l("Import"))]
