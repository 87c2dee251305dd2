"""Recorded voice (issue #23): the partner records the key phrases per
language; a speaker button beside the text plays the recording, or the
phone's own voice reads it, or there is nothing. Sounds are checked by their
own bytes; a refused one stores nothing."""
from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.models import Role
from webapp.voice import service
from webapp.voice.models import Recording
from webapp.voice.phrases import PHRASES

from .conftest import STAFF_PASSWORD, Web, activate_returnee, sign_in_staff

CLIPS = Path(__file__).resolve().parent.parent / "webapp" / "voice" / "demo_clips"
OGG = (CLIPS / "en" / "help_now.ogg").read_bytes()  # espeak-ng, Opus in Ogg
OTHER_OGG = (CLIPS / "en" / "checkin.mood.ogg").read_bytes()
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08" \
       b"\x42\x82\x84webm" + bytes(200)
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A isom" + bytes(200)
WAV = b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(300)
AUDIO_SRC = re.compile(r'<audio preload="none" src="(/voice/clips/\d+/[0-9a-f]{64}\.\w+)"')


def recordings(session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Recording))


def upload(web: Web, raw: bytes, *, lang="en", phrase="help_now", filename="phrase.ogg",
           mimetype="audio/ogg", expect=302):
    r = web.post(f"/voice/{lang}/{phrase}",
                 {"audio": (io.BytesIO(raw), filename, mimetype)},
                 form_page=f"/voice/?lang={lang}", content_type="multipart/form-data")
    assert r.status_code == expect, (r.status_code, r.get_data(as_text=True)[:800])
    return r


def page_text(r) -> str:
    return r.get_data(as_text=True)


@pytest.fixture()
def coordinator(web, staff_web):
    return staff_web(Role.COORDINATOR)


def returnee_client(app, make_returnee, org, locale="en") -> Web:
    other = Web(app.test_client())
    _user, code = make_returnee(organisation=org, locale=locale)
    activate_returnee(other, code)
    return other


@pytest.mark.parametrize("raw,kind", [(OGG, "ogg"), (WEBM, "webm"), (M4A, "m4a"),
                                      (WAV, None), (b"", None), (b"OggS" + bytes(60), None),
                                      (b"<html>" + bytes(100), None)])
def test_a_sound_is_known_by_its_bytes(raw, kind):
    assert service.sniff(raw) == kind


def test_a_recording_is_stored_listed_and_counted(web, session, coordinator):
    page = page_text(web.get("/voice/?lang=en"))
    total = len(PHRASES)
    assert f"0 of {total}" in page and "Not recorded yet" in page
    assert 'type="file"' in page and 'accept="audio/*"' in page  # the way without JavaScript
    upload(web, OGG)
    upload(web, WEBM, phrase="checkin.mood", filename="x.webm", mimetype="audio/webm")
    row = session.scalars(select(Recording).where(Recording.phrase == "help_now")).one()
    assert (row.organisation_id, row.language, row.kind, row.size) == (
        coordinator.organisation_id, "en", "ogg", len(OGG))
    assert row.digest == hashlib.sha256(OGG).hexdigest()
    page = page_text(web.get("/voice/?lang=en"))
    # Coverage per language: English 2 of N, the others none yet.
    assert f"2 of {total}" in page and f"0 of {total}" in page
    assert "Recorded" in page and f"/voice/clips/{row.id}/{row.digest}.ogg" in page


@pytest.mark.parametrize("raw,filename,mimetype,why", [
    (WAV, "phrase.ogg", "audio/ogg", "not a sound we can play"),  # lies about its type
    (b"not a sound at all", "phrase.webm", "audio/webm", "not a sound we can play"),
    (b"OggS" + bytes(24) + b"OpusHead" + bytes(service.MAX_BYTES), "big.ogg", "audio/ogg",
     "too long"),
    (b"", "empty.ogg", "audio/ogg", "Please record the sentence"),
])
def test_a_bad_upload_is_refused_with_a_reason_and_nothing_is_stored(
        web, session, coordinator, raw, filename, mimetype, why):
    r = upload(web, raw, filename=filename, mimetype=mimetype, expect=400)
    errors = re.search(r'<ul class="errors" id="audio-help_now-error">(.*?)</ul>', page_text(r),
                       re.S)
    assert errors and why in errors.group(1)
    assert recordings(session) == 0


def test_json_or_a_form_without_a_file_stores_nothing(web, session, coordinator):
    token = web.token("/voice/")
    r = web.client.post("/voice/en/help_now", json={"audio": OGG.hex()},
                        headers={"X-CSRFToken": token})
    assert r.status_code == 400
    r = web.post("/voice/en/help_now", {"audio": "T2dnUw=="}, form_page="/voice/")
    assert r.status_code == 400
    assert recordings(session) == 0


