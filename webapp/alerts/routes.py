"""The caseworker's alert inbox. URL map:

    /alerts/                 open alerts, most severe and oldest first (htmx: the list only)
    /alerts/<id>             one alert: the cause, the ladder, push deliveries
    /alerts/<id>/ack         POST: acknowledge
    /alerts/<id>/resolve     POST: close with a note
"""
from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from htmx_flask import request  # Flask's request, typed with its .htmx

from ..db import db_session
from ..forms import ConfirmForm, int_arg, run_form
from ..push import service as push
from ..support import service as support
from . import service
from .forms import ResolveForm
from .routing import CAUSE_ENDPOINTS, DEFAULT_CAUSE, ROUTES, SEVERITY_LABELS

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.app_context_processor
def alert_badge() -> dict:
    """The count in the header of every caseworker and coordinator page, the
    warning when the worker is late with alerts, and the one when no device of
    theirs gets alerts."""
    user = g.get("_login_user")
    if user is None or not user.is_authenticated or user.role not in ("caseworker", "coordinator"):
        return {"alert_badge": None, "alerts_late": False, "needs_device": False}
    late_after = timedelta(seconds=current_app.config["WORKER_LATE_SECONDS"])
    count, late = service.header(db_session(), user, late_after)
    # Every staff page says so until they add a device (issue #18): when the
    # push service says their last one is gone, nothing reaches them.
    return {"alert_badge": count, "alerts_late": late,
            "needs_device": push.needs_device(db_session(), user)}


def cause_url(alert) -> str:
    endpoint, arg, field = CAUSE_ENDPOINTS.get(alert.source_type or "", DEFAULT_CAUSE)
    value = getattr(alert, field)
    if value is None:
        endpoint, arg, field = DEFAULT_CAUSE
        value = getattr(alert, field)
    return url_for(endpoint, **{arg: value})


def _context() -> dict:
    return {"routes": ROUTES, "severity_labels": SEVERITY_LABELS, "cause_url": cause_url}


@bp.get("/")
def inbox():
    alerts, shown = service.inbox(db_session(), current_user, int_arg("page"))
    template = "alerts/_list.html" if request.htmx else "alerts/inbox.html"
    return render_template(template, alerts=alerts, shown=shown, **_context())


@bp.get("/<int:alert_id>")
def show(alert_id: int, form: ResolveForm | None = None, status: int = 200):
    alert = g.scoped
    deliveries, attempts = push.deliveries_of_alert(db_session(), alert.id)
    return render_template("alerts/show.html", alert=alert,
                           case=support.case_of_alert(db_session(), alert.source_type,
                                                      alert.source_id, alert.organisation_id),
                           ladder=service.ladder(db_session(), alert),
                           deliveries=deliveries, attempts=attempts, ack=ConfirmForm(),
                           resolve=form or ResolveForm(), **_context()), status


def _acknowledge(alert) -> None:
    """"I am on it": the alert, and the person sees it on their report."""
    service.acknowledge(db_session(), alert, current_user)
    case = support.case_of_alert(db_session(), alert.source_type, alert.source_id,
                                 alert.organisation_id)
    if case is not None and case.status == "new":
        support.acknowledge(db_session(), case, current_user)  # the person sees it
    elif case is not None:
        support.on_it(db_session(), case)


@bp.post("/<int:alert_id>/ack")
def acknowledge(alert_id: int):
    run = run_form(ConfirmForm(), lambda: _acknowledge(g.scoped), flash_error=True)
    if run.invalid:
        flash(_l("This form has expired. Please go back, reload the page and send it again."),
              "error")
    if not run.done:
        return show(alert_id, status=run.status)
    flash(_l("Acknowledged. Others can see that you are on it."), "info")
    return redirect(url_for("alerts.show", alert_id=alert_id))


@bp.post("/<int:alert_id>/resolve")
def resolve(alert_id: int):
    form = ResolveForm()
    run = run_form(form, lambda: service.resolve(db_session(), g.scoped, current_user,
                                                 form.note.data))
    if not run.done:
        return show(alert_id, form=form, status=run.status)
    flash(_l("The alert is closed."), "info")
    return redirect(url_for("alerts.inbox"))
