"""The directory of local services (issue #22): places kept by the partner,
found by kind and town, checked by staff and by returnees' word, shared
between partners as CSV.

Functions take the session, flush, and raise `DomainError` with a message a
person can read. They never commit.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, joinedload

from ..db import get_locked
from ..errors import DomainError, Message
from ..models import Organisation, Role, User, utcnow
from ..support.service import clean_phone
from . import choices as c
from .models import Place, PlaceFeedback

LIST_LIMIT = 300  # places on one list page: a town's pharmacies, not a country's
IMPORT_ROWS_MAX = 2000


@dataclass
class PlaceData:
    """An entry as typed in the form or read from a CSV row: text only."""

    kind: str = ""
    name: str = ""
    town: str = ""
    address: str = ""
    directions: str = ""
    latitude: str = ""
    longitude: str = ""
    hours: str = ""
    phone: str = ""
    cost: str = "free"
    languages: str = ""
    who: str = ""
    medicines: str = ""


@dataclass
class _Clean:
    kind: str
    name: str
    town: str
    address: str
    directions: str
    latitude: float | None
    longitude: float | None
    hours: str
    phone: str
    cost: str
    languages: str
    who: str
    medicines: str


def _text(raw: str | None, limit: int, name: str, *, required: bool = False,
          one_line: bool = True) -> str:
    value = (raw or "").replace("\x00", "").strip()
    if one_line:
        value = " ".join(value.split())
    if required and not value:
        raise DomainError(_l("Please fill this in."), field=name)
    if len(value) > limit:
        raise DomainError(_l("Please use at most %(max)d characters.", max=limit), field=name)
    return value


def _coordinate(raw: str | None, limit: float, name: str) -> float | None:
    text = (raw or "").strip()
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # 8,4657 as a French keyboard writes it
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -limit <= value <= limit:
        raise DomainError(_l("Please write a number from %(low)d to %(high)d.",
                             low=-int(limit), high=int(limit)), field=name)
    return round(value, 6)


def _medicines(raw: str | None) -> str:
    """One medicine a line, each once (however it was typed), in the order given."""
    seen: dict[str, str] = {}
    for part in (raw or "").replace(";", "\n").splitlines():
        name = " ".join(part.split())
        if name and name.casefold() not in seen:
            seen[name.casefold()] = name
    text = "\n".join(seen.values())
    if len(text) > c.MEDICINES_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=c.MEDICINES_MAX),
                          field="medicines")
    return text


def clean(data: PlaceData) -> _Clean:
    """The entry checked: a clear error on the first field that is wrong."""
    if data.kind not in c.KINDS:
        raise DomainError(_l("Please choose what kind of place it is."), field="kind")
    if data.cost not in c.COSTS:
        raise DomainError(_l("Please choose one from the list."), field="cost")
    latitude = _coordinate(data.latitude, 90, "latitude")
    longitude = _coordinate(data.longitude, 180, "longitude")
    if (latitude is None) != (longitude is None):
        raise DomainError(_l("Please give both numbers of the location, or neither."),
                          field="latitude" if latitude is None else "longitude")
    return _Clean(
        kind=data.kind,
        name=_text(data.name, c.NAME_MAX, "name", required=True),
        town=_text(data.town, c.TOWN_MAX, "town", required=True),
        address=_text(data.address, c.ADDRESS_MAX, "address"),
        directions=_text(data.directions, c.DIRECTIONS_MAX, "directions", one_line=False),
        latitude=latitude, longitude=longitude,
        hours=_text(data.hours, c.HOURS_MAX, "hours"),
        phone=clean_phone(data.phone, field="phone"),
        cost=data.cost,
        languages=_text(data.languages, c.LANGUAGES_MAX, "languages"),
        who=_text(data.who, c.WHO_MAX, "who"),
        medicines=_medicines(data.medicines),
    )


def data_of(place: Place) -> PlaceData:
    """The entry as the form shows it."""
    def number(value: float | None) -> str:
        return "" if value is None else f"{value:g}"
    return PlaceData(kind=place.kind, name=place.name, town=place.town, address=place.address,
                     directions=place.directions, latitude=number(place.latitude),
                     longitude=number(place.longitude), hours=place.hours, phone=place.phone,
                     cost=place.cost, languages=place.languages, who=place.who,
                     medicines=place.medicines)


def _staff_only(actor: User) -> None:
    if actor.role not in (Role.CASEWORKER.value, Role.COORDINATOR.value):
        raise DomainError(_l("You cannot do this."))


def _apply(place: Place, new: _Clean) -> None:
    for f in fields(new):
        setattr(place, f.name, getattr(new, f.name))


def _checked_by(place: Place, actor: User, at: datetime | None = None) -> None:
    place.last_checked_at = at or utcnow()
    place.last_checked_by_id = actor.id
    place.last_check = "staff"


# --- Staff keep the directory -------------------------------------------------

def add_place(session: Session, actor: User, data: PlaceData) -> Place:
    _staff_only(actor)
    place = Place(organisation_id=actor.organisation_id)
    _apply(place, clean(data))
    _checked_by(place, actor)
    session.add(place)
    session.flush()
    return place


def update_place(session: Session, actor: User, place: Place, data: PlaceData) -> None:
    """Saving an entry is checking it: whoever saves vouches for it today."""
    _staff_only(actor)
    _apply(place, clean(data))
    _checked_by(place, actor)
    session.flush()


def mark_checked(session: Session, actor: User, place: Place) -> None:
    """"Still right": checked today, nothing changed."""
    _staff_only(actor)
    _checked_by(place, actor)
    session.flush()


def retire(session: Session, actor: User, place: Place) -> None:
    """A place that closed: returnees no longer see it; staff can bring it back."""
    _staff_only(actor)
    place.retired_at = None if place.retired_at else utcnow()
    session.flush()


def set_check_days(session: Session, actor: User, days: int | None) -> None:
    low, high = c.CHECK_DAYS_RANGE
    if days is None or not low <= days <= high:
        raise DomainError(_l("Please write a number from %(low)d to %(high)d.",
                             low=low, high=high), field="days")
    org = get_locked(session, Organisation, actor.organisation_id)
    org.directory_check_days = days
    session.flush()


def check_due(session: Session, org: Organisation) -> list[Place]:
    """Active places not checked within the organisation's limit, oldest first."""
    since = utcnow() - timedelta(days=org.directory_check_days)
    return list(session.scalars(
        select(Place).options(joinedload(Place.last_checked_by))
        .where(Place.organisation_id == org.id, Place.retired_at.is_(None),
               Place.last_checked_at < since)
        .order_by(Place.last_checked_at, Place.id).limit(LIST_LIMIT)))


