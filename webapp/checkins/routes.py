"""Check-ins of a returnee. URL map:

    /checkin/            GET the form, POST a check-in (exactly once per client_uuid)
    /checkin/history     my check-ins: a mood line and the same as a table
"""
from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import outbox, submissions
from ..db import db_session
from ..forms import run_form
from ..network import service as network
from ..security import offline_copy
from . import service
from .forms import VISIBILITY, CheckInForm

bp = Blueprint("checkins", __name__, url_prefix="/checkin")


@bp.route("/", methods=["GET", "POST"])
@offline_copy
def new():
    me = current_user._get_current_object()
    session = db_session()
    if network.in_preparation(session, me):  # issue #21: check-ins start after return
        flash(_l("You are preparing your return. Check-ins start after it."), "info")
        return redirect(url_for("main.home"))
    form = CheckInForm()
    # Sharing with the group without consent is refused by the service;
    # the consent is read only when the form is shown.
    run = run_form(form, lambda: _record_once(session, me, form))
    if run.done:
        flash(_l("Thank you. Your check-in is sent."), "info")
        return redirect(run.result)
    if not form.is_submitted() or isinstance(run.error, submissions.SubmissionConflict):
        form.client_uuid.data = str(uuid.uuid4())
    may_share = service.may_share_with_group(session, me)
    if not may_share:
        form.visibility.choices = [VISIBILITY[0]]
    return render_template("checkins/new.html", form=form, may_share=may_share), run.status


def _record_once(session, me, form: CheckInForm) -> str:
    """The check-in, once per device UUID; where to go next (a repeat goes
    where the first went)."""
    stored = service.record_checkin(
        session, me, mood=form.mood.data, answers=form.answers(), note=form.note.data,
        share_with_group=form.visibility.data == "group", client_uuid=form.client_uuid.data)
    if not stored.repeat:  # the request's line already names the person
        outbox.log_fields_after_commit(checkin=stored.id)
    return url_for("checkins.history")


@bp.get("/history")
@offline_copy
def history():
    checkins = service.history(db_session(), current_user)
    return render_template("checkins/history.html", checkins=checkins,
                           chart=service.mood_chart(checkins), moods=service.MOODS,
                           answers=service.ANSWER_LABELS)
