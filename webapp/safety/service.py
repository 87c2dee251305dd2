"""The safety plan (issue #22): saved as versions, read by the person and
their caseworker, and "I need to use it", which alerts the caseworker.

Functions take the session, flush, and raise `DomainError`. They never commit.
Nothing here logs what the plan says: ids only.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .. import outbox, submissions
from ..alerts import signals
from ..db import get_locked
from ..directory import service as directory
from ..directory.models import Place
from ..errors import DomainError
from ..models import Organisation, Role, User
from .models import TEXT_MAX, SafetyPlanUse, SafetyPlanVersion

log = logging.getLogger(__name__)

# The directory's kinds a plan's emergency numbers come from.
EMERGENCY_KINDS = ("emergency", "womens_shelter", "mental_health", "clinic", "legal_aid")
VERSIONS_SHOWN = 20
SOURCE_TYPE = "safety_plan"


@dataclass
class PlanText:
    warning_signs: str = ""
    contacts: str = ""
    safe_places: str = ""
    what_to_do: str = ""


def current(session: Session, returnee: User) -> SafetyPlanVersion | None:
    return session.scalar(select(SafetyPlanVersion)
                          .options(joinedload(SafetyPlanVersion.written_by))
                          .where(SafetyPlanVersion.returnee_id == returnee.id)
                          .order_by(SafetyPlanVersion.version.desc()).limit(1))


def versions(session: Session, returnee: User) -> list[SafetyPlanVersion]:
    """The latest versions, newest first."""
    return list(session.scalars(select(SafetyPlanVersion)
                                .options(joinedload(SafetyPlanVersion.written_by))
                                .where(SafetyPlanVersion.returnee_id == returnee.id)
                                .order_by(SafetyPlanVersion.version.desc())
                                .limit(VERSIONS_SHOWN)))


def emergency_places(session: Session, organisation_id: int) -> list[Place]:
    """The directory's places a plan may name: the kinds that help in danger,
    with a phone number."""
    return [p for p in directory.places(session, organisation_id, kinds=EMERGENCY_KINDS)
            if p.phone]


def places_of(session: Session, plan: SafetyPlanVersion | None) -> list[Place]:
    """The plan's places still in the directory (a retired one is left out)."""
    if plan is None or not plan.place_ids:
        return []
    return list(session.scalars(select(Place).where(
        Place.id.in_(plan.place_ids), Place.organisation_id == plan.organisation_id,
        Place.retired_at.is_(None)).order_by(Place.kind, Place.name)))


def chosen_elsewhere(session: Session, person: User,
                     plan: SafetyPlanVersion | None) -> Organisation | None:
    """The organisation whose directory the plan's emergency numbers come
    from, when it is not the person's own now. A plan made before a handover
    (issue #21) names the sending side's places, often in another country.
    The plan stays as the person made it; its page says whose numbers these
    are until a new version chooses places from the person's organisation."""
    if plan is None or not plan.place_ids or plan.organisation_id == person.organisation_id:
        return None
    return session.get(Organisation, plan.organisation_id)


def _clean(text: str | None, field: str) -> str:
    value = (text or "").replace("\x00", "").strip()
    if len(value) > TEXT_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=TEXT_MAX), field=field)
    return value


def _place_ids(session: Session, organisation_id: int, raw: list[str]) -> list[int]:
    allowed = {p.id for p in emergency_places(session, organisation_id)}
    ids = []
    for value in raw:
        if not str(value).isdigit() or int(value) not in allowed:
            raise DomainError(_l("Please choose one from the list."), field="places")
        ids.append(int(value))
    return sorted(set(ids))


def save(session: Session, actor: User, returnee: User, text: PlanText,
         place_ids: list[str]) -> SafetyPlanVersion | None:
    """A new version, written by the person or their caseworker (the access
    rule has checked the caseworker is theirs); None when nothing changed.
    Two saves at once: one after the other, each a version of its own."""
    if actor.id != returnee.id and actor.role != Role.CASEWORKER.value:
        raise DomainError(_l("You cannot do this."))
    cleaned = PlanText(**{name: _clean(getattr(text, name), name)
                          for name in PlanText.__dataclass_fields__})
    ids = _place_ids(session, returnee.organisation_id, place_ids)
    if not any(vars(cleaned).values()) and not ids:
        raise DomainError(_l("Please write at least one thing."), field="warning_signs")
    get_locked(session, User, returnee.id)
    last = current(session, returnee)
    if last is not None and vars(cleaned) == {name: getattr(last, name) for name in
                                              PlanText.__dataclass_fields__} \
            and ids == sorted(last.place_ids or []):
        return None
    version = SafetyPlanVersion(organisation_id=returnee.organisation_id,
                                returnee_id=returnee.id,
                                version=(last.version if last else 0) + 1,
                                place_ids=ids, written_by_id=actor.id, **vars(cleaned))
    session.add(version)
    session.flush()
    outbox.log_after_commit(log, "safety plan returnee=%s version=%s by=%s", returnee.id,
                            version.version, actor.id)
    return version


def need_to_use(session: Session, returnee: User, client_uuid: str | None) -> SafetyPlanUse | None:
    """"I need to use it": the caseworker is alerted, in this transaction.
    Once per device UUID: a tap made offline and sent again by the queue (or
    twice through a flaky network) alerts once; a repeat returns None."""
    if returnee.role != Role.RETURNEE.value:
        raise DomainError(_l("You cannot do this."))
    claim = submissions.claim(session, returnee, client_uuid, SOURCE_TYPE, {})
    if claim.repeat:
        return None
    use = SafetyPlanUse(organisation_id=returnee.organisation_id, returnee_id=returnee.id)
    session.add(use)
    session.flush()
    signals.emit(session, returnee=returnee, kind="safety_plan.used", source_type=SOURCE_TYPE,
                 source_id=use.id, raised_by=returnee)
    outbox.log_after_commit(log, "safety plan used returnee=%s", returnee.id)
    return use
