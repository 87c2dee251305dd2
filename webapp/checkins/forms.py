from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, TextAreaField
from wtforms.validators import DataRequired, Optional

from ..forms import Form, RadioChoiceField, max_len
from .models import ANSWERS, QUESTIONS
from .service import ANSWER_LABELS, MOODS, NOTE_MAX, QUESTION_LABELS

VISIBILITY = (("caseworker", _l("My caseworker only")),
              ("group", _l("My caseworker and my group")))


class CheckInForm(Form):
    # Mood and who sees it are asked every time (nothing is chosen for the
    # person); the five questions may be left out. So four taps send a check-in:
    # the home tile, a face, who sees it, Send.
    mood = RadioChoiceField(
        _l("How do you feel?"), coerce=int, choices=[],
        validators=[DataRequired(message=_l("Please choose one of the five faces."))])
    income = RadioChoiceField(QUESTION_LABELS["income"], choices=[], validators=[Optional()])
    shelter = RadioChoiceField(QUESTION_LABELS["shelter"], choices=[], validators=[Optional()])
    medicine = RadioChoiceField(QUESTION_LABELS["medicine"], choices=[], validators=[Optional()])
    safe = RadioChoiceField(QUESTION_LABELS["safe"], choices=[], validators=[Optional()])
    someone = RadioChoiceField(QUESTION_LABELS["someone"], choices=[], validators=[Optional()])
    note = TextAreaField(_l("Anything else? (you can leave this empty)"),
                         validators=[Optional(), max_len(NOTE_MAX)])
    visibility = RadioChoiceField(
        _l("Who may see this?"), choices=[],
        validators=[DataRequired(message=_l("Please choose who may see this."))])
    client_uuid = HiddenField("")  # a label of its own: none is shown, none to translate

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Choices set here, not in the class: WTForms warns about tuples there.
        self.mood.choices = list(MOODS.items())
        self.visibility.choices = list(VISIBILITY)
        for question in QUESTIONS:
            getattr(self, question).choices = [(a, ANSWER_LABELS[a]) for a in ANSWERS]

    @property
    def questions(self):
        return [getattr(self, q) for q in QUESTIONS]

    def answers(self) -> dict[str, str | None]:
        return {q: getattr(self, q).data or None for q in QUESTIONS}
