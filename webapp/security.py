"""Response headers of the security baseline (DESIGN.md §4).

Compression and BREACH (issue #8). Pages are compressed (brotli or gzip) and
every page carries the session's CSRF token. A BREACH attacker needs to make
the victim's browser send many authenticated requests whose answers reflect
attacker-chosen text next to the secret, and to see their compressed sizes.
We accept the risk, for these reasons:
- the session cookie is SameSite=Lax: requests another site makes the browser
  send (images, scripts, fetch, hidden forms) carry no session, so they get a
  signed-out page without a token; only a top-level navigation carries it, one
  visible page load per guess;
- Flask-WTF signs the token with a timestamp: the string in a page changes
  every second, so the part after the constant prefix cannot be learnt
  character by character across requests, and the prefix alone is refused;
- pages reflect little from the request (no search echo in signed-in pages).
On 2G, uncompressed pages would cost several times the bytes (DESIGN.md §5).
Static files carry no secrets and are precompressed (webapp/assets.py).
"""
from __future__ import annotations

import hashlib
import hmac
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, request, session
from flask.json.tag import JSONTag, TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from flask_babel import LazyString
from flask_login import current_user

from .assets import inline_css_source

PUBLIC_CACHEABLE = {"main.manifest", "main.offline", "main.service_worker"}
# Answers whose URL holds a hash of what they carry (a recorded phrase,
# webapp/voice): the route says how long the person's browser keeps them.
OWN_CACHE_RULE = {"voice.clip"}
OFFLINE_COPY_HEADER = "X-Offline-Copy"
PUBLIC_COPY_HEADER = "X-Public-Copy"
# On answers to someone not signed in: the service worker forgets the
# pages it kept of an earlier session (one that timed out, or was ended by a
# PIN change, a disabled or deleted account) as soon as the phone is online.
SIGNED_OUT_HEADER = "X-Signed-Out"
# The offline queue marks a report it replays in the background (queue.js);
# its stored answer is a 204 naming where the form would have gone.
REPLAY_HEADER = "X-Footing-Replay"
STORED_HEADER = "X-Footing-Stored"
CSRF_REFUSED_HEADER = "X-CSRF-Refused"
IDLE_HEADER = "X-Idle-Seconds"
# The service worker asks for a page to keep (sw.js): "public" = the copy
# kept in the clear for a locked phone (help without the PIN).
KEEP_HEADER = "X-Footing-Keep"


def offline_copy(view):
    """Mark a returnee's own page as readable offline: the service worker keeps
    the last copy it fetched (network first) and deletes every such copy at
    sign-in, sign-out and quick exit, so the next person on a shared phone
    never sees it."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        # Only a page fetched is kept (the service worker never keeps the
        # answer to a post): a form post asks nothing here (issue #24).
        g.offline_copy = request.method == "GET" and current_user.is_authenticated \
            and current_user.role == "returnee"
        return view(*args, **kwargs)

    return wrapped


def public_copy(view):
    """Mark a page that holds nothing of the person (the directory of local
    services, issue #22) as readable offline by anyone on the phone: the
    service worker keeps it in a cache of its own that sign-in, sign-out and
    quick exit leave alone."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        # A returnee's view only: staff see the same page with buttons to
        # change it, which are no one else's business on a shared phone.
        g.public_copy = current_user.is_authenticated and current_user.role == "returnee"
        return view(*args, **kwargs)

    return wrapped


def queue_owner(user) -> str:
    """Whose offline queue items these are, as the device may know it: a keyed
    hash of the account id (not the id), kept with each queued report and
    compared with the answer of /csrf before sending (issue #8)."""
    if not getattr(user, "is_authenticated", False):
        return ""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"offline-queue:{user.id}".encode(), hashlib.sha256).hexdigest()[:24]


# Which organisation's emergency numbers a help page shows (sw.js): when the
# person's organisation changes (a handover, issue #21), the copies kept for
# help offline are fetched again at the next page instead of within a day.
HELP_VERSION_HEADER = "X-Footing-Help-Version"


