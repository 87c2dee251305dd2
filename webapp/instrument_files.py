"""What the reintegration instruments (monitoring/instruments.py) and the risk
check (risk/instrument.py, issue #22) share: versioned JSON files in
webapp/instruments/, read and checked at load, each problem refused with a
message naming the file and what is wrong; questions with an id, a text and
answer options. What an option is worth (a value from 0 to 1 with weights, a
risk of 0, 1 or 2) and how answers are scored stay with each."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar


class InstrumentError(ValueError):
    """An instrument file that cannot be used; the message says why."""


def need(condition: bool, where: str, message: str) -> None:
    if not condition:
        fail(where, message)


def fail(where: str, message: str) -> NoReturn:
    raise InstrumentError(f"{where}: {message}")


def header(data: object, where: str) -> tuple[dict[str, Any], int, str]:
    """The file's object, its version, and `where` naming its id and version
    for the messages that follow."""
    need(isinstance(data, dict), where, "the file must hold one object")
    assert isinstance(data, dict)
    need(isinstance(data.get("id"), str) and data["id"].strip() != "", where, "missing id")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        fail(where, "version must be a whole number from 1")
    return data, version, f"{where} ({data['id']} version {version})"


def question(raw: object, where: str, seen: set[str], value_key: str,
             valid: Callable[[object], bool], rule: str
             ) -> tuple[dict[str, Any], list[tuple[str, str, Any]]]:
    """A question checked: an id not seen before (added to `seen`), a text,
    at least two options each with a key (once), a label and a `value_key`
    that `valid` accepts (else `rule`, the message). The question's object and
    its options as (key, label, value)."""
    qid = raw.get("id") if isinstance(raw, dict) else None
    need(isinstance(qid, str) and qid != "", where, "a question has no id")
    assert isinstance(raw, dict) and isinstance(qid, str)
    need(qid not in seen, where, f"duplicate question id {qid!r}")
    seen.add(qid)
    need(isinstance(raw.get("text"), str) and raw["text"].strip() != "", where,
         f"question {qid} has no text")
    options_raw = raw.get("options")
    if not isinstance(options_raw, list) or len(options_raw) < 2:
        fail(where, f"question {qid} needs at least two options")
    options = []
    for o in options_raw:
        value = o.get(value_key) if isinstance(o, dict) else None
        need(not isinstance(value, bool) and valid(value), where, f"question {qid}: {rule}")
        need(isinstance(o.get("key"), str) and isinstance(o.get("label"), str), where,
             f"question {qid}: every option needs a key and a label")
        options.append((o["key"], o["label"], value))
    need(len({key for key, _label, _value in options}) == len(options), where,
         f"question {qid}: duplicate option key")
    return raw, options


class Versioned(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


InstrumentT = TypeVar("InstrumentT", bound=Versioned)


def load_file(path: Path, parse: Callable[[object, str], InstrumentT]) -> InstrumentT:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InstrumentError(f"{path.name}: cannot be read as JSON ({err})") from None
    return parse(data, path.name)


def load_folder(folder: Path, parse: Callable[[object, str], InstrumentT]
                ) -> dict[tuple[str, int], InstrumentT]:
    """{(id, version): instrument} of every file in `folder`; a version in
    two files is refused."""
    found: dict[tuple[str, int], InstrumentT] = {}
    for path in sorted(folder.glob("*.json")):
        instrument = load_file(path, parse)
        key = (instrument.id, instrument.version)
        need(key not in found, path.name, f"{key[0]} version {key[1]} is in two files")
        found[key] = instrument
    return found


def newest(found: dict[tuple[str, int], InstrumentT], instrument_id: str,
           folder: Path) -> InstrumentT:
    """The newest version of the instrument: new answers are scored with it."""
    versions = [i for (iid, _v), i in found.items() if iid == instrument_id]
    if not versions:
        raise InstrumentError(f"no instrument {instrument_id!r} in {folder}")
    return max(versions, key=lambda i: i.version)
