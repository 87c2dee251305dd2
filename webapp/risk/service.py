"""Risk checks before and after return (issue #22): recorded by the person's
caseworker with them, listed over time. Functions take the session, flush, and
raise DomainError; they never commit. Nothing here logs answers: ids only."""
from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from .. import outbox
from ..errors import DomainError
from ..models import Role, User
from . import instrument as ri
from .models import RiskCheck

log = logging.getLogger(__name__)

PHASES = {"before": _l("Before the return"), "after": _l("After the return")}
SHOWN = 50


def record(session: Session, actor: User, returnee: User, phase: str | None,
           answers: dict[str, str]) -> RiskCheck:
    """A check with the current instrument; every question must be answered."""
    if actor.role != Role.CASEWORKER.value or returnee.role != Role.RETURNEE.value:
        raise DomainError(_l("You cannot do this."))
    if phase not in PHASES:
        raise DomainError(_l("Please choose one from the list."), field="phase")
    instrument = ri.current()
    try:
        levels = instrument.levels(answers)
    except KeyError as missing:
        raise DomainError(_l("Please answer every question."), field=str(missing.args[0])) \
            from None
    kept = {q.id: answers[q.id] for q in instrument.questions}
    check = RiskCheck(organisation_id=returnee.organisation_id, returnee_id=returnee.id,
                      phase=phase, instrument_id=instrument.id,
                      instrument_version=instrument.version, answers=kept, levels=levels,
                      recorded_by_id=actor.id)
    session.add(check)
    session.flush()
    outbox.log_after_commit(log, "risk check returnee=%s check=%s by=%s", returnee.id,
                            check.id, actor.id)
    return check


def checks_of(session: Session, returnee: User) -> list[RiskCheck]:
    """The person's risk checks, newest first."""
    return list(session.scalars(select(RiskCheck).options(joinedload(RiskCheck.recorded_by))
                                .where(RiskCheck.returnee_id == returnee.id)
                                .order_by(RiskCheck.created_at.desc(), RiskCheck.id.desc())
                                .limit(SHOWN)))