# --- Finding places -----------------------------------------------------------

def visible_place(session: Session, viewer: User, place_id: int) -> Place | None:
    """The access scope: a place of the viewer's organisation; a retired one
    for staff only."""
    place = session.get(Place, place_id)
    if place is None or place.organisation_id != viewer.organisation_id:
        return None
    if place.retired_at is not None and not viewer.is_staff:
        return None
    return place


def kinds_here(session: Session, organisation_id: int) -> dict[str, int]:
    """{kind: how many active places}, in the order of the kinds' list."""
    counts: dict[str, int] = {kind: n for kind, n in session.execute(
        select(Place.kind, func.count()).where(Place.organisation_id == organisation_id,
                                               Place.retired_at.is_(None))
        .group_by(Place.kind))}
    return {kind: counts[kind] for kind in c.KINDS if counts.get(kind)}


def towns(session: Session, organisation_id: int) -> list[str]:
    return list(session.scalars(
        select(Place.town).where(Place.organisation_id == organisation_id,
                                 Place.retired_at.is_(None))
        .group_by(Place.town).order_by(Place.town)))


def places(session: Session, organisation_id: int, *, kinds: Iterable[str] = (),
           town: str = "", medicine: str = "", retired: bool = False) -> list[Place]:
    """Places by kind (any of `kinds`; none: every kind), town and a medicine
    they had when last checked, by town then name."""
    query = select(Place).where(Place.organisation_id == organisation_id)
    query = query.where(Place.retired_at.is_not(None) if retired else Place.retired_at.is_(None))
    kinds = [k for k in kinds if k in c.KINDS]
    if kinds:
        query = query.where(Place.kind.in_(kinds))
    if town:
        query = query.where(Place.town == town)
    if medicine:
        query = query.where(func.lower(Place.medicines).contains(medicine.lower(),
                                                                   autoescape=True))
    return list(session.scalars(query.order_by(Place.town, Place.name, Place.id)
                                .limit(LIST_LIMIT)))


