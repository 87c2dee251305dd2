"""Sign-in, activation and sign-out. URL map:

    /signin                   choose: PIN on a bound phone, code, or staff
    /signin/pin               returnee PIN (bound browser only)
    /signin/staff             staff e-mail + password, then
    /signin/staff/code        staff TOTP
    /activate                 enter an activation code, then
    /activate/returnee        consent + PIN, binds this browser
    /activate/staff           password + authenticator enrolment
    /signout                  POST
    /me/pin                   returnee: change the PIN
    /me/password              staff: change the password
"""
from __future__ import annotations

import logging
import time

import segno
from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup

from .. import outbox
from ..db import db_session
from ..errors import DomainError
from ..extensions import limiter
from ..forms import run_form, text_of
from ..i18n import ACTIVATION_LOCALE
from . import service, throttle
from .forms import (
    ChangePasswordForm,
    ChangePinForm,
    CodeForm,
    PinForm,
    ReturneeActivationForm,
    StaffActivationForm,
    StaffSigninForm,
    TotpForm,
)

bp = Blueprint("auth", __name__)

log = logging.getLogger(__name__)

DEVICE_COOKIE = service.DEVICE_COOKIE
PENDING_STAFF_SECONDS = 300


def _signin_limit() -> str:
    return current_app.config["RATELIMIT_SIGNIN"]


def _account_limit() -> str:
    return current_app.config["RATELIMIT_ACCOUNT"]


def keep_changes() -> None:
    """Commit this request's changes even though it answers 4xx (e.g. a wrong
    PIN must count)."""
    g.keep_changes = True


def _sign_in(user, binding=None):
    """Start a new session: fresh token, fresh cookie contents, fresh CSRF."""
    token = service.start_session(db_session(), user, binding)
    session.clear()
    login_user(user, remember=False)
    session["seen"] = int(time.time())
    return token


def _device_binding(lock: bool = False):
    return service.binding_from_cookie(db_session(), request.cookies.get(DEVICE_COOKIE), lock)


@bp.get("/signin")
def signin():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    if _device_binding() is not None:
        return redirect(url_for("auth.pin_signin"))
    g.inline_css = True  # an entry page: painted from one response on 2G
    return render_template("auth/signin.html")


