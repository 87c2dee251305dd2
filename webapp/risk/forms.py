from __future__ import annotations

from functools import cache

from flask_babel import lazy_gettext as _l

from ..forms import Form, RadioChoiceField
from . import instrument as ri
from .service import PHASES


class RiskForm(Form):
    phase = RadioChoiceField(_l("When"), choices=[])
    # One radio question per question of the instrument, added by `form_class`.

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Set after construction: WTForms warns about tuples passed to the field.
        self.phase.choices = list(PHASES.items())
        for q in ri.current().questions:
            self[q.id].choices = [(o.key, _l(o.label)) for o in q.options]


@cache
def form_class(instrument_id: str, version: int) -> type[RiskForm]:
    """The form of one instrument version, made once (its texts translated
    when shown)."""
    instrument = ri.get(instrument_id, version)
    assert instrument is not None
    fields = {q.id: RadioChoiceField(_l(q.text), choices=[]) for q in instrument.questions}
    return type(f"RiskForm_{instrument_id}_{version}".replace("-", "_"), (RiskForm,), fields)


def risk_form() -> RiskForm:
    current = ri.current()
    return form_class(current.id, current.version)()


def answers_of(form: RiskForm) -> dict[str, str]:
    return {q.id: form[q.id].data for q in ri.current().questions if form[q.id].data}
