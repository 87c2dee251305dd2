"""The app as production runs it, plus endpoints that exist only in the
benchmark (same server, same middleware: WhiteNoise, compression, security
headers, the access check):

- `GET /bench/hello`: the ceiling the other endpoints are compared with;
- `POST /bench/form`: reads a form and redirects, no database: what any form
  post costs before it does anything;
- `POST /bench/write`: the same, plus one row inserted and committed, with no
  sign-in and no CSRF check: the least a stored submission can cost on this
  database.

    gunicorn --workers 2 bench.throughput_app:app
"""
from __future__ import annotations

from flask import redirect, request
from sqlalchemy import Column, Integer, MetaData, String, Table

from webapp import access, create_app
from webapp.db import db_session
from webapp.extensions import csrf

for endpoint in ("bench_hello", "bench_form", "bench_write"):
    access.POLICY[endpoint] = access.public()
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
    db_session().execute(ROWS.insert(), {"body": request.form.get("client_uuid", "")})
    return redirect("/bench/hello", 303)