@bp.route("/signin/pin", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def pin_signin():
    binding = _device_binding(lock=request.method == "POST")
    form = PinForm()
    run = run_form(form, lambda: service.check_pin(db_session(), binding, text_of(form.pin)))
    if run.done:
        _sign_in(run.result, binding)
        outbox.log_after_commit(log, "signin user=%s binding=%s", run.result.id, binding.id)
        return redirect(url_for("main.home"))
    if isinstance(run.error, service.SigninError):
        keep_changes()  # the failed attempt must count
        log.info("pin refused binding=%s status=%s", binding.id if binding else None, run.status)
    # The PIN page of a bound phone offers help without the PIN, and the number.
    phone = (binding.user.organisation.emergency_phone if binding is not None else "") \
        or current_app.config["EMERGENCY_PHONE"]
    return render_template("auth/pin.html", form=form, bound=binding is not None,
                           locked=binding is not None and binding.locked_at is not None,
                           emergency_phone=phone), run.status


@bp.route("/signin/staff", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=throttle.password_key,
               deduct_when=throttle.wrong_try)
def staff_signin():
    form = StaffSigninForm()
    run = run_form(form, lambda: service.check_staff_password(db_session(), text_of(form.email),
                                                               text_of(form.password)))
    if run.done:
        session.clear()
        session["pending_staff"] = [run.result.id, int(time.time())]
        return redirect(url_for("auth.staff_totp"))
    return render_template("auth/staff_signin.html", form=form), run.status


@bp.route("/signin/staff/code", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=throttle.code_key,
               deduct_when=throttle.wrong_try)
def staff_totp():
    pending = session.get("pending_staff")
    # Locked on a post: a code is accepted once, even from two requests at once.
    user = (service.pending_staff(db_session(), pending[0], lock=request.method == "POST")
            if pending and time.time() - pending[1] <= PENDING_STAFF_SECONDS else None)
    if user is None:
        session.pop("pending_staff", None)
        flash(_l("Please sign in again."), "error")
        return redirect(url_for("auth.staff_signin"))
    form = TotpForm()
    run = run_form(form, lambda: service.check_staff_totp(db_session(), user, text_of(form.code)))
    if run.done:
        _sign_in(user)
        outbox.log_after_commit(log, "signin user=%s", user.id)
        response = redirect(url_for("main.home"))
        throttle.remember_device(response, user.id)
        return response
    return render_template("auth/staff_totp.html", form=form), run.status


def _sign_out(reason: str) -> None:
    service.end_session(db_session(), session.get("_user_id"), reason)
    logout_user()
    session.clear()


@bp.post("/signout")
def signout():
    _sign_out("signout")
    flash(_l("You are signed out."), "info")
    return redirect(url_for("auth.signin"))


# --- Activation ---------------------------------------------------------------

@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def activate():
    form = CodeForm()
    run = run_form(form, lambda: service.find_activation(db_session(), text_of(form.code)))
    if run.done:
        activation = run.result
        if current_user.is_authenticated:
            service.end_session(db_session(), session.get("_user_id"), "activation")
            logout_user()
        session.clear()
        session["activation"] = activation.id
        if activation.user.locale:
            session[ACTIVATION_LOCALE] = activation.user.locale
        target = ("auth.activate_returnee" if activation.user.role == "returnee"
                  else "auth.activate_staff")
        return redirect(url_for(target))
    return render_template("auth/activate.html", form=form), run.status


def _pending_activation():
    try:
        return service.open_activation(db_session(), session.get("activation"),
                                       lock=request.method == "POST")
    except DomainError as err:
        session.pop("activation", None)
        flash(err.message, "error")
        return None


@bp.route("/activate/returnee", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def activate_returnee():
    activation = _pending_activation()
    if activation is None or activation.user.role != "returnee":
        return redirect(url_for("auth.activate"))
    form = ReturneeActivationForm()
    run = run_form(form, lambda: service.activate_returnee(
        db_session(), activation, pin=text_of(form.pin), pin_repeat=text_of(form.pin_repeat),
        choices=form.choices(), locale=str(get_locale()),
        device_label=request.user_agent.platform or ""))
    if run.done:
        user, binding, cookie = run.result
        _sign_in(user, binding)
        response = redirect(url_for("main.home"))
        cfg = current_app.config
        response.set_cookie(
            DEVICE_COOKIE, cookie, max_age=cfg["DEVICE_COOKIE_DAYS"] * 86400,
            httponly=True, secure=cfg["SESSION_COOKIE_SECURE"], samesite="Lax")
        flash(_l("Welcome. Your phone is set up."), "info")
        return response
    return render_template("auth/activate_returnee.html", form=form,
                           name=activation.user.display_name,
                           organisation=activation.user.organisation), run.status


@bp.route("/activate/staff", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def activate_staff():
    activation = _pending_activation()
    if activation is None or activation.user.role == "returnee":
        return redirect(url_for("auth.activate"))
    secret = service.enrolment_secret(activation)
    form = StaffActivationForm()
    run = run_form(form, lambda: service.activate_staff(
        db_session(), activation, password=text_of(form.password),
        password_repeat=text_of(form.password_repeat), totp_secret=secret,
        totp_code=text_of(form.totp)))
    if run.done:
        _sign_in(run.result)
        flash(_l("Your account is ready."), "info")
        response = redirect(url_for("main.home"))
        throttle.remember_device(response, run.result.id)
        return response
    uri = service.totp_uri(activation.user, secret)
    title = str(_l("QR code for your authenticator app"))
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, omitsize=True, title=title))
    return render_template("auth/activate_staff.html", form=form, qr=qr, secret=secret,
                           user=activation.user), run.status


# --- Changing a secret ----------------------------------------------------------

def _change_secret(form, change, template: str, count_wrong=None):
    """Both changes end every session of the person, on every device; this
    browser gets a fresh one so the person stays signed in here. `count_wrong`
    counts a wrong current secret and says when it was one too many."""
    user = current_user._get_current_object()

    def change_and_keep_binding():
        binding = service.session_binding(db_session(), session.get("_user_id", ""))
        change(user, binding, form)
        return binding

    run = run_form(form, change_and_keep_binding)
    if run.done:
        _sign_in(user, run.result)
        flash(_l("Saved. You are signed out on every other device."), "info")
        return redirect(url_for("main.home"))
    if isinstance(run.error, service.SigninError):
        keep_changes()  # a wrong current PIN counts
        if count_wrong is not None and count_wrong(user.id):
            # Whoever found the session open must now sign in with the password
            # and the code, which a guesser does not have.
            _sign_out("wrong_password")
            log.info("session ended after wrong current passwords user=%s", user.id)
            flash(_l("Your current password is not right."), "error")
            flash(_l("Your session has ended. Sign in again to go on."), "error")
            return redirect(url_for("auth.signin"))
    return render_template(template, form=form), run.status


@bp.route("/me/pin", methods=["GET", "POST"])
def change_pin():
    return _change_secret(
        ChangePinForm(),
        lambda user, binding, f: service.change_pin(db_session(), user, binding, f.current.data,
                                                    f.pin.data, f.pin_repeat.data),
        "auth/change_pin.html")


@bp.route("/me/password", methods=["GET", "POST"])
def change_password():
    return _change_secret(
        ChangePasswordForm(),
        lambda user, _binding, f: service.change_password(db_session(), user, f.current.data,
                                                          f.password.data, f.password_repeat.data),
        "auth/change_password.html", count_wrong=throttle.count_wrong_current_password)
