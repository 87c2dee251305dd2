"""Traces on a shared phone and the access ledger (issue #19).

Every page is crawled as every role, on every object the role reaches (the
access matrix's world), after the "mine" returnee's own words were replaced
by markers. Then:

- no <title> (browser history, the tab switcher), no redirect address and no
  download file name carries a person's name, a group's name or a marker;
- every staff page that shows a returnee's own words or data is a view the
  policy writes to the access ledger, and every such view (derived from
  `webapp.access.POLICY`) writes an entry for that returnee when a member of
  staff opens it.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from webapp.access import POLICY
from webapp.checkins import service as checkins
from webapp.groups.models import GroupPost, Meeting, PeerGroup
from webapp.models import User
from webapp.plan.models import Goal, Step
from webapp.privacy import service as privacy
from webapp.privacy.models import AccessLedgerEntry
from webapp.support import service as support
from webapp.support.models import Case

from . import test_access_matrix as matrix
from .test_access_matrix import ARGUMENT, EXPECTED, FIXED, STAFF, _url, _variants

world = matrix.world  # the access matrix's world of both organisations (a fixture)

MARK = "Qzxv"  # no page's own words contain it
TITLE = re.compile(r"<title>(.*?)</title>", re.S)


def _markers(session: Session, mine: dict[str, int]) -> dict[str, str]:
    """Put a marker into each of the "mine" returnee's own words: {marker: where}."""
    person = session.get(User, mine["user_id"])
    marks = {f"{MARK}goal": "goal title", f"{MARK}why": "why it matters",
             f"{MARK}step": "step", f"{MARK}post": "group post", f"{MARK}group": "group name",
             f"{MARK}topic": "meeting topic", f"{MARK}case": "request text",
             f"{MARK}message": "message", f"{MARK}checkin": "check-in note",
             f"{MARK}concern": "concern note"}
    session.execute(update(Goal).where(Goal.id == mine["goal_id"])
                    .values(title=f"{MARK}goal", starter_key=None, why=f"{MARK}why"))
    session.execute(update(Step).where(Step.id == mine["step_id"]).values(text=f"{MARK}step"))
    session.execute(update(GroupPost).where(GroupPost.id == mine["post_id"])
                    .values(body=f"{MARK}post"))
    session.execute(update(PeerGroup).where(PeerGroup.id == mine["group_id"])
                    .values(name=f"{MARK}group"))
    session.execute(update(Meeting).where(Meeting.id == mine["meeting_id"])
                    .values(topic_text=f"{MARK}topic", topic_key=None))
    session.execute(update(Case).where(Case.id == mine["case_id"]).values(text=f"{MARK}case"))
    support.add_message(session, session.get(Case, mine["case_id"]), person, f"{MARK}message")
    choices = dict(privacy.consent_history(session, person)[0].choices, share_with_group=True)
    privacy.change_consent(session, person, choices, "en")
    checkins.record_checkin(session, person, mood=3, answers={}, note=f"{MARK}checkin",
                            share_with_group=True)
    support.create_concern(session, person, kind="health", sub_type="other", urgency="later",
                           note=f"{MARK}concern")
    session.flush()
    return marks


@pytest.fixture(scope="module")
def crawl(app, world):
    """Every GET page, every role, every object it reaches, with markers in the
    world: [(role, endpoint, url, status, headers, body)] and the names and
    markers no title may hold."""
    savepoint = world.connection.begin_nested()
    session = Session(bind=world.connection, join_transaction_mode="create_savepoint")
    try:
        with app.app_context():
            marks = _markers(session, world.home.mine)
            session.commit()
        names = set(session.scalars(select(User.display_name)))
        names |= set(session.scalars(select(PeerGroup.name)))
        pages = []
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" not in rule.methods or rule.endpoint == "static":
                continue
            objects = [n for n in ARGUMENT.findall(rule.rule) if n not in FIXED]
            for role, variants in EXPECTED[rule.endpoint].items():
                for variant in sorted(set(_variants(objects)) & variants):
                    url = _url(rule.rule, {**FIXED, **world.values(variant, role, objects)})
                    pages.append((role, rule.endpoint, url, *_get(world, role, url)))
        yield pages, names, marks
    finally:
        session.close()
        savepoint.rollback()


