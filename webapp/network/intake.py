"""Bulk intake (issue #21): a coordinator creates people from a CSV file, for
example a list from the sending organisation. A dry run comes first; every
problem is given with its row; and either every row is created or none.

Columns (the first row names them; only `name` is needed):
    name, language, return_date (YYYY-MM-DD), caseworker_email
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..auth.service import IssuedCode
from ..errors import DomainError, Message
from ..models import Organisation, Role, User
from ..people import service as people

COLUMNS = ("name", "language", "return_date", "caseworker_email")
MAX_ROWS = 500
NAME_MAX = 100
# A cell a spreadsheet would run as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Row:
    number: int  # as a spreadsheet shows it: the header is row 1
    name: str
    language: str | None
    return_date: date | None
    caseworker: User | None


@dataclass
class Intake:
    rows: list[Row] = field(default_factory=list)
    # (row number, message); row 0: the file as a whole
    errors: list[tuple[int, Message]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.rows)


class IntakeRefused(DomainError):
    """The file has problems: nothing was created."""

    def __init__(self, intake: Intake) -> None:
        super().__init__(_l("Nothing was created. Please correct the rows below."))
        self.intake = intake


def _table(intake: Intake, raw: bytes) -> tuple[list[str], list[list[str]]] | None:
    """The header and the rows, or None with the file's problem recorded."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        intake.errors.append((0, _l("The file is not UTF-8 text. Save it as \"CSV UTF-8\" "
                                    "and try again.")))
        return None
    if "\x00" in text:
        intake.errors.append((0, _l("The file is not a CSV file.")))
        return None
    lines = list(csv.reader(io.StringIO(text)))
    if not lines or not any(cell.strip() for cell in lines[0]):
        intake.errors.append((0, _l("The file is empty.")))
        return None
    header = [cell.strip().lower() for cell in lines[0]]
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        intake.errors.append((1, _l("Unknown column: %(names)s. Known columns: %(known)s.",
                                    names=", ".join(unknown), known=", ".join(COLUMNS))))
    if len(set(header)) != len(header):
        intake.errors.append((1, _l("A column is named twice.")))
    if "name" not in header:
        intake.errors.append((1, _l("The column \"name\" is missing.")))
    if len(lines) - 1 > MAX_ROWS:
        intake.errors.append((0, _l("At most %(n)d people at a time.", n=MAX_ROWS)))
    return None if intake.errors else (header, lines[1:])


def read(session: Session, org: Organisation, raw: bytes, languages: list[str]) -> Intake:
    """Check every row; create nothing."""
    intake = Intake()
    table = _table(intake, raw)
    if table is None:
        return intake
    header, lines = table
    caseworkers = {u.email: u for u in people.caseworkers(session, org.id) if u.email}
    existing = {(u.display_name.casefold(), u.return_date) for u in session.scalars(
        select(User).where(User.organisation_id == org.id, User.role == Role.RETURNEE.value,
                           User.deleted_at.is_(None)))}
    seen: dict[tuple[str, date | None], int] = {}
    for number, cells in enumerate(lines, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != len(header):
            intake.errors.append((number, _l("This row has %(n)d cells; the first row has "
                                             "%(m)d.", n=len(cells), m=len(header))))
            continue
        values = {h: cell.strip() for h, cell in zip(header, cells, strict=True)}
        row = _row(intake, number, values, languages, caseworkers)
        if row is None:
            continue
        key = (row.name.casefold(), row.return_date)
        if key in seen:
            intake.errors.append((number, _l("The same person as row %(n)d.", n=seen[key])))
            continue
        if key in existing:
            intake.errors.append((number, _l("This person is already in Footing.")))
            continue
        seen[key] = number
        intake.rows.append(row)
    if not intake.rows and not intake.errors:
        intake.errors.append((0, _l("The file has no people in it.")))
    return intake


def _row(intake: Intake, number: int, values: dict[str, str], languages: list[str],
         caseworkers: dict[str, User]) -> Row | None:
    problems: list[Message] = []
    if any(v.startswith(FORMULA_START) for v in values.values()):
        problems.append(_l("A cell starts with = + - or @: formulas are not taken."))
    name = values.get("name", "")
    if not name:
        problems.append(_l("The name is missing."))
    elif len(name) > NAME_MAX:
        problems.append(_l("The name is longer than %(n)d characters.", n=NAME_MAX))
    language = values.get("language") or None
    if language is not None and language not in languages:
        problems.append(_l("Unknown language: %(code)s.", code=language))
    return_date = None
    if values.get("return_date"):
        try:
            return_date = date.fromisoformat(values["return_date"])
        except ValueError:
            problems.append(_l("The return date is not a date like 2026-03-31."))
    caseworker = None
    if values.get("caseworker_email"):
        caseworker = caseworkers.get(values["caseworker_email"].lower())
        if caseworker is None:
            problems.append(_l("No caseworker of this organisation has this e-mail address."))
    intake.errors.extend((number, p) for p in problems)
    if problems:
        return None
    return Row(number, name, language, return_date, caseworker)


def create(session: Session, actor: User, org: Organisation, raw: bytes,
           languages: list[str]) -> list[IssuedCode]:
    """Create every person of the file, or nobody (IntakeRefused)."""
    intake = read(session, org, raw, languages)
    if not intake.ok:
        raise IntakeRefused(intake)
    return [people.create_returnee(session, organisation=org, created_by=actor,
                                   display_name=row.name, locale=row.language,
                                   caseworker=row.caseworker, return_date=row.return_date)
            for row in intake.rows]
