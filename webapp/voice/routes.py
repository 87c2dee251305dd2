"""Recorded voice (issue #23).

    /voice/                            staff: the key phrases, per language: recorded or
                                       not, play, record or replace, remove; coverage
    /voice/<lang>/<phrase>             POST a recording (multipart: the browser's
                                       recorder, or a chosen file without JavaScript)
    /voice/<lang>/<phrase>/remove      POST: back to the phone's own voice
    /voice/clips/<id>/<sha256>.<ext>   the sound, for members of its organisation

Coordinators and caseworkers record: a caseworker often speaks the language
the coordinator does not. A recording is not personal (the organisation's
voice saying a fixed sentence), but only the organisation's signed-in members
reach it: its URL holds the hash of the sound, so the browser keeps it for a
year (`private`: never a shared cache), and a new recording is a new URL.

`{{ voice('checkin.mood') }}` beside a phrase's text on a returnee page is a
speaker button: the organisation's recording in the page's language when
there is one (`<audio preload="none">`: nothing is fetched before the tap),
else the phone's own speech voice reading the text (app.js, as "Read aloud"
does, only with a voice on the phone), else nothing.
"""
from __future__ import annotations

from io import BytesIO

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import force_locale, get_locale, gettext, lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from .. import i18n
from ..bodies import takes
from ..db import db_session
from ..forms import ConfirmForm, Form, run_form
from ..icons import icon
from . import service
from .forms import RecordingForm
from .models import Recording
from .phrases import PHRASES

bp = Blueprint("voice", __name__, url_prefix="/voice")

YEAR = 365 * 24 * 3600


@bp.record_once
def _install(state) -> None:
    state.app.jinja_env.globals["voice"] = speaker


def _page_clips() -> dict[str, service.Clip]:
    """The organisation's recordings in the page's language, read once a page."""
    if "voice_clips" not in g:
        user = current_user
        g.voice_clips = (service.clips_for(db_session(), user.organisation_id,
                                           str(get_locale()))
                         if user.is_authenticated and not g.get("public_copy") else {})
    return g.voice_clips


def speaker(key: str) -> Markup:
    """The speaker button of one phrase, placed inside the element holding its
    text. Shown by app.js: it plays the recording, or without one reads the
    element's text with a voice on the phone; without either (or without
    JavaScript) it stays hidden."""
    clip = _page_clips().get(key)
    label = gettext("Listen")
    audio = Markup("")
    if clip is not None:
        audio = Markup('<audio preload="none" src="{}"></audio>').format(
            url_for("voice.clip", clip_id=clip.id, name=clip.name))
    return Markup('<span class="say"><button class="say-button" type="button" hidden '
                  'aria-label="{}" title="{}">{}</button>{}</span>').format(
        label, label, icon("speaker"), audio)


def _language(code: str | None) -> str:
    languages = i18n.organisation_languages(current_user.organisation)
    return code if code in languages else languages[0]


def _slot(lang: str, phrase: str) -> None:
    if lang not in i18n.supported() or not service.is_phrase(phrase):
        abort(404)


def _texts(lang: str) -> dict[str, str]:
    """Each phrase as the page in that language writes it: what to say."""
    with force_locale(lang):
        return {key: str(text) for key, text in PHRASES.items()}


def _page(lang: str, *, failed: str | None = None, form: Form | None = None):
    org = current_user.organisation
    languages = i18n.organisation_languages(org)
    g.uses_microphone = True  # the recorder (Permissions-Policy)
    return render_template(
        "voice/index.html", lang=lang, failed=failed, failed_form=form,
        texts=_texts(lang), clips=service.clips_for(db_session(), org.id, lang),
        coverage=service.coverage(db_session(), org.id, languages),
        names={code: name for code, name, _tag in i18n.language_choices(languages)},
        total=len(PHRASES), max_kb=service.MAX_BYTES // 1024,
        text_direction_of=i18n.text_direction, tag_of=i18n.locale_tag)


@bp.route("/")
def index():
    return _page(_language(request.args.get("lang")))


@bp.route("/<lang>/<phrase>", methods=["POST"])
@takes("multipart/form-data")
def record(lang: str, phrase: str):
    _slot(lang, phrase)
    form = RecordingForm()
    upload = form.audio.data
    # A file, or text where a file should be (a tampered form): nothing to read.
    raw: bytes = upload.read(service.MAX_BYTES + 1) if hasattr(upload, "read") else b""
    run = run_form(form, lambda: service.save(db_session(), current_user, lang, phrase, raw))
    if run.done:
        flash(_l("Saved. The speaker button now plays this recording."), "info")
        return redirect(url_for("voice.index", lang=lang, _anchor=f"p-{phrase}"))
    return _page(lang, failed=phrase, form=form), run.status


@bp.route("/<lang>/<phrase>/remove", methods=["POST"])
def remove(lang: str, phrase: str):
    _slot(lang, phrase)
    form = ConfirmForm()
    run = run_form(form, lambda: service.remove(db_session(), current_user, lang, phrase),
                   flash_error=True)
    if run.done:
        flash(_l("Removed. Phones read this sentence with their own voice, if they have one."),
              "info")
    return redirect(url_for("voice.index", lang=lang, _anchor=f"p-{phrase}"))


@bp.route("/clips/<int:clip_id>/<name>")
def clip(clip_id: int, name: str):
    row: Recording = g.scoped
    found = service.clip_of(row)
    if name != found.name:
        abort(404)  # an earlier recording's URL: replaced
    response = send_file(BytesIO(row.audio), mimetype=found.media_type, etag=found.digest,
                         conditional=True, max_age=YEAR)
    response.headers["Cache-Control"] = f"private, max-age={YEAR}, immutable"
    return response