def test_the_refusal_is_in_the_persons_language(web, session, make_staff, org):
    user = make_staff(Role.COORDINATOR)
    user.locale = "fr"
    session.merge(user)
    session.commit()
    sign_in_staff(web, user)
    r = upload(web, WAV, expect=400)
    assert "Ce n’est pas un son qu’un téléphone peut jouer" in page_text(r)
    assert recordings(session) == 0


def test_unknown_phrases_and_languages_are_not_found(web, session, coordinator):
    upload(web, OGG, phrase="no.such.phrase", expect=404)
    upload(web, OGG, lang="xx", expect=404)
    assert recordings(session) == 0


@pytest.mark.parametrize("role", [Role.RETURNEE, Role.FACILITATOR])
def test_returnees_and_facilitators_cannot_record(app, web, session, org, make_staff,
                                                   make_returnee, role):
    if role == Role.RETURNEE:
        returnee = returnee_client(app, make_returnee, org)
        token = returnee.token("/home")
        r = returnee.client.post("/voice/en/help_now", data={
            "csrf_token": token, "audio": (io.BytesIO(OGG), "x.ogg", "audio/ogg")},
            content_type="multipart/form-data")
        assert r.status_code == 404
        assert returnee.get("/voice/").status_code == 404
    else:
        sign_in_staff(web, make_staff(role))
        assert web.get("/voice/").status_code == 404
    assert recordings(session) == 0


