"""Notifications on this device. URL map:

    /notifications/               the person's devices; turn on for this one
    /notifications/subscribe      POST (from the page's script): register this browser
    /notifications/<id>/remove    POST: stop notifications on that device (one of the person's own)
"""
from __future__ import annotations

from flask import Blueprint, flash, g, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..bodies import takes
from ..db import db_session
from ..forms import ConfirmForm, run_form, text_of
from . import service
from .forms import SubscriptionForm

bp = Blueprint("push", __name__, url_prefix="/notifications")


def _devices():
    return service.devices_of(db_session(), current_user)


@bp.get("/")
def devices():
    return render_template("push/devices.html", devices=_devices(), form=ConfirmForm(),
                           public_key=service.vapid_public_key())


@bp.post("/subscribe")
@takes("application/json")
def subscribe():
    """The browser's PushSubscription as JSON (CSRF token in the header)."""
    form = SubscriptionForm.from_json(request.get_json(silent=True))
    run = run_form(form, lambda: service.subscribe(
        db_session(), current_user, endpoint=text_of(form.endpoint), p256dh=text_of(form.p256dh),
        auth=text_of(form.auth), label=(request.user_agent.platform or "")[:100]))
    if run.done:
        return jsonify(ok=True, id=run.result.id), 201
    return jsonify(ok=False, error=str(run.message or "")), run.status


@bp.post("/<int:subscription_id>/remove")
def remove(subscription_id: int):
    if not ConfirmForm().validate_on_submit():
        return render_template("push/devices.html", devices=_devices(), form=ConfirmForm(),
                               public_key=service.vapid_public_key()), 400
    service.unsubscribe(db_session(), g.scoped)  # the person's own (access: "subscription")
    flash(_l("Notifications are off on that device."), "info")
    return redirect(url_for("push.devices"))