# The directory's numbers on "I need help now" and the offline page, next to
# the organisation's own: the kinds to call in danger, a short list.
EMERGENCY_KINDS = ("emergency", "womens_shelter")
EMERGENCY_SHOWN = 5


def emergency_numbers(session: Session, organisation_id: int) -> list[Place]:
    """Active places of the emergency kinds that have a phone number: police
    and emergency first, then women's shelters, by name; at most
    EMERGENCY_SHOWN. Public data: shown to anyone on a bound phone."""
    order = case({kind: n for n, kind in enumerate(EMERGENCY_KINDS)}, value=Place.kind)
    return list(session.scalars(
        select(Place).where(Place.organisation_id == organisation_id,
                            Place.retired_at.is_(None), Place.kind.in_(EMERGENCY_KINDS),
                            Place.phone != "")
        .order_by(order, Place.name, Place.id).limit(EMERGENCY_SHOWN)))


# --- What returnees say -------------------------------------------------------

def give_feedback(session: Session, returnee: User, place: Place, outcome: str | None) -> None:
    """"This place helped" or "they did not have it": kept as the person's
    own row, and the place counts as checked today by a returnee's word (no
    name: other people read "last checked")."""
    if returnee.role != Role.RETURNEE.value:
        raise DomainError(_l("You cannot do this."))
    if outcome not in c.FEEDBACK:
        raise DomainError(_l("Please choose one from the list."), field="outcome")
    session.add(PlaceFeedback(organisation_id=place.organisation_id, place_id=place.id,
                              returnee_id=returnee.id, outcome=outcome))
    place.last_checked_at = utcnow()
    place.last_checked_by_id = None
    place.last_check = outcome
    session.flush()


def feedback_counts(session: Session, place: Place, days: int = 90) -> dict[str, int]:
    """What returnees said of the place in the last `days` days."""
    since = utcnow() - timedelta(days=days)
    return {outcome: n for outcome, n in session.execute(
        select(PlaceFeedback.outcome, func.count())
        .where(PlaceFeedback.place_id == place.id, PlaceFeedback.created_at >= since)
        .group_by(PlaceFeedback.outcome))}


# --- CSV: sharing the directory between partners ------------------------------

COLUMNS = ("kind", "name", "town", "address", "directions", "latitude", "longitude",
           "hours", "phone", "cost", "languages", "who", "medicines", "last_checked")
# A spreadsheet runs a cell that begins with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: str) -> str:
    """Neutralised for spreadsheets: a leading quote makes a formula plain text."""
    return "'" + value if value.startswith(FORMULA_START) else value


def _read_cell(value: str, name: str) -> str:
    """A cell as imported: our own export's quote taken off again; in text
    (not a phone number or a coordinate, which are checked as such) what
    would start a formula is taken off, so it never starts one in the next
    export or spreadsheet either."""
    value = value.replace("\x00", "")
    if value.startswith("'") and value[1:].startswith(FORMULA_START):
        value = value[1:]
    if name not in ("phone", "latitude", "longitude"):
        value = value.lstrip("=+-@\t\r ")
    return value


