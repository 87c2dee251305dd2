"""The app as production runs it, plus endpoints that exist only in the
benchmark (same server, same middleware: WhiteNoise, compression, security
headers, the access check):

- `GET /bench/hello`: the ceiling the other endpoints are compared with;
- `POST /bench/form`: reads a form and redirects, no database: what any form
  post costs before it does anything;
- `POST /bench/write`: the same, plus one row inserted and committed, with no
  sign-in and no CSRF check: the least a stored submission can cost on this
  database;
- `POST /bench/signed-write`: the same, for a signed-in returnee (the check-in's
  access rule: the session lookup every signed-in request makes), with the
  check-in's thank-you message put in the session cookie;
- `POST /bench/form-write`: the same, plus the CSRF check and the check-in's
  own form, validated: everything the check-in does except its own row (also
  its exactly-once claim; the summary is a trigger), signals and log line.

Each step adds one thing the check-in does, so the rows show what each costs.

    gunicorn --workers 2 bench.throughput_app:app
"""
from __future__ import annotations

from flask import flash, redirect, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, Integer, MetaData, String, Table

from webapp import access, create_app
from webapp.checkins.forms import CheckInForm
from webapp.db import db_session
from webapp.extensions import csrf

for endpoint in ("bench_hello", "bench_form", "bench_write"):
    access.POLICY[endpoint] = access.public()
for endpoint in ("bench_signed_write", "bench_form_write"):
    access.POLICY[endpoint] = access.POLICY["checkins.new"]
app = create_app()

# Its own metadata: not part of the app's schema or its migrations.
ROWS = Table("bench_rows", MetaData(), Column("id", Integer, primary_key=True),
             Column("body", String(500)))


def create_rows_table() -> None:
    """Run once before the server starts (workers would race to create it)."""
    with app.app_context():
        ROWS.create(db_session().get_bind(), checkfirst=True)


@app.get("/bench/hello", endpoint="bench_hello")
def hello():
    return "hello"


@app.post("/bench/form", endpoint="bench_form")
@csrf.exempt
def form():
    return redirect("/bench/hello", 303) if request.form else ("no form", 400)


@app.post("/bench/write", endpoint="bench_write")
@csrf.exempt
def write():
    _insert_row()
    return redirect("/bench/hello", 303)


@app.post("/bench/signed-write", endpoint="bench_signed_write")
@csrf.exempt
def signed_write():
    _insert_row()
    return _thank_you()


@app.post("/bench/form-write", endpoint="bench_form_write")
def form_write():
    if not CheckInForm().validate_on_submit():
        return "invalid form", 400
    _insert_row()
    return _thank_you()


def _insert_row() -> None:
    db_session().execute(ROWS.insert(), {"body": request.form.get("client_uuid", "")})


def _thank_you():
    # The check-in's own message (already in the catalogs), so the session
    # cookie carries what it carries after a check-in.
    flash(_l("Thank you. Your check-in is sent."), "info")
    return redirect("/bench/hello", 303)