def test_the_clip_reaches_its_organisation_only_and_is_kept_a_year(
        app, web, session, org, make_org, make_staff, coordinator, make_returnee):
    upload(web, OGG)
    url = AUDIO_SRC.search(page_text(returnee_client(app, make_returnee, org).get("/home")))
    assert url, "the returnee's home page links the recording"
    r = web.get(url.group(1))
    assert r.status_code == 200 and r.data == OGG and r.mimetype == "audio/ogg"
    assert r.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    # A part of it, as a phone's player asks.
    part = web.get(url.group(1), headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.data == OGG[:10]
    # Another organisation's people: as if it did not exist.
    elsewhere = Web(app.test_client())
    sign_in_staff(elsewhere, make_staff(Role.COORDINATOR, organisation=make_org()))
    assert elsewhere.get(url.group(1)).status_code == 404
    # Nobody signed in: sent to sign in, no sound.
    anonymous = app.test_client().get(url.group(1))
    assert anonymous.status_code == 302 and anonymous.data != OGG


def test_the_speaker_plays_a_recording_only_in_its_own_language(
        app, web, session, org, coordinator, make_returnee):
    english = returnee_client(app, make_returnee, org)
    dari = returnee_client(app, make_returnee, org, locale="fa_AF")
    before = page_text(english.get("/home"))
    # No recording: the button is there for the phone's own voice (app.js
    # shows it only with one), and no sound is linked.
    assert 'class="say-button"' in before and "<audio" not in before
    upload(web, OGG)
    home = page_text(english.get("/home"))
    assert len(AUDIO_SRC.findall(home)) == 1  # "I need help now"; nothing else recorded
    assert re.search(r'<p class="help-now">.*?<span class="say">.*?<audio preload="none"',
                     home, re.S)
    # Dari has no recording of it: the phone's voice, or nothing.
    assert "<audio" not in page_text(dari.get("/home"))
    upload(web, OTHER_OGG, lang="fa_AF")
    assert len(AUDIO_SRC.findall(page_text(dari.get("/home")))) == 1
    # The check-in's question, the report's kinds, the help page: each its own.
    upload(web, OTHER_OGG, phrase="checkin.mood")
    upload(web, OTHER_OGG, phrase="report.safety")
    upload(web, OTHER_OGG, phrase="now.question")
    assert re.search(r"<legend>.*?How do you feel\?.*?<audio preload",
                     page_text(english.get("/checkin/")), re.S)
    assert re.search(r"Safety<span class=\"say\">.*?<audio preload",
                     page_text(english.get("/help/report")), re.S)
    assert len(AUDIO_SRC.findall(page_text(english.get("/help/now")))) == 1


def test_a_new_recording_replaces_the_old_whose_url_stops_working(
        app, web, session, org, coordinator, make_returnee):
    upload(web, OGG)
    returnee = returnee_client(app, make_returnee, org)
    (old,) = AUDIO_SRC.findall(page_text(returnee.get("/home")))
    assert "Replace" in page_text(web.get("/voice/?lang=en"))
    upload(web, OTHER_OGG)
    (new,) = AUDIO_SRC.findall(page_text(returnee.get("/home")))
    assert new != old
    assert returnee.get(new).data == OTHER_OGG
    assert returnee.get(old).status_code == 404
    assert recordings(session) == 1


def test_removing_falls_back_to_the_phones_voice(app, web, session, org, coordinator,
                                                 make_returnee):
    upload(web, OGG)
    returnee = returnee_client(app, make_returnee, org)
    (url,) = AUDIO_SRC.findall(page_text(returnee.get("/home")))
    r = web.post("/voice/en/help_now/remove", {}, form_page="/voice/?lang=en")
    assert r.status_code == 302
    assert recordings(session) == 0
    home = page_text(returnee.get("/home"))
    assert "<audio" not in home and 'class="say-button"' in home
    assert returnee.get(url).status_code == 404
    assert "0 of" in page_text(web.get("/voice/?lang=en"))


def test_a_page_reads_its_recordings_in_one_query(app, web, session, org, coordinator,
                                                  make_returnee, count_queries):
    returnee = returnee_client(app, make_returnee, org)
    returnee.get("/help/report")
    with count_queries() as none_recorded:
        returnee.get("/help/report")
    for phrase in ("report.title", "report.health", "report.medicine", "report.safety"):
        upload(web, OGG, phrase=phrase)
    with count_queries() as four_recorded:
        page = page_text(returnee.get("/help/report"))
    assert len(AUDIO_SRC.findall(page)) == 4
    assert four_recorded() == none_recorded()


def test_every_phrase_is_beside_its_text_and_translated():
    """A key of the list is placed in a template, and its text is a message of
    the catalogs: what the partner records is what the page says."""
    root = Path(__file__).resolve().parent.parent / "webapp"
    templates = "\n".join(p.read_text(encoding="utf-8")
                          for p in (root / "templates").rglob("*.html"))
    placed = set(re.findall(r"voice\('([\w.]+)'\)", templates))
    placed |= {f"checkin.{q}" for q in ("income", "shelter", "medicine", "safe", "someone")
               if "say='checkin.' ~ q.name" in templates}
    placed |= {f"report.{k}" for k in ("health", "medicine", "safety")
               if "voice('report.' ~ kind)" in templates}
    placed |= {k for k in ("checkin.mood", "checkin.visibility") if f"say='{k}'" in templates}
    assert set(PHRASES) <= placed, set(PHRASES) - placed
    pot = (root / "i18n" / "messages.pot").read_text(encoding="utf-8")
    for text in PHRASES.values():
        assert f'msgid "{text._args[0]}"' in pot.replace('"\n"', ""), text._args[0]


def test_the_demo_ships_machine_made_clips_and_says_so(app, web, session, ctx):
    from webapp.demo import seed_demo

    with ctx():
        data = seed_demo(session, password=STAFF_PASSWORD)
    session.commit()
    coordinator = next(a for a in data.accounts if a.role == "coordinator")
    from webapp.models import User
    sign_in_staff(web, session.get(User, coordinator.user_id))
    page = page_text(web.get("/voice/?lang=en"))
    assert "espeak-ng" in page and f"4 of {len(PHRASES)}" in page
    for clip in CLIPS.rglob("*.ogg"):
        assert clip.stat().st_size < 8 * 1024  # tiny: a few KB each


def test_two_first_recordings_of_a_phrase_at_once_leave_one(app, committed_returnee):
    """Two staff members save the first recording of one phrase at the same
    moment: the second replaces the first, neither gets an error page."""
    from sqlalchemy import delete
    from sqlalchemy.orm import Session

    from webapp.models import User

    from .conftest import race

    ids = committed_returnee

    def saving(raw):
        return lambda s: service.save(s, s.get(User, ids.staff), "en", "help_now", raw)

    try:
        results = race(app, saving(OGG), saving(OTHER_OGG))
        assert isinstance(results["first"], service.Clip), results
        assert isinstance(results["second"], service.Clip), results
        with Session(app.extensions["footing_db"].engine) as s:
            rows = s.scalars(select(Recording).where(Recording.organisation_id == ids.org)).all()
            assert [r.digest for r in rows] == [hashlib.sha256(OTHER_OGG).hexdigest()]
    finally:
        with Session(app.extensions["footing_db"].engine) as s:
            s.execute(delete(Recording).where(Recording.organisation_id == ids.org))
            s.commit()


def test_the_microphone_is_allowed_on_the_recording_page_only(web, coordinator):
    assert "microphone=(self)" in web.get("/voice/").headers["Permissions-Policy"]
    assert "microphone=()" in web.get("/home").headers["Permissions-Policy"]