def export_csv(session: Session, organisation_id: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for place in session.scalars(select(Place).where(Place.organisation_id == organisation_id,
                                                     Place.retired_at.is_(None))
                                 .order_by(Place.kind, Place.town, Place.name, Place.id)):
        data = data_of(place)
        row = [getattr(data, name) for name in COLUMNS[:-1]]
        row[COLUMNS.index("medicines")] = "; ".join(place.medicine_list)
        row.append(place.last_checked_at.date().isoformat())
        writer.writerow([_safe_cell(str(v)) for v in row])
    return out.getvalue()


@dataclass
class RowError:
    line: int  # the line in the file, the header being line 1
    column: str
    message: Message


@dataclass
class ImportResult:
    added: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    done: bool = False  # written (not a dry run, and no errors)


def _key(kind: str, name: str, town: str) -> tuple[str, str, str]:
    return kind, name.casefold(), town.casefold()


def _checked_on(raw: str) -> datetime | None:
    text = raw.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise DomainError(_l("Please enter a date like 2026-12-31."),
                          field="last_checked") from None
    # The export writes the day in UTC, and a partner types the local one,
    # which may be up to 14 hours ahead: a later day than that is a mistake.
    now = utcnow()
    if day > (now + timedelta(hours=14)).date():
        raise DomainError(_l("Please enter a date like 2026-12-31."), field="last_checked")
    return min(datetime.combine(day, time(12), tzinfo=UTC), now)


_NOT_CSV = _l("This is not a CSV file from a spreadsheet. Please save it as CSV (UTF-8) "
             "and try again.")


def _rows(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: cell}) of every line with something in it; the cells
    as imported (see `_read_cell`)."""
    if not raw:
        raise DomainError(_l("Please choose a CSV file."), field="file")
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline=""))
        header = [h.strip().lower() for h in reader.fieldnames or []]
        if not {"kind", "name", "town"} <= set(header):
            raise DomainError(_l("The first line must name the columns: %(columns)s.",
                                 columns=", ".join(COLUMNS)), field="file")
        reader.fieldnames = header
        rows: list[tuple[int, dict[str, str]]] = []
        for number, row in enumerate(reader, start=2):
            if len(rows) >= IMPORT_ROWS_MAX:
                raise DomainError(_l("At most %(num)d places at once, please.",
                                     num=IMPORT_ROWS_MAX), field="file")
            cells = {name: _read_cell(str(value or ""), name) for name, value in row.items()
                     if name in COLUMNS}
            if any(v.strip() for v in cells.values()):
                rows.append((number, cells))
        return rows
    except (UnicodeDecodeError, csv.Error):
        raise DomainError(_NOT_CSV, field="file") from None


def _row_place(cells: dict[str, str]) -> tuple[_Clean, datetime | None]:
    data = PlaceData(**{name: cells[name] for name in PlaceData.__dataclass_fields__
                        if name in cells})
    data.kind = data.kind.strip().lower()
    data.cost = data.cost.strip().lower() or "free"
    return clean(data), _checked_on(cells.get("last_checked", ""))


def import_csv(session: Session, actor: User, raw: bytes, *, dry_run: bool) -> ImportResult:
    """Every row checked first; written only when none has an error and it is
    not a dry run: nothing is ever half imported. A row whose kind, name and
    town are those of an active place updates it; any other row adds one."""
    if actor.role != Role.COORDINATOR.value:
        raise DomainError(_l("You cannot do this."))
    rows = _rows(raw)
    existing = {_key(p.kind, p.name, p.town): p for p in session.scalars(
        select(Place).where(Place.organisation_id == actor.organisation_id,
                            Place.retired_at.is_(None)))}
    result = ImportResult()
    todo: list[tuple[Place | None, _Clean, datetime | None]] = []
    seen: set[tuple[str, str, str]] = set()
    for number, cells in rows:
        try:
            new, checked = _row_place(cells)
        except DomainError as err:
            result.errors.append(RowError(number, err.field or "", err.message))
            continue
        key = _key(new.kind, new.name, new.town)
        if key in seen:
            result.errors.append(RowError(number, "name",
                                          _l("This place is in the file twice.")))
            continue
        seen.add(key)
        todo.append((existing.get(key), new, checked))
    result.added = sum(1 for place, _new, _at in todo if place is None)
    result.updated = len(todo) - result.added
    if dry_run or result.errors:
        return result
    for place, new, checked in todo:
        if place is None:
            place = Place(organisation_id=actor.organisation_id)
            session.add(place)
        _apply(place, new)
        _checked_by(place, actor, checked)
    session.flush()
    result.done = True
    return result
