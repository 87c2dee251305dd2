"""Signals: facts a caseworker must hear about, written in the same transaction
as their cause. The alerts area turns each into an alert with a severity, a
time limit and recipients (its routing table maps these kinds).

This module is the alerts area's interface for the other areas: they call
`emit` from their services and know nothing else of alerts."""
from __future__ import annotations

import logging

from flask import has_app_context
from sqlalchemy.orm import Session

from ..models import User
from ..push.service import send_after_commit
from . import service
from .models import Signal

log = logging.getLogger(__name__)

# Every kind any area may emit; the alerts routing table must cover each one.
KINDS = {
    "concern.urgent": "an 'I need help now' concern",
    "concern.serious": "a concern that should be seen soon",
    "concern.safety_now": "'I need help now' about safety: the most urgent thing there is",
    "support.new": "a new support request",
    "checkin.unsafe": "a check-in answered 'not feeling safe'",
    "checkin.no_medicine": "a check-in answered 'no medicine'",
    "checkin.low_mood": "low mood in two check-ins in a row",
    "checkin.no_contact": "two check-in periods missed",
    "group.raised": "a facilitator raised a member with the caseworker",
    "followup.overdue": "a follow-up not done in time",
    "account.deletion_requested": "the person asked to delete their account",
    "safety_plan.used": "the person pressed 'I need to use it' on their safety plan",
}


def emit(session: Session, *, returnee: User, kind: str, source_type: str | None = None,
         source_id: int | None = None, raised_by: User | None = None) -> Signal:
    if kind not in KINDS:
        raise ValueError(f"unknown signal kind {kind!r}")
    signal = Signal(organisation_id=returnee.organisation_id, returnee_id=returnee.id, kind=kind,
                    source_type=source_type, source_id=source_id,
                    raised_by_id=raised_by.id if raised_by else None)
    session.add(signal)
    session.flush()
    _route(session, signal)
    return signal


def _route(session: Session, signal: Signal) -> None:
    """The signal's alert, in the same transaction as its cause (DESIGN §3.4):
    it is in the inbox the moment the cause is committed, whether the worker
    runs or not. The pushes it queued go to the worker after the commit.
    Should routing fail, the cause is stored all the same and the signal is
    left for the worker's sweep (staff pages say when that takes too long)."""
    if not has_app_context():  # a script without an app: the sweep routes it
        return
    try:
        with session.begin_nested():
            delivery_ids = service.route_signal(session, signal, new=True)
    except Exception:  # the report must be kept; the sweep routes it later
        log.exception("routing signal %s failed; left for the sweep", signal.id)
        return
    send_after_commit(delivery_ids)
