"""The real app plus one test-only form, for the offline queue's browser tests.

    flask --app tests.browser.offline_probe run

`/probe/note` is the smallest device submission there is: a note with a
client UUID, stored once through `webapp.submissions.claim` exactly like the
concern and support forms (issue #5), which this app also serves with the
check-in (whose row is its own claim, `webapp.submissions.insert_once`).
`/probe/count` says how many submissions of a kind a person has, so a test
can check "stored exactly once" whatever form it used. Never
imported by the app: it exists only in tests.
"""
from __future__ import annotations

import uuid

from flask import (
    Blueprint,
    abort,
    jsonify,
    redirect,
    render_template_string,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from webapp import access, create_app as create_footing_app
from webapp.checkins.models import CheckIn
from webapp.db import db_session
from webapp.errors import DomainError
from webapp.security import offline_copy
from webapp.submissions import ClientSubmission, claim

bp = Blueprint("probe", __name__, url_prefix="/probe")

PAGE = """{% extends "base.html" %}
{% block title %}Note{% endblock %}
{% block content %}
{% if received %}<h1>Received</h1><p>Note {{ received }} is stored.</p>
{% else %}
<h1>Note</h1>
{% if error %}<p class="flash flash-error" role="alert">{{ error }}</p>{% endif %}
<form method="post" action="{{ url_for('probe.note') }}" data-offline-queue="probe">
  <input type="hidden" name="csrf_token" value="{{ csrf_header() }}">
  <input type="hidden" name="client_uuid" value="{{ uuid }}">
  <label for="note">Note</label>
  <textarea id="note" name="note">{{ note }}</textarea>
  <button type="submit">Send note</button>
</form>
{% endif %}
{% endblock %}"""


@bp.get("/note")
@offline_copy  # readable offline, as the check-in form is
def note():
    return render_template_string(PAGE, uuid=uuid.uuid4(), note="", error=None, received=None)


@bp.post("/note")
def post_note():
    text = request.form.get("note", "").strip()
    if not text:
        return render_template_string(PAGE, uuid=request.form.get("client_uuid", ""), note="",
                                      error="Write a note first.", received=None), 400
    try:
        c = claim(db_session(), current_user, request.form.get("client_uuid"), "probe",
                  {"note": text})
    except DomainError as err:
        return render_template_string(PAGE, uuid="", note=text, error=str(err),
                                      received=None), err.status
    if not c.repeat:
        c.done(url_for("probe.received", submission_id=c.submission_id))
    return redirect(c.result_url, code=303)


@bp.get("/received/<int:submission_id>")
def received(submission_id: int):
    return render_template_string(PAGE, received=submission_id)


@bp.get("/count")
def count():
    kind = request.args.get("kind", "")
    user_id = request.args.get("user_id", type=int)
    if user_id is None:
        abort(400)
    if kind == "checkin":  # its own claim: the rows a form sent
        query = select(func.count()).select_from(CheckIn).where(
            CheckIn.user_id == user_id, CheckIn.client_uuid.is_not(None))
    else:
        query = select(func.count()).select_from(ClientSubmission).where(
            ClientSubmission.user_id == user_id, ClientSubmission.kind == kind)
    return jsonify(count=db_session().scalar(query))


def create_app():
    access.POLICY.update({
        "probe.note": access.signed_in(access.RETURNEE),
        "probe.post_note": access.signed_in(access.RETURNEE),
        "probe.received": access.signed_in(access.RETURNEE),
        "probe.count": access.public(),
    })
    app = create_footing_app()
    app.register_blueprint(bp)
    return app
