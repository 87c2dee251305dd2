"""Bulk intake (issue #21): a coordinator creates people from a CSV file. A
dry run first; problems per row; every row created or none."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from webapp.models import Role, User

from .conftest import Web, activate_returnee, sign_in_staff


@pytest.fixture()
def coordinator_web(app, org, make_staff):
    web = Web(app.test_client())
    coordinator = make_staff(Role.COORDINATOR)
    sign_in_staff(web, coordinator)
    return web


def send(web: Web, content: bytes, action: str = "check"):
    return web.post("/network/intake", {"action": action,
                                         "file": (io.BytesIO(content), "people.csv")},
                    form_page="/network/intake", content_type="multipart/form-data")


def returnees(session, org) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(User).where(
        User.organisation_id == org.id, User.role == Role.RETURNEE.value))


GOOD = (b"name,language,return_date,caseworker_email\n"
        b"Fatu,en,2026-03-01,{cw}\n"
        b"Kadiatu,nl,,\n")


def test_a_dry_run_creates_nothing_then_everyone_is_created(app, session, org, make_staff,
                                                            coordinator_web):
    caseworker = make_staff(Role.CASEWORKER)
    content = GOOD.replace(b"{cw}", caseworker.email.encode())
    r = send(coordinator_web, content)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "2 people are ready" in page and "Fatu" in page
    assert returnees(session, org) == 0
    r = send(coordinator_web, content, "create")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "People created" in page
    assert returnees(session, org) == 2
    fatu = session.scalars(select(User).where(User.display_name == "Fatu")).one()
    assert str(fatu.return_date) == "2026-03-01"
    # Each code works once, on the person's phone.
    code = page.split("Fatu · <strong dir=\"ltr\">")[1].split("<")[0]
    activate_returnee(Web(app.test_client()), code)
    # The same file again: everyone is there already, nothing is doubled.
    r = send(coordinator_web, content, "create")
    assert r.status_code == 400 and "already in Footing" in r.get_data(as_text=True)
    assert returnees(session, org) == 2


@pytest.mark.parametrize(("content", "message"), [
    ("name,language\nJosé,en\n".encode("latin-1"), "not UTF-8"),
    (b"name,phone\nFatu,123\n", "Unknown column: phone"),
    (b"name\nFatu\n=HYPERLINK(\"http://x\")\n", "Row 3: A cell starts with ="),
    (b"name\nFatu\nfatu\n", "Row 3: The same person as row 2"),
    (b"name,language\nFatu,xx\n", "Row 2: Unknown language: xx"),
    (b"name,return_date\nFatu,31/03/2026\n", "Row 2: The return date is not a date"),
    (b"name,caseworker_email\nFatu,nobody@example.org\n", "Row 2: No caseworker"),
    (b"name,language\nFatu\n", "Row 2: This row has 1 cells"),
    (b"language\nen\n", "The column \"name\" is missing"),
    (b"", "The file is empty"),
    (b"name\n", "no people in it"),
])
def test_bad_files_are_refused_with_the_row_and_create_nothing(session, org, coordinator_web,
                                                               content, message):
    for action in ("check", "create"):
        r = send(coordinator_web, content, action)
        page = r.get_data(as_text=True).replace("&#34;", '"').replace("&quot;", '"')
        assert r.status_code == 400, (action, page[:500])
        assert message in page, (action, message)
        assert returnees(session, org) == 0


def test_one_bad_row_and_nothing_is_half_done(session, org, coordinator_web):
    content = b"name\nFatu\nKadiatu\n@SUM(1)\nMariama\n"
    r = send(coordinator_web, content, "create")
    assert r.status_code == 400 and "Row 4" in r.get_data(as_text=True)
    assert returnees(session, org) == 0