def help_version(organisation_id: int | None) -> str:
    """A keyed hash of the organisation whose numbers the help copies hold
    (not its id: the copy without the PIN is kept in the clear)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"help-copies:{organisation_id}".encode(),
                    hashlib.sha256).hexdigest()[:16]


def content_security_policy(style_hash: str | None = None) -> str:
    exit_url = urlsplit(current_app.config["QUICK_EXIT_URL"])
    exit_origin = f"{exit_url.scheme}://{exit_url.netloc}" if exit_url.netloc else ""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        f"style-src 'self' {style_hash}" if style_hash else "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        # The quick-exit form redirects to a neutral site.
        f"form-action 'self' {exit_origin}".strip(),
        "frame-ancestors 'none'",
        "manifest-src 'self'",
        "worker-src 'self'",
    ])


def apply_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(inline_css_source()))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    # Geolocation for this site only: the directory sorts places nearest
    # first on the phone, when the person asks and allows it (issue #22).
    # The microphone only on the page where staff record phrases (issue #23).
    microphone = "(self)" if g.get("uses_microphone") else "()"
    headers["Permissions-Policy"] = f"camera=(), microphone={microphone}, geolocation=(self)"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
    # Pages and fragments are personal or carry a CSRF token: never stored in a
    # shared cache or the browser's disk cache (shared phones).
    if g.get("offline_copy") and response.status_code == 200:
        headers[OFFLINE_COPY_HEADER] = "1"
    if g.get("public_copy") and response.status_code == 200:
        headers[PUBLIC_COPY_HEADER] = "1"
    if "help_numbers_of" in g and response.status_code == 200:
        headers[HELP_VERSION_HEADER] = help_version(g.help_numbers_of)
    # Only when this request looked up who is asking (a page, the access
    # check, the sign-in page): asking here would cost a session lookup on
    # answers that need none (the service worker script, the manifest).
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded
    if user is not None and not user.is_authenticated:
        headers[SIGNED_OUT_HEADER] = "1"
    elif user is not None and user.role == "returnee":
        # Signed in for this many idle seconds more: the service worker keeps
        # the phone's vault open until then (issue #19, static/js/vault.js).
        headers[IDLE_HEADER] = str(current_app.config["RETURNEE_IDLE_MINUTES"] * 60)
    if request.endpoint in OWN_CACHE_RULE and response.status_code in (200, 206, 304):
        return response
    if request.endpoint not in PUBLIC_CACHEABLE and request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        add_vary(headers, "Cookie", "HX-Request")
    return response


def answer_replay(response):
    """A report the offline queue replays in the background is answered with
    204 and where the form would have gone (STORED_HEADER), not with a
    redirect the browser follows to a page nobody sees (issue #24: one
    request, about 1 KB, per replayed report). The thank-you message goes
    too: it would otherwise greet the person on their next page. A redirect
    to sign in stays a redirect."""
    if (request.method != "POST" or not request.headers.get(REPLAY_HEADER)
            or response.status_code not in (301, 302, 303, 307, 308)):
        return response
    location = response.headers.get("Location", "")
    if urlsplit(location).path.startswith(("/signin", "/activate")):
        return response
    session.pop("_flashes", None)
    response.status_code = 204
    response.set_data(b"")
    del response.headers["Location"]
    response.headers.pop("Content-Type", None)
    response.headers[STORED_HEADER] = location
    return response


def add_vary(headers, *names: str) -> None:
    """One Vary header holding every name once (compression adds its own)."""
    seen: list[str] = []
    for value in headers.get_all("Vary") + list(names):
        for name in value.split(","):
            name = name.strip()
            if name and name.lower() not in {n.lower() for n in seen}:
                seen.append(name)
    headers["Vary"] = ", ".join(seen)


# --- The session cookie ----------------------------------------------------------------

class _TagTranslated(JSONTag):
    """A translated message (flask-babel's LazyString, e.g. a flashed
    DomainError) is kept in the session as the plain text it is. Flask's own
    tags would take it for Markup (it has `__html__`), and the next page would
    render it unescaped, with whatever a person typed into its placeholders."""
    __slots__ = ()
    key = " lz"

    def check(self, value: object) -> bool:
        return isinstance(value, LazyString)

    def to_json(self, value: object) -> str:
        return str(value)

    def to_python(self, value: str) -> str:
        return value


class _Serializer(TaggedJSONSerializer):
    default_tags = [_TagTranslated, *TaggedJSONSerializer.default_tags]


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with translated messages kept as text."""
    serializer = _Serializer()
