"""The risk check before and after return (issue #22), as versioned data like
the reintegration instruments: webapp/instruments/risk/<id>-<version>.json.

A file names its instrument (`id`, `version`) and the six areas (safety,
health, medicine, housing, income, family), each with questions whose answer
options carry a risk of 0 (low), 1 (some) or 2 (high). An area's risk is the
highest risk among its answers: one high answer is enough to act on, and an
average would hide it. A file that does not validate is refused at load with
a message naming the file and the problem. Texts are English msgids
(risk/texts.py lists them for extraction).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

from flask_babel import lazy_gettext as _l

FOLDER = Path(__file__).resolve().parent.parent / "instruments" / "risk"
AREAS = {
    "safety": _l("Safety"), "health": _l("Health"), "medicine": _l("Medicine"),
    "housing": _l("Housing"), "income": _l("Income"), "family": _l("Family"),
}
LEVELS = {0: _l("Low risk"), 1: _l("Some risk"), 2: _l("High risk")}
DEFAULT_ID = "footing-risk"


class InstrumentError(ValueError):
    """A risk instrument file that cannot be used; the message says why."""


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


def _need(condition: bool, where: str, message: str) -> None:
    if not condition:
        _fail(where, message)


def _fail(where: str, message: str) -> NoReturn:
    raise InstrumentError(f"{where}: {message}")


def parse(data: object, where: str = "risk instrument") -> RiskInstrument:
    _need(isinstance(data, dict), where, "the file must hold one object")
    assert isinstance(data, dict)
    _need(isinstance(data.get("id"), str) and data["id"].strip() != "", where, "missing id")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        _fail(where, "version must be a whole number from 1")
    where = f"{where} ({data['id']} version {version})"
    areas = data.get("areas")
    if not isinstance(areas, list) or not areas:
        _fail(where, "no areas")
    keys = [a.get("key") if isinstance(a, dict) else None for a in areas]
    _need(sorted(map(str, keys)) == sorted(AREAS), where,
          f"the areas must be each of {', '.join(AREAS)} once")
    seen: set[str] = set()
    questions = []
    for area in areas:
        raw = area.get("questions")
        if not isinstance(raw, list) or not raw:
            _fail(where, f"area {area['key']} has no questions")
        for q in raw:
            qid = q.get("id") if isinstance(q, dict) else None
            if not isinstance(qid, str) or qid == "" or qid in seen:
                _fail(where, f"a question id is missing or listed twice ({qid!r})")
            seen.add(qid)
            _need(isinstance(q.get("text"), str) and q["text"].strip() != "", where,
                  f"question {qid} has no text")
            options_raw = q.get("options")
            if not isinstance(options_raw, list) or len(options_raw) < 2:
                _fail(where, f"question {qid} needs at least two options")
            options = []
            for o in options_raw:
                risk = o.get("risk") if isinstance(o, dict) else None
                if not isinstance(risk, int) or isinstance(risk, bool) or risk not in (0, 1, 2):
                    _fail(where, f"question {qid}: every option needs a risk of 0, 1 or 2")
                _need(isinstance(o.get("key"), str) and isinstance(o.get("label"), str), where,
                      f"question {qid}: every option needs a key and a label")
                options.append(Option(o["key"], o["label"], int(risk)))
            _need(len({o.key for o in options}) == len(options), where,
                  f"question {qid}: duplicate option key")
            questions.append(Question(qid, area["key"], q["text"], tuple(options)))
    return RiskInstrument(id=data["id"], version=int(version),
                          title=str(data.get("title", data["id"])),
                          about=str(data.get("about", "")), questions=tuple(questions))


@lru_cache(maxsize=1)
def registry() -> dict[tuple[str, int], RiskInstrument]:
    found: dict[tuple[str, int], RiskInstrument] = {}
    for path in sorted(FOLDER.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InstrumentError(f"{path.name}: cannot be read as JSON ({err})") from None
        instrument = parse(data, path.name)
        key = (instrument.id, instrument.version)
        _need(key not in found, path.name, f"{key[0]} version {key[1]} is in two files")
        found[key] = instrument
    return found


def current(instrument_id: str = DEFAULT_ID) -> RiskInstrument:
    versions = [i for (iid, _v), i in registry().items() if iid == instrument_id]
    if not versions:
        raise InstrumentError(f"no risk instrument {instrument_id!r} in {FOLDER}")
    return max(versions, key=lambda i: i.version)


def get(instrument_id: str, version: int) -> RiskInstrument | None:
    return registry().get((instrument_id, version))
