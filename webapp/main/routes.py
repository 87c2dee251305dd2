"""Home pages, language, quick exit, health and the PWA shell."""
from __future__ import annotations

import json

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..assets import minified_js
from ..auth import service as auth_service
from ..db import db_session
from ..directory import service as directory
from ..extensions import csrf, login_manager
from ..i18n import ACTIVATION_LOCALE, LANG_COOKIE, supported
from ..models import User
from ..network import service as network
from ..people import service as people
from ..privacy import service as privacy
from ..push import service as push
from ..queue import worker_state
from ..security import KEEP_HEADER, add_vary, offline_copy, queue_owner

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    """The app's address. Signed out, it is the sign-in entry itself, not a
    redirect to it: on 2G a redirect costs a round trip (~0.9 s) before the
    first paint (issue #24). A phone with a PIN goes straight to the PIN."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    if auth_service.binding_from_cookie(
            db_session(), request.cookies.get(auth_service.DEVICE_COOKIE)) is not None:
        return redirect(url_for("auth.pin_signin"))
    g.inline_css = True  # see templates/base.html
    return render_template("auth/signin.html")


@bp.get("/home")
@offline_copy
def home():
    user: User = current_user
    if user.role == "returnee":
        session = db_session()
        return render_template("main/home_returnee.html",
                               organisation=user.organisation,
                               preparing=network.in_preparation(session, user),
                               handover_waiting=network.waiting_for(session, user) is not None,
                               referral_waiting=network.referral_waiting_for(session, user))
    return render_template("main/home_staff.html")


@bp.get("/healthz")
def healthz():
    try:
        db_session().execute(text("SELECT 1"))
    except Exception:  # the database is the one thing this checks
        current_app.logger.exception("health check: database unreachable")
        return jsonify(status="error", database="unreachable"), 503
    # The web app is healthy without a worker (a load balancer must keep
    # sending people here); the worker's own state is /healthz/worker.
    # Without a VAPID key nobody gets a push: said, not failed on (production
    # does not start without one).
    return jsonify(status="ok", database="ok", worker=_worker_state(),
                   push="ok" if push.vapid_private_key() else "not configured")


@bp.get("/healthz/worker")
def worker_health():
    """200 while the worker sweeps, 503 when it has stopped or was never
    started: what a monitor should page someone on."""
    state = _worker_state()
    return jsonify(worker=state), 200 if state == "ok" else 503


def _worker_state() -> str:
    return worker_state(current_app.config["WORKER_LATE_SECONDS"])


@bp.get("/language")
def language():
    return render_template("main/language.html")


@bp.post("/language")
def set_language():
    code = request.form.get("lang", "")
    if code not in supported():
        return render_template("main/language.html",
                               error=_l("Please choose a language from the list.")), 400
    if current_user.is_authenticated:
        people.set_language(current_user, code)
    if ACTIVATION_LOCALE in session:
        session[ACTIVATION_LOCALE] = code
    response = redirect(url_for("main.home" if current_user.is_authenticated else "auth.signin"))
    response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, httponly=True,
                        secure=current_app.config["SESSION_COOKIE_SECURE"], samesite="Lax")
    return response


@bp.post("/exit")
@csrf.exempt
def quick_exit():
    """Leave at once to a neutral page, ending the session.

    Exempt from CSRF on purpose: a stale token (a page left open on a shared
    phone) must never stop someone from leaving. A cross-site form cannot abuse
    it: the session cookie is SameSite=Lax, so it is not sent with such a POST,
    and the only effect is signing the sender out."""
    try:
        auth_service.end_session(db_session(), session.get("_user_id"), "quick_exit")
        logout_user()
    except SQLAlchemyError:  # the database is down: leave all the same
        current_app.logger.warning("quick exit: the database did not answer; "
                                   "the session cookie is dropped, its row stays")
        db_session().rollback()
    session.clear()
    response = redirect(current_app.config["QUICK_EXIT_URL"], code=303)
    # Drop cached copies of pages; not "storage", which would also wipe the
    # offline queue of unsent reports.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


@bp.get("/me/ledger")
def my_ledger():
    entries, viewers = privacy.ledger(db_session(), current_user)
    return render_template("main/ledger.html", entries=entries, viewers=viewers)


# --- PWA shell ----------------------------------------------------------------

@bp.get("/manifest.webmanifest")
def manifest():
    data = {
        "name": "Footing",
        "short_name": "Footing",
        "start_url": "/home",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#1f5f5b",
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "any"},
            {"src": url_for("static", filename="icons/maskable-512.png"), "sizes": "512x512",
             "type": "image/png", "purpose": "maskable"},
        ],
    }
    response = make_response(json.dumps(data))
    response.mimetype = "application/manifest+json"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


SHELL_FILES = ("css/app.css", "js/app.js", "js/queue.js", "js/vault.js",
               "vendor/htmx-2.0.11.min.js", "icons/icon-192.png")


@bp.get("/sw.js")
def service_worker():
    shell = [url_for("static", filename=f) for f in SHELL_FILES] + [url_for("main.offline")]
    body = render_template("sw.js", shell=json.dumps(shell),
                           version=current_app.config["ASSET_VERSION"],
                           offline_url=url_for("main.offline"),
                           queue_js=url_for("static", filename="js/queue.js"),
                           icon_url=url_for("static", filename="icons/icon-192.png"))
    response = make_response(minified_js(body))  # as the static scripts are (assets.py)
    response.mimetype = "text/javascript"
    # The browser revalidates the script on every navigation: with a
    # validator the answer is a 304 of a few hundred bytes, not the script
    # again (issue #24). Compression re-tags it per encoding ("…:br") and
    # answers the conditional request itself (COMPRESS_EVALUATE_CONDITIONAL_REQUEST).
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/csrf")
def csrf_token():
    """A fresh CSRF token for the offline queue (issue #8).

    A report kept on the phone may be sent hours later, after a new sign-in:
    the token in the page it was made on belongs to a session that has ended.
    So the replay first asks for this session's token, then posts with it; the
    client UUID makes the post safe to repeat. `owner` tells the device whose
    session this is, so an item is only ever sent by the person who made it
    (shared phones). Signed in only (see POLICY) and never stored in a cache
    (security.py sets no-store on everything but the shell)."""
    return jsonify(token=generate_csrf(), owner=queue_owner(current_user))


@bp.get("/offline")
def offline():
    """The page for when there is no connection and no copy. Precached
    without cookies (sw.js): the configured emergency number. Asked for by the
    service worker with the phone's cookies to keep (X-Footing-Keep: public):
    rendered as for someone signed out, with the number of the organisation
    the phone is bound to and the directory's emergency numbers (issue #22),
    public data, kept in the public cache and shown instead."""
    binding = None
    if request.headers.get(KEEP_HEADER) == "public":
        g._login_user = login_manager.anonymous_user()
        binding = auth_service.binding_for_help(
            db_session(), request.cookies.get(auth_service.DEVICE_COOKIE))
    organisation = binding.user.organisation if binding is not None else None
    phone = (organisation.emergency_phone if organisation else "") \
        or current_app.config["EMERGENCY_PHONE"]
    numbers = directory.emergency_numbers(db_session(), organisation.id) if organisation else []
    g.public_copy = binding is not None
    if organisation is not None:
        g.help_numbers_of = organisation.id
    response = make_response(render_template("offline.html", phone=phone, numbers=numbers))
    response.headers["Cache-Control"] = "no-store" if binding else "public, max-age=300"
    add_vary(response.headers, "Cookie", KEEP_HEADER)
    return response
