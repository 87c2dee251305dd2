"""The server side of offline-first (issue #8): the CSRF token a queued report
fetches before it is sent, compressed pages, hashed and precompressed static
files. The queue itself runs in Chromium: tests/browser/test_offline.py."""
from __future__ import annotations

import json
import re

from webapp import assets

from .conftest import PIN, vary_names


def _queue_status(page: str) -> dict[str, str]:
    tag = re.search(r'<p id="queue-status"[^>]*>', page, re.S).group(0)
    return dict(re.findall(r'data-([a-z]+)="([^"]*)"', tag))


def test_a_report_made_before_a_new_sign_in_is_sent_with_the_token_from_csrf(web, returnee_web):
    """The token in the page a report was made on dies with its session; the
    replay asks /csrf for the new session's token, and that one is accepted."""
    returnee_web()
    old_token = web.token("/language")
    web.post("/signout", form_page="/home")
    assert web.post("/signin/pin", {"pin": PIN}).status_code == 302
    r = web.client.post("/language", data={"lang": "nl", "csrf_token": old_token})
    assert r.status_code == 400 and "This form has expired" in r.get_data(as_text=True)

    r = web.get("/csrf")
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    token = r.get_json()["token"]
    r = web.client.post("/language", data={"lang": "nl"}, headers={"X-CSRFToken": token})
    assert r.status_code == 302


def test_csrf_needs_a_session(web):
    r = web.get("/csrf")
    assert r.status_code == 302 and r.headers["Location"].endswith("/signin")
    assert web.get("/csrf", headers={"HX-Request": "true"}).status_code == 401


def test_queued_reports_are_tied_to_their_person(client, make_returnee):
    """The owner tag in the page and in /csrf is the same for one person,
    different for the next on the same phone, and is not the account id."""
    from .conftest import Web, activate_returnee

    owners = []
    for _ in range(2):
        web = Web(client)
        user, code = make_returnee()
        activate_returnee(web, code)
        status = _queue_status(web.get("/home").get_data(as_text=True))
        owner = web.get("/csrf").get_json()["owner"]
        assert status["owner"] == owner and len(owner) == 24 and str(user.id) != owner
        owners.append(owner)
        web.post("/signout", form_page="/home")
        client.delete_cookie("footing_device")
    assert owners[0] != owners[1]


def test_the_queue_words_come_from_the_server_in_the_persons_language(web, returnee_web):
    returnee_web()
    status = _queue_status(web.get("/home").get_data(as_text=True))
    assert "{n}" in status["waiting"] and "{n}" in status["signin"]
    assert status["sent"] and status["refused"]
    signed_out = web.__class__(web.client.application.test_client())
    page = signed_out.get("/language").get_data(as_text=True)
    assert 'id="queue-status"' not in page  # nothing to send without a person
    assert 'id="offline-note"' in page


def test_pages_are_compressed_and_vary_on_what_they_depend_on(client):
    for encoding in ("br", "gzip"):
        r = client.get("/signin/staff", headers={"Accept-Encoding": encoding})
        assert r.headers["Content-Encoding"] == encoding
        assert {"Accept-Encoding", "Cookie", "HX-Request"} <= vary_names(r)
        assert r.headers["Cache-Control"] == "no-store"
    plain = client.get("/signin/staff")
    assert "Content-Encoding" not in plain.headers
    assert len(r.get_data()) < len(plain.get_data()) / 2


def _get(client, url, **kw):
    r = client.get(url, **kw)
    body = r.get_data()
    r.close()
    return r, body


def test_static_files_have_hashed_names_a_year_of_cache_and_precompressed_copies(client, app):
    page = client.get("/language").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert urls and all(re.search(r"\.[0-9a-f]{12}\.\w+$", u) for u in urls), urls
    css = next(u for u in urls if u.endswith(".css"))
    r, body = _get(client, css, headers={"Accept-Encoding": "br"})
    assert r.headers["Cache-Control"] == "max-age=31536000, public, immutable"
    assert r.headers["Content-Encoding"] == "br" and "Accept-Encoding" in vary_names(r)
    import brotli

    assert brotli.decompress(body) == (assets.SOURCE / "css/app.css").read_bytes()
    r, _ = _get(client, "/static/css/app.css")  # the plain name: for old clients, short-lived
    assert r.status_code == 200 and r.headers["Cache-Control"] == "max-age=300, public"


def test_the_service_worker_precaches_the_hashed_shell(client, app):
    body = client.get("/sw.js").get_data(as_text=True)
    shell = json.loads(re.search(r"const SHELL\s*=\s*(\[.*?\]);", body).group(1))
    manifest = app.extensions["footing_assets"]
    for name in ("css/app.css", "js/app.js", "js/queue.js", "js/vault.js"):
        assert f"/static/{manifest[name]}" in shell
    assert f'importScripts("/static/{manifest["js/queue.js"]}")' in body
    assert f'importScripts("/static/{manifest["js/vault.js"]}")' in body
    assert app.config["ASSET_VERSION"] in body


def test_the_build_is_made_once_per_version(tmp_path):
    source = tmp_path / "static"
    (source / "js").mkdir(parents=True)
    (source / "js" / "a.js").write_text("let a = 1;" * 100)
    (source / "i.png").write_bytes(b"\x89PNG")
    version = assets.asset_version(source)
    folder, manifest = assets.build(tmp_path / "build", version, source)
    hashed = manifest["js/a.js"]
    assert re.fullmatch(r"js/a\.[0-9a-f]{12}\.js", hashed)
    assert (folder / hashed).is_file() and (folder / f"{hashed}.br").is_file()
    assert (folder / "js/a.js.gz").is_file() and not (folder / "i.png.br").exists()
    again_folder, again = assets.build(tmp_path / "build", version, source)
    assert again == manifest and again_folder == folder
    (source / "js" / "a.js").write_text("changed")
    assert assets.asset_version(source) != version
