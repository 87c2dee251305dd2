from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import InputRequired, Optional

from ..forms import ChoiceField, Form, RadioChoiceField, ascii_digits, max_len, required
from .service import POST_MAX, REASON_MAX


class MeetingTimeField(DateTimeLocalField):
    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata([ascii_digits(v) for v in valuelist or ()])
        except ValueError:
            raise ValueError(_l("Please enter a date and time like 2026-12-31 14:30.")) from None


class GroupSettingsForm(Form):
    language = ChoiceField(_l("Language of the group"), choices=[])
    meeting_place = StringField(_l("Where the group meets"), validators=[Optional(), max_len(200)])
    period = ChoiceField(_l("How often members check in"), coerce=int, choices=[])


class NewGroupForm(GroupSettingsForm):
    name = StringField(_l("Name of the group"), validators=[required(), max_len(100)])
    facilitator = ChoiceField(_l("Facilitator"), coerce=int, choices=[])


class FacilitatorForm(Form):
    facilitator = ChoiceField(_l("Facilitator"), coerce=int, choices=[])


class MemberForm(Form):
    member = ChoiceField(_l("Person"), coerce=int, choices=[])


class BuddyForm(Form):
    first = ChoiceField(_l("First person"), coerce=int, choices=[])
    second = ChoiceField(_l("Second person"), coerce=int, choices=[])


class MeetingForm(Form):
    # InputRequired, not DataRequired: it keeps the "not a date" message.
    starts_at = MeetingTimeField(_l("Date and time"), validators=[
        InputRequired(message=_l("Please fill this in."))])
    place = StringField(_l("Place (empty: the usual place)"), validators=[Optional(), max_len(200)])
    topic = ChoiceField(_l("Topic"), choices=[])
    topic_text = StringField(_l("Or a topic in your own words"),
                             validators=[Optional(), max_len(200)])


class RsvpForm(Form):
    coming = RadioChoiceField(_l("Are you coming?"), choices=[], validators=[required()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.coming.choices = [("yes", _l("Coming")), ("no", _l("Not coming"))]


class PostForm(Form):
    body = TextAreaField(_l("Write to the group"), validators=[required(), max_len(POST_MAX)])


class RaiseForm(Form):
    member = ChoiceField(_l("Member"), coerce=int, choices=[])
    reason = TextAreaField(_l("Short reason for the caseworker"),
                           validators=[required(), max_len(REASON_MAX)])


class AttendanceForm(Form):
    """Who was there: the ids of the ticked members (the page's own boxes)."""

    present = SelectMultipleField(coerce=int, validate_choice=False)
