from __future__ import annotations

from functools import lru_cache

from flask_babel import gettext, lazy_gettext as _l
from markupsafe import escape
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Optional

from ..forms import ChoiceField, Form, RadioChoiceField, max_len
from . import instruments
from .models import CONTACTS, LESSON_MAX
from .service import CONTACT_LABELS, NOTE_MAX, OUTCOMES


class _Text:
    """A msgid of an instrument, translated when shown (lazily, per request)."""

    def __init__(self, msgid: str) -> None:
        self.msgid = msgid

    def __str__(self) -> str:
        return gettext(self.msgid)

    def __html__(self) -> str:
        return str(escape(str(self)))


class FollowUpBase(Form):
    month = ChoiceField(_l("Which follow-up"), coerce=int, choices=[],
                        validators=[DataRequired(message=_l("Please choose one from the list."))])
    contact = RadioChoiceField(
        _l("How did you meet?"), choices=[],
        validators=[DataRequired(message=_l("Please choose one from the list."))])
    outcome = ChoiceField(_l("Outcome"), choices=[],
                          validators=[DataRequired(message=_l("Please choose one from the list."))])
    note = TextAreaField(_l("Note for the team (the person does not see it)"),
                         validators=[Optional(), max_len(NOTE_MAX)])

    instrument: instruments.Instrument

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact.choices = [(c, CONTACT_LABELS[c]) for c in CONTACTS]
        self.outcome.choices = [("", _l("Choose…"))] + list(OUTCOMES.items())
        for q in self.instrument.questions:
            getattr(self, "q_" + q.id).choices = [(o.key, _Text(o.label)) for o in q.options]

    def field_named(self, name: str | None):
        """A service's error names a question by its id; its field is q_<id>."""
        field = super().field_named(name)
        return field if field is not None or not name else super().field_named("q_" + name)

    def answers(self) -> dict[str, str | None]:
        return {q.id: getattr(self, "q_" + q.id).data or None for q in self.instrument.questions}

    def question_fields(self, dimension: str):
        return [getattr(self, "q_" + q.id) for q in self.instrument.questions
                if q.dimension == dimension]


@lru_cache(maxsize=8)
def followup_form_class(instrument: instruments.Instrument) -> type[FollowUpBase]:
    """A form with one radio group per question of the instrument (optional:
    a follow-up may be recorded without the check)."""
    # A label may be any text object (WTForms escapes it, or calls its
    # __html__); its stubs ask for a str.
    fields = {"q_" + q.id: RadioChoiceField(_Text(q.text),  # type: ignore[arg-type]
                                            choices=[], validators=[Optional()])
              for q in instrument.questions}
    return type("FollowUpForm", (FollowUpBase,), {"instrument": instrument, **fields})


class AftercareCloseForm(Form):
    """Closing a person's aftercare: the outcome and what was learnt."""

    outcome = ChoiceField(_l("Outcome"), choices=[],
                          validators=[DataRequired(message=_l("Please choose one from the list."))])
    helped = TextAreaField(_l("What helped?"), validators=[Optional(), max_len(LESSON_MAX)])
    missing = TextAreaField(_l("What was missing?"), validators=[Optional(), max_len(LESSON_MAX)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.outcome.choices = [("", _l("Choose…"))] + list(OUTCOMES.items())


class InstrumentForm(Form):
    """A new version of the check, as the data of an instrument file (JSON)."""

    data_json = TextAreaField(_l("The new version (JSON, as the instrument files)"),
                              validators=[DataRequired(message=_l("Please fill this in."))])

    def field_named(self, name: str | None):
        return super().field_named("data_json" if name == "data" else name)
