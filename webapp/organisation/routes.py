"""The organisation's settings (coordinator). URL map:

    /organisation/     GET the settings, POST changed ones

A new organisation and its first coordinator come from the command line:
`flask --app wsgi create-organisation --help`.
"""
from __future__ import annotations

import logging

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import outbox
from ..db import db_session
from ..forms import run_form, text_of, values_of
from ..i18n import language_choices
from . import service
from .forms import SettingsForm

bp = Blueprint("organisation", __name__, url_prefix="/organisation")

log = logging.getLogger(__name__)


@bp.route("/", methods=["GET", "POST"])
def settings():
    me = current_user._get_current_object()
    session = db_session()
    if request.method == "POST":
        form = SettingsForm()
    else:
        form = SettingsForm(data=vars(service.settings_of(me.organisation)))
    run = run_form(form, lambda: service.update_settings(
        session, me, service.Settings(
            name=text_of(form.name), emergency_phone=text_of(form.emergency_phone),
            sms_phone=text_of(form.sms_phone),
            timezone=text_of(form.timezone), currency=text_of(form.currency),
            followup_months=values_of(form.followup_months), languages=form.languages.data,
            corrections_contact=text_of(form.corrections_contact))))
    if run.done:
        if run.result:
            outbox.log_after_commit(log, "organisation settings org=%s by=%s",
                                    me.organisation_id, me.id)
        flash(_l("Saved.") if run.result else _l("Nothing changed."), "info")
        return redirect(url_for("organisation.settings"))
    tags = {code: tag for code, _name, tag in language_choices()}
    return render_template("organisation/settings.html", form=form, language_tags=tags), run.status
