"""Notifications on this device. URL map:

    /notifications/               the person's devices; turn on for this one
    /notifications/subscribe      POST (from the page's script): register this browser
    /notifications/<id>/remove    POST: stop notifications on that device
"""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from ..db import db_session
from ..errors import DomainError
from ..forms import ConfirmForm
from . import service
from .models import PushSubscription

bp = Blueprint("push", __name__, url_prefix="/notifications")


def _devices():
    return db_session().scalars(select(PushSubscription).where(
        PushSubscription.user_id == current_user.id).order_by(PushSubscription.id)).all()


@bp.get("/")
def devices():
    return render_template("push/devices.html", devices=_devices(), form=ConfirmForm(),
                           public_key=service.vapid_public_key())


@bp.post("/subscribe")
def subscribe():
    """The browser's PushSubscription as JSON (CSRF token in the header)."""
    data = request.get_json(silent=True) or {}
    keys = data.get("keys") if isinstance(data.get("keys"), dict) else {}
    try:
        sub = service.subscribe(db_session(), current_user, endpoint=data.get("endpoint"),
                                p256dh=keys.get("p256dh"), auth=keys.get("auth"),
                                label=(request.user_agent.platform or "")[:100])
    except DomainError as err:
        return jsonify(ok=False, error=str(err.message)), 400
    return jsonify(ok=True, id=sub.id), 201


@bp.post("/<int:subscription_id>/remove")
def remove(subscription_id: int):
    if not ConfirmForm().validate_on_submit():
        return render_template("push/devices.html", devices=_devices(), form=ConfirmForm(),
                               public_key=service.vapid_public_key()), 400
    try:
        service.unsubscribe(db_session(), current_user, subscription_id)
    except DomainError:
        return render_template("error.html", status=404, title=_l("Page not found"),
                               text=_l("This page does not exist or you cannot see it.")), 404
    flash(_l("Notifications are off on that device."), "info")
    return redirect(url_for("push.devices"))
