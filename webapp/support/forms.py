from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, HiddenField, StringField, TextAreaField
from wtforms.validators import ValidationError

from ..errors import DomainError
from ..forms import ChoiceField, Form, ascii_digits, max_len, required
from ..monitoring.models import LESSON_MAX
from . import choices as c
from .service import clean_phone


def _fresh_uuid() -> str:
    return str(uuid.uuid4())


class _Submission(Form):
    """A returnee's report: carries the device's UUID (see webapp.submissions)."""

    client_uuid = HiddenField(default=_fresh_uuid)

    def body(self) -> dict:
        """What the UUID is claimed for: every field but the token and the UUID."""
        return {name: f.data for name, f in self._fields.items()
                if name not in ("csrf_token", "client_uuid")}


class _Contact:
    callback_phone = StringField(_l("Phone number to call you back (if you want)"),
                                 validators=[max_len(c.PHONE_MAX)], filters=[ascii_digits])
    district = StringField(_l("District or town (if you want)"),
                           validators=[max_len(c.DISTRICT_MAX)])

    def validate_callback_phone(self, field) -> None:
        try:
            clean_phone(field.data)
        except DomainError as err:
            raise ValidationError(str(err.message)) from None


class RequestForm(_Contact, _Submission):
    category = ChoiceField(_l("What do you need help with?"), choices=[])
    contact_way = ChoiceField(_l("How should we contact you?"), choices=[], default="app")
    details = TextAreaField(_l("What do you need? (if you want to say more)"),
                            validators=[max_len(c.DETAILS_MAX)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Set after construction: WTForms warns about tuples passed to the field.
        self.category.choices = list(c.CATEGORIES.items())
        self.contact_way.choices = list(c.CONTACT_WAYS.items())


class ConcernForm(_Contact, _Submission):
    """One tap for what (kind and sub-type together: "medicine: I ran out"),
    one tap for how urgent, which sends."""

    what = ChoiceField(_l("What is it?"), choices=[])
    urgency = ChoiceField(_l("How urgent is it?"), choices=[])
    medicine_name = StringField(_l("Name of the medicine (if you know it)"),
                                validators=[max_len(c.MEDICINE_MAX)])
    note = TextAreaField(_l("Anything else we should know? (if you want)"),
                         validators=[max_len(c.NOTE_MAX)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.what.choices = [(f"{kind}:{key}", label) for kind, subs in c.SUB_TYPES.items()
                             for key, label in subs.items()]
        self.urgency.choices = list(c.URGENCIES.items())

    @property
    def kind_and_sub_type(self) -> tuple[str | None, str | None]:
        kind, _sep, sub_type = str(self.what.data or "").partition(":")
        return kind or None, sub_type or None


class HelpNowForm(_Submission):
    """One tap sends. Optional: one tap more for "call me back on this number"
    (prefilled, editable). A number that is not one never stops the report:
    it is checked after the report is stored (support.service.help_now)."""

    call_back = BooleanField(_l("Call me back on this number"))
    callback_phone = StringField(_l("Phone number"), filters=[ascii_digits])

    def phone(self) -> str:
        """The number to call back on, if the person asked for a call."""
        if "call_back" not in self or not self.call_back.data:
            return ""
        return self.callback_phone.data or ""


class MessageForm(Form):
    body = TextAreaField(_l("Message"), validators=[required(), max_len(c.MESSAGE_MAX)])


class StatusForm(Form):
    status = ChoiceField(_l("New status"), choices=[])
    reason = TextAreaField(_l("Reason (the person can read this)"),
                           validators=[max_len(c.REASON_MAX)])
    outcome = ChoiceField(_l("Outcome (when closing)"), choices=[])
    # Lessons learnt when the case ends (issue #26): staff only, optional.
    helped = TextAreaField(_l("When closing: what helped? (staff only)"),
                           validators=[max_len(LESSON_MAX)])
    missing = TextAreaField(_l("When closing: what was missing? (staff only)"),
                            validators=[max_len(LESSON_MAX)])

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.outcome.choices = [("", _l("No outcome yet"))] + list(c.OUTCOMES.items())


class ReassignForm(Form):
    caseworker = ChoiceField(_l("Caseworker"), coerce=int, choices=[])
