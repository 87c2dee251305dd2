"""The risk check before and after return (issue #22), as versioned data like
the reintegration instruments: webapp/instruments/risk/<id>-<version>.json.

A file names its instrument (`id`, `version`) and the six areas (safety,
health, medicine, housing, income, family), each with questions whose answer
options carry a risk of 0 (low), 1 (some) or 2 (high). An area's risk is the
highest risk among its answers: one high answer is enough to act on, and an
average would hide it. A file that does not validate is refused at load with
a message naming the file and the problem (webapp/instrument_files.py, shared
with the reintegration instruments). Texts are English msgids
(risk/texts.py lists them for extraction).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from .. import instrument_files as files
from ..instrument_files import InstrumentError as InstrumentError

FOLDER = Path(__file__).resolve().parent.parent / "instruments" / "risk"
AREAS = {
    "safety": _l("Safety"), "health": _l("Health"), "medicine": _l("Medicine"),
    "housing": _l("Housing"), "income": _l("Income"), "family": _l("Family"),
}
LEVELS = {0: _l("Low risk"), 1: _l("Some risk"), 2: _l("High risk")}
DEFAULT_ID = "footing-risk"


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    risk: int


@dataclass(frozen=True)
class Question:
    id: str
    area: str
    text: str
    options: tuple[Option, ...]

    def option(self, key: str | None) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class RiskInstrument:
    id: str
    version: int
    title: str
    about: str
    questions: tuple[Question, ...]

    def levels(self, answers: dict[str, str]) -> dict[str, int]:
        """{area: risk} for a complete answer set. Raises KeyError naming the
        first question not answered with one of its options."""
        levels = dict.fromkeys(AREAS, 0)
        for q in self.questions:
            option = q.option(answers.get(q.id))
            if option is None:
                raise KeyError(q.id)
            levels[q.area] = max(levels[q.area], option.risk)
        return levels


def parse(data: object, where: str = "risk instrument") -> RiskInstrument:
    data, version, where = files.header(data, where)
    areas = data.get("areas")
    if not isinstance(areas, list) or not areas:
        files.fail(where, "no areas")
    keys = [a.get("key") if isinstance(a, dict) else None for a in areas]
    files.need(sorted(map(str, keys)) == sorted(AREAS), where,
               f"the areas must be each of {', '.join(AREAS)} once")
    seen: set[str] = set()
    questions = []
    for area in areas:
        raw = area.get("questions")
        if not isinstance(raw, list) or not raw:
            files.fail(where, f"area {area['key']} has no questions")
        for q in raw:
            q, options = files.question(
                q, where, seen, "risk", lambda r: isinstance(r, int) and r in (0, 1, 2),
                "every option needs a risk of 0, 1 or 2")
            questions.append(Question(q["id"], area["key"], q["text"], tuple(
                Option(key, label, int(risk)) for key, label, risk in options)))
    return RiskInstrument(id=data["id"], version=version,
                          title=str(data.get("title", data["id"])),
                          about=str(data.get("about", "")), questions=tuple(questions))


@lru_cache(maxsize=1)
def registry() -> dict[tuple[str, int], RiskInstrument]:
    return files.load_folder(FOLDER, parse)


def current(instrument_id: str = DEFAULT_ID) -> RiskInstrument:
    return files.newest(registry(), instrument_id, FOLDER)


def get(instrument_id: str, version: int) -> RiskInstrument | None:
    return registry().get((instrument_id, version))