def _get(world, role: str, url: str) -> tuple[int, dict, str, int]:
    """One GET as `role`, rolled back after: status, headers, body and the
    number of ledger entries it wrote."""
    client = world.clients[role]
    for name, value in world.cookies[role].items():
        client.set_cookie(name, value)
    savepoint = world.connection.begin_nested()
    try:
        count = select(func.count()).select_from(AccessLedgerEntry)
        before = world.connection.execute(count).scalar()
        with client.get(url) as r:
            body = r.get_data(as_text=True) if r.mimetype == "text/html" else ""
            written = world.connection.execute(count).scalar() - before
            return r.status_code, dict(r.headers), body, written
    finally:
        savepoint.rollback()


def test_the_crawl_reached_the_pages_with_the_persons_words(crawl):
    """The crawl is worth something only if the markers reached pages."""
    pages, _, marks = crawl
    shown = {m for *_, body, _ in pages for m in marks if m in body}
    assert shown >= {f"{MARK}goal", f"{MARK}post", f"{MARK}group", f"{MARK}message",
                     f"{MARK}checkin"}, shown


def test_no_title_address_or_file_name_carries_a_name_or_the_persons_words(crawl):
    pages, names, marks = crawl
    wrong = []
    for role, endpoint, url, status, headers, body, _ in pages:
        title = TITLE.search(body)
        traces = {
            "title": html.unescape(title.group(1)) if title else "",
            "redirect": headers.get("Location", ""),
            "file name": headers.get("Content-Disposition", ""),
        }
        for where, text in traces.items():
            found = [n for n in names if n and n in text] + [m for m in marks if m in text]
            if found:
                wrong.append(f"{role} {url} ({endpoint}): {where} {text!r} holds {found}")
        if status == 200 and body and not title:
            wrong.append(f"{role} {url} ({endpoint}): a page without a <title>")
    assert not wrong, "\n".join(wrong)


def _ledger_views() -> dict[str, str]:
    """The views the policy writes to the ledger: {endpoint: what}."""
    return {endpoint: rule.ledger for endpoint, rule in POLICY.items() if rule.ledger}


# Written by staff (a group's name, a meeting's topic), not the returnee's own words.
STAFF_WORDS = {f"{MARK}group", f"{MARK}topic"}


def test_every_staff_page_with_a_returnees_words_is_a_ledger_view(crawl):
    pages, _, marks = crawl
    marks = {m: where for m, where in marks.items() if m not in STAFF_WORDS}
    views = _ledger_views()
    wrong = sorted({f"{endpoint} ({role}) shows {[m for m in marks if m in body]}"
                    for role, endpoint, _address, status, _headers, body, _ in pages
                    if role in STAFF and status == 200 and endpoint not in views
                    and any(m in body for m in marks)})
    assert not wrong, "staff views of a returnee's words that write no ledger entry:\n" + \
        "\n".join(wrong)


def test_every_ledger_view_writes_an_entry_for_each_staff_role_that_opens_it(crawl):
    pages, _, _ = crawl
    views = _ledger_views()
    assert {"plan.edit_goal", "groups.overview"} <= set(views)
    opened = {}
    for role, endpoint, url, status, _headers, _body, written in pages:
        if endpoint in views and role in STAFF and status == 200:
            opened[(endpoint, role, url)] = written
    assert {e for e, _, _ in opened} == set(views), "a ledger view no staff member opened"
    assert all(opened.values()), [k for k, n in opened.items() if not n]
    # The returnee's own views of her records write nothing.
    own = [(endpoint, url) for role, endpoint, url, _status, _headers, _body, written in pages
           if role not in STAFF and written]
    assert not own, own


@contextmanager
def _as(world, role: str) -> Iterator:
    client = world.clients[role]
    for name, value in world.cookies[role].items():
        client.set_cookie(name, value)
    yield client


def test_the_ledger_names_the_returnee_whose_words_the_staff_page_showed(app, world):
    """The goal edit page and the group overview (the two the issue found):
    the entry is for the returnee, by the staff member who looked."""
    home = world.home
    for role, url, what in (
            ("caseworker", f"/plan/goals/{home.mine['goal_id']}/edit", "plan"),
            ("facilitator", f"/groups/{home.mine['group_id']}/overview", "group")):
        savepoint = world.connection.begin_nested()
        try:
            with _as(world, role) as client:
                assert client.get(url).status_code == 200, url
            entries = world.connection.execute(
                select(AccessLedgerEntry.viewer_id, AccessLedgerEntry.subject_id,
                       AccessLedgerEntry.what)).all()
            assert (home.people[role].id, home.mine["user_id"], what) in entries, (url, entries)
            assert all(e.subject_id != home.people[role].id for e in entries)
        finally:
            savepoint.rollback()
