"""Bad input at every POST endpoint (issue #20, DESIGN §5): a JSON body, a
file, text that is not UTF-8, NUL bytes, 100 KB strings, a field sent twice.
Never a 500; the first three are refused with 400 and store nothing; what is
stored is never a control character. The test walks the url_map with every
role that reaches each endpoint (the access matrix's world), so a new
endpoint is covered without editing it."""
from __future__ import annotations

import io
import json

import pytest
from sqlalchemy import String, Text, select, text

from webapp.db import Base
from webapp.forms import Form

from . import test_access_matrix as matrix
from .test_access_matrix import ANON, ARGUMENT, EXPECTED, FIXED, MINE, NONE, _url

world = matrix.world  # the access matrix's world of both organisations (a fixture)


def _field_names() -> set[str]:
    """The names of every field of every form of the app: the bad values go
    where the forms read."""
    names, todo = set(), list(Form.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        names |= {name for name, value in vars(cls).items() if hasattr(value, "field_class")}
    return names - {"csrf_token"}


def _body(kind: str, fields: set[str]) -> dict:
    if kind == "json":
        return {"data": json.dumps(dict.fromkeys(fields, "x")), "content_type": "application/json"}
    if kind == "file":
        return {"data": {name: (io.BytesIO(b"%PDF-1.4 x"), "x.pdf") for name in fields},
                "content_type": "multipart/form-data"}
    if kind == "not utf-8":
        return {"data": "&".join(f"{name}=%ff%fe%c3%28" for name in sorted(fields)).encode(),
                "content_type": "application/x-www-form-urlencoded"}
    if kind == "nul":
        return {"data": dict.fromkeys(fields, "a\x00b\x07c")}
    if kind == "100 KB":
        return {"data": dict.fromkeys(fields, "x" * 100_000)}
    if kind == "twice":
        return {"data": b"&".join(f"{name}=1&{name}=2".encode() for name in sorted(fields)),
                "content_type": "application/x-www-form-urlencoded"}
    raise ValueError(kind)


REFUSED = ("json", "file", "not utf-8")  # 400 and nothing stored
NEVER_500 = ("nul", "100 KB", "twice")


def _rows(connection) -> int:
    tables = [t.name for t in Base.metadata.sorted_tables]
    return connection.execute(text(" + ".join(f"(SELECT count(*) FROM {t})" for t in tables)
                                   .join(["SELECT ", ""]))).scalar()


def _control_characters_stored(connection) -> list[str]:
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, (String, Text)):
                hit = connection.execute(select(column).where(column.contains("\x07")).limit(1))
                if hit.first() is not None:
                    found.append(f"{table.name}.{column.name}")
    return found


def _post_endpoints(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint):
        if "POST" in rule.methods:
            yield rule


@pytest.mark.parametrize("kind", REFUSED + NEVER_500)
def test_bad_input_at_every_post_endpoint(app, world, kind):
    fields = _field_names()
    wrong = []
    for rule in _post_endpoints(app):
        names = ARGUMENT.findall(rule.rule)
        for role, variants in EXPECTED[rule.endpoint].items():
            if role == ANON or not variants & {MINE, NONE}:
                continue
            url = _url(rule.rule, {**FIXED, **world.values(MINE if names else NONE, role, names)})
            client = world.clients[role]
            for name, value in world.cookies[role].items():
                client.set_cookie(name, value)
            savepoint = world.connection.begin_nested()
            try:
                before = _rows(world.connection)
                status = client.post(url, **_body(kind, fields)).status_code
                if status >= 500:
                    wrong.append(f"{role} {url}: {status}")
                elif kind in REFUSED and (status != 400 or _rows(world.connection) != before):
                    wrong.append(f"{role} {url}: {status}, rows {before} → "
                                 f"{_rows(world.connection)}; should be 400, nothing stored")
                elif kind == "nul" and (stored := _control_characters_stored(world.connection)):
                    wrong.append(f"{role} {url}: control characters stored in {stored}")
            finally:
                savepoint.rollback()
    assert not wrong, f"{kind}:\n" + "\n".join(wrong)
