"""Reintegration check instruments: versioned data files in webapp/instruments/.

A file names its instrument (`id`, `version`), the three dimensions with a
weight each, the questions of each dimension with a weight each, and the
answer options of each question with a value from 0 to 1. A dimension's score
is the weighted mean of its answers; the composite is the weighted mean of the
dimension scores. Weights are numbers or fractions as text ("1/3") and must add
up to 1 (within 0.001 for rounded decimals; then used as shares of their sum).

A file that does not validate is refused at load with a message naming the
file and the problem (webapp/instrument_files.py, shared with the risk check).
Texts are English msgids, translated when shown
(webapp/monitoring/instrument_texts.py lists them for extraction).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

from flask_babel import lazy_gettext as _l

from .. import instrument_files as files
from ..instrument_files import InstrumentError as InstrumentError, fail as _fail, need as _need

FOLDER = Path(__file__).resolve().parent.parent / "instruments"
DIMENSIONS = ("economic", "social", "psychosocial")
DIMENSION_LABELS = {"economic": _l("Money and work"), "social": _l("Family and friends"),
                    "psychosocial": _l("Feeling well")}
DEFAULT_ID = "footing-default"
WEIGHT_TOLERANCE = 0.001


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    value: float


@dataclass(frozen=True)
class Question:
    id: str
    dimension: str
    text: str
    weight: float
    options: tuple[Option, ...]

    def option(self, key: str | None) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


@dataclass(frozen=True)
class Dimension:
    key: str
    weight: float
    questions: tuple[Question, ...]


@dataclass(frozen=True)
class Scores:
    economic: float
    social: float
    psychosocial: float
    composite: float


@dataclass(frozen=True)
class Instrument:
    id: str
    version: int
    title: str
    about: str
    dimensions: tuple[Dimension, ...]

    @property
    def questions(self) -> list[Question]:
        return [q for d in self.dimensions for q in d.questions]

    def score(self, answers: dict[str, str]) -> Scores:
        """Scores for a complete answer set (every question answered with one
        of its options). Raises KeyError naming the first question that is not."""
        per_dimension = {}
        for dim in self.dimensions:
            total = 0.0
            for q in dim.questions:
                option = q.option(answers.get(q.id))
                if option is None:
                    raise KeyError(q.id)
                total += q.weight * option.value
            per_dimension[dim.key] = round(total, 4)
        composite = sum(d.weight * per_dimension[d.key] for d in self.dimensions)
        return Scores(composite=round(composite, 4), **per_dimension)


def _weight(raw: object) -> Fraction | None:
    """A number (0.25) or a fraction written as text ("1/3")."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        return None
    try:
        value = Fraction(str(raw).strip())
    except (ValueError, ZeroDivisionError):
        return None
    return value if value > 0 else None


def _weights(items: list[dict], where: str, what: str) -> list[float]:
    weights: list[Fraction] = []
    for item in items:
        w = _weight(item.get("weight"))
        if w is None:
            _fail(where, f"every {what} needs a weight above 0 (a number or \"1/3\")")
        weights.append(w)
    total = sum(weights, Fraction(0))
    _need(abs(total - 1) <= WEIGHT_TOLERANCE, where,
          f"the {what} weights add up to {float(total):g}, not 1")
    return [float(w / total) for w in weights]


def parse(data: object, where: str = "instrument") -> Instrument:
    """Validate raw instrument data; raise InstrumentError with a clear message."""
    data, version, where = files.header(data, where)
    dims = data.get("dimensions")
    if not isinstance(dims, list) or not dims:
        _fail(where, "no dimensions")
    keys = [d.get("key") if isinstance(d, dict) else None for d in dims]
    for key in keys:
        _need(key in DIMENSIONS, where,
              f"unknown dimension {key!r} (known: {', '.join(DIMENSIONS)})")
    _need(len(set(keys)) == len(keys), where, "a dimension is listed twice")
    _need(set(keys) == set(DIMENSIONS), where,
          f"missing dimension(s): {', '.join(sorted(set(DIMENSIONS) - set(keys)))}")
    dim_weights = _weights(dims, where, "dimension")
    seen: set[str] = set()
    dimensions = []
    for dim, dim_weight in zip(dims, dim_weights, strict=True):
        questions_raw = dim.get("questions")
        if not isinstance(questions_raw, list) or not questions_raw:
            _fail(where, f"dimension {dim['key']} has no questions")
        q_weights = _weights(questions_raw, f"{where}, dimension {dim['key']}", "question")
        questions = []
        for q, q_weight in zip(questions_raw, q_weights, strict=True):
            q, options = files.question(
                q, where, seen, "value", lambda v: isinstance(v, (int, float)) and 0 <= v <= 1,
                "every option needs a value from 0 to 1")
            questions.append(Question(q["id"], dim["key"], q["text"], q_weight, tuple(
                Option(key, label, float(value)) for key, label, value in options)))
        dimensions.append(Dimension(dim["key"], dim_weight, tuple(questions)))
    order = {k: i for i, k in enumerate(DIMENSIONS)}
    dimensions.sort(key=lambda d: order[d.key])
    return Instrument(id=data["id"], version=version, title=str(data.get("title", data["id"])),
                      about=str(data.get("about", "")), dimensions=tuple(dimensions))


def load_file(path: Path) -> Instrument:
    return files.load_file(path, parse)


@lru_cache(maxsize=1)
def registry() -> dict[tuple[str, int], Instrument]:
    return files.load_folder(FOLDER, parse)


def get(instrument_id: str, version: int) -> Instrument | None:
    return registry().get((instrument_id, version))


def current(instrument_id: str = DEFAULT_ID) -> Instrument:
    """The newest version: new checks are scored with it."""
    return files.newest(registry(), instrument_id, FOLDER)


def to_data(instrument: Instrument) -> dict:
    """The instrument as the data of a file (weights as written shares),
    the starting point of a new version made in the app."""
    return {
        "id": instrument.id, "version": instrument.version, "title": instrument.title,
        "about": instrument.about,
        "dimensions": [{
            "key": d.key, "weight": round(d.weight, 6),
            "questions": [{
                "id": q.id, "text": q.text, "weight": round(q.weight, 6),
                "options": [{"key": o.key, "label": o.label, "value": o.value}
                            for o in q.options]} for q in d.questions]}
            for d in instrument.dimensions],
    }
