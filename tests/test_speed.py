"""Faster on 2G (issue #24), server side: the entry page without a redirect,
the service worker script revalidated with a 304, compressed error pages, and
a replayed report answered in one small response. The queue's requests are
counted in Chromium: tests/browser/test_offline.py."""
from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from webapp.checkins.models import CheckIn
from webapp.errors import render_error

from .conftest import Web

KB = 1024


def wire_size(r) -> int:
    """Bytes of an answer as a phone receives it: headers and (compressed) body."""
    head = len(f"HTTP/1.1 {r.status}\r\n") + sum(len(k) + len(v) + 4 for k, v in r.headers.items())
    return head + len(r.get_data())


def test_the_entry_page_is_the_sign_in_page_without_a_redirect(client):
    entry, signin = client.get("/"), client.get("/signin")
    assert entry.status_code == 200 and "Location" not in entry.headers
    assert _without_tokens(entry) == _without_tokens(signin)
    assert "Welcome to Footing" in entry.get_data(as_text=True)


def _without_tokens(r) -> str:
    """The page without its CSRF tokens (they differ by their timestamp)."""
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", r.get_data(as_text=True))


def test_signed_in_the_entry_page_still_sends_home(web, returnee_web):
    returnee_web()
    r = web.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/home")


def test_a_phone_with_a_pin_goes_from_the_entry_page_straight_to_the_pin(web, returnee_web):
    returnee_web()
    web.post("/signout", form_page="/home")
    r = web.get("/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin/pin")


def test_signed_in_pages_link_the_cached_stylesheet_and_htmx(web, returnee_web):
    returnee_web()
    page = web.get("/home").get_data(as_text=True)
    assert "<style" not in page and 'rel="stylesheet"' in page and "htmx-2.0.11" in page
    entry = web.client.application.test_client().get("/").get_data(as_text=True)
    # htmx is not on the entry page: it would race the page for the link;
    # the service worker precaches it for the pages that use it.
    assert "htmx-2.0.11" not in entry and 'rel="stylesheet"' not in entry


@pytest.mark.parametrize("encoding", ["br", "gzip", ""])
def test_the_service_worker_script_is_revalidated_with_a_304(client, encoding):
    headers = {"Accept-Encoding": encoding} if encoding else {}
    first = client.get("/sw.js", headers=headers)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-cache"
    assert first.headers.get("Content-Encoding", "") == encoding
    again = client.get("/sw.js", headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert wire_size(again) < 1 * KB
    # A changed script (another etag) is sent in full: the same script (gzip's
    # header holds the second it was compressed, so compare what it unpacks to).
    other = client.get("/sw.js", headers={**headers, "If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.headers["ETag"] == etag
    assert _unpacked(other) == _unpacked(first)


def _unpacked(r) -> bytes:
    import gzip

    import brotli

    encoding = r.headers.get("Content-Encoding", "")
    data = r.get_data()
    return gzip.decompress(data) if encoding == "gzip" else (
        brotli.decompress(data) if encoding == "br" else data)


def test_error_pages_are_compressed_and_small(app, web, returnee_web):
    br = {"Accept-Encoding": "br"}
    returnee_web()
    answers = {}
    r = web.post("/checkin/", {"mood": "9", "client_uuid": str(uuid.uuid4())}, headers=br)
    answers[400] = r
    answers[404] = web.get("/nowhere", headers=br)
    for status in (429, 500):
        with app.test_request_context("/home", headers=br):
            body, code = render_error(status)
            answers[status] = app.process_response(app.make_response((body, code)))
    for status, r in answers.items():
        assert r.status_code == status
        assert r.headers.get("Content-Encoding") == "br", status
        assert wire_size(r) <= 5 * KB, (status, wire_size(r))
    assert "Please choose" in _brotli_text(answers[400]) or "mood" in _brotli_text(answers[400])


def _brotli_text(r) -> str:
    import brotli

    return brotli.decompress(r.get_data()).decode()


def test_a_replayed_check_in_is_stored_with_one_small_answer(web, session, returnee_web):
    me = returnee_web()
    token = web.token("/checkin/")
    body = {"mood": "4", "visibility": "caseworker", "client_uuid": str(uuid.uuid4()),
            "csrf_token": token}
    replay = {"X-Footing-Replay": "1", "Accept-Encoding": "br"}
    r = web.client.post("/checkin/", data=body, headers=replay)
    assert r.status_code == 204 and r.headers["X-Footing-Stored"].endswith("/checkin/history")
    assert "Location" not in r.headers and r.get_data() == b""
    assert wire_size(r) <= 2 * KB
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(CheckIn)
                          .where(CheckIn.user_id == me.id)) == 1
    # Sent again (the answer was lost): stored once, answered the same way.
    again = web.client.post("/checkin/", data=body, headers=replay)
    assert again.status_code == 204
    assert session.scalar(select(func.count()).select_from(CheckIn)
                          .where(CheckIn.user_id == me.id)) == 1
    # Nobody saw the thank-you page; it does not greet them on the next page.
    assert "Thank you. Your check-in is sent." not in web.get("/home").get_data(as_text=True)
    # A post from the page itself still goes on to the history, thanked.
    r = web.post("/checkin/", {"mood": "3", "visibility": "caseworker",
                               "client_uuid": str(uuid.uuid4())})
    assert r.status_code == 302
    assert "Thank you" in web.get("/checkin/history").get_data(as_text=True)


def test_a_replay_with_a_mistake_or_without_a_session_is_not_stored(client, web, returnee_web):
    returnee_web()
    token = web.token("/checkin/")
    replay = {"X-Footing-Replay": "1"}
    bad = web.client.post("/checkin/", data={"mood": "9", "client_uuid": str(uuid.uuid4()),
                                             "csrf_token": token}, headers=replay)
    assert bad.status_code == 400
    # A token of a session that ended: refused, and said so for the queue.
    web.post("/signout", form_page="/home")
    stale = web.client.post("/checkin/", data={"mood": "3", "client_uuid": str(uuid.uuid4()),
                                               "csrf_token": token}, headers=replay)
    assert stale.status_code == 400 and stale.headers["X-CSRF-Refused"] == "1"
    nobody = Web(client.application.test_client())
    r = nobody.client.post("/checkin/", data={"mood": "3"}, headers=replay)
    assert r.status_code in (400, 401) and "X-Footing-Stored" not in r.headers
