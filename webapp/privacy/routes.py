"""A returnee's privacy (DESIGN.md §3.6). URL map:

    /me/choices      GET the consent text and my choices, POST changed choices
    /me/data         what the file of all my information holds
    /me/data.json    GET that file (a download)
    /me/delete       GET what deleting means, POST ask for it (the caseworker confirms)
    /me/delete/cancel  POST take the request back

The caseworker's side (confirm and delete) is on the person's page:
`people.delete_account`.
"""
from __future__ import annotations

import json
import logging
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user

from .. import outbox
from ..auth.forms import ConsentForm
from ..auth.service import CONSENT_CHOICES, latest_choices
from ..db import db_session
from ..forms import ConfirmForm, run_form
from . import service
from .forms import DeletionRequestForm

bp = Blueprint("privacy", __name__, url_prefix="/me")

log = logging.getLogger(__name__)


@bp.route("/choices", methods=["GET", "POST"])
def choices():
    me = current_user._get_current_object()
    session = db_session()
    if request.method == "POST":
        form = ConsentForm()
    else:
        form = ConsentForm(data=latest_choices(session, me))
    run = run_form(form, lambda: service.change_consent(
        session, me, form.choices(), str(get_locale())))
    if run.done:
        record = run.result
        if record is not None:
            outbox.log_after_commit(log, "consent.change user=%s record=%s", me.id, record.id)
        flash(_l("Saved. Your choices are changed.") if record is not None
              else _l("Nothing changed."), "info")
        return redirect(url_for("privacy.choices"))
    return render_template("privacy/choices.html", form=form, keys=CONSENT_CHOICES,
                           history=service.consent_history(session, me),
                           organisation=me.organisation), run.status


@bp.get("/data")
def my_data():
    data = service.my_data(db_session(), current_user)
    counts = [(label, len(data[key])) for key, (label, _read) in service.SECTIONS.items()]
    # Each handover with the day of its latest step, for the page.
    handovers = [(h, datetime.fromisoformat(h["withdrawn_at"] or h["accepted_at"]
                                            or h["answered_at"] or h["proposed_at"]))
                 for h in data["handovers"]]
    return render_template("privacy/data.html", counts=counts, handovers=handovers,
                           referrals=data["referrals"])


@bp.get("/data.json")
def my_data_file():
    data = service.my_data(db_session(), current_user)
    response = make_response(json.dumps(data, ensure_ascii=False, indent=1))
    response.mimetype = "application/json"
    stamp = data["exported_at"][:10]
    response.headers["Content-Disposition"] = f'attachment; filename="footing-my-data-{stamp}.json"'
    return response


@bp.route("/delete", methods=["GET", "POST"])
def delete():
    me = current_user._get_current_object()
    form = DeletionRequestForm()
    run = run_form(form, lambda: service.request_deletion(db_session(), me))
    if run.done:
        if run.result:
            outbox.log_after_commit(log, "account.deletion_requested user=%s", me.id)
        flash(_l("Your caseworker is told. They will talk with you, then delete your account."),
              "info")
        return redirect(url_for("privacy.delete"))
    return render_template("privacy/delete.html", form=form, cancel=ConfirmForm()), run.status


@bp.post("/delete/cancel")
def cancel_delete():
    run = run_form(ConfirmForm(), lambda: service.cancel_deletion(db_session(), current_user),
                   flash_error=True)
    if not run.done:
        abort(run.status)
    flash(_l("Your account stays. You took your request back."), "info")
    return redirect(url_for("privacy.delete"))
