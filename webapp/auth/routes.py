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

from ..db import db_session, get_locked
from ..errors import DomainError
from ..extensions import limiter
from ..forms import form_error
from ..i18n import ACTIVATION_LOCALE
from ..models import User
from . import service
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
from .models import DeviceBinding

bp = Blueprint("auth", __name__)

log = logging.getLogger(__name__)

DEVICE_COOKIE = "footing_device"
PENDING_STAFF_SECONDS = 300


def _signin_limit() -> str:
    return current_app.config["RATELIMIT_SIGNIN"]


def _account_limit() -> str:
    return current_app.config["RATELIMIT_ACCOUNT"]


def _email_key() -> str:
    """Per account, whichever address the tries come from."""
    return "account:" + request.form.get("email", "").strip().lower()[:254]


def _pending_staff_key() -> str:
    pending = session.get("pending_staff") or [None]
    return f"totp:{pending[0]}"


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
    return render_template("auth/signin.html")


@bp.route("/signin/pin", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def pin_signin():
    binding = _device_binding(lock=request.method == "POST")
    form = PinForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user = service.check_pin(db_session(), binding, form.pin.data or "")
            except service.SigninError as err:
                keep_changes()  # the failed attempt must count
                log.info("pin refused binding=%s status=%s", binding.id if binding else None,
                         err.status)
                form_error(form, err)
                status = err.status
            else:
                _sign_in(user, binding)
                log.info("signin user=%s binding=%s", user.id, binding.id)
                return redirect(url_for("main.home"))
        else:
            status = 400
    return render_template("auth/pin.html", form=form, bound=binding is not None,
                           locked=binding is not None and binding.locked_at is not None), status


@bp.route("/signin/staff", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_email_key)
def staff_signin():
    form = StaffSigninForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user = service.check_staff_password(db_session(), form.email.data,
                                                    form.password.data)
            except service.SigninError as err:
                form_error(form, err)
                status = err.status
            else:
                session.clear()
                session["pending_staff"] = [user.id, int(time.time())]
                return redirect(url_for("auth.staff_totp"))
        else:
            status = 400
    return render_template("auth/staff_signin.html", form=form), status


@bp.route("/signin/staff/code", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_pending_staff_key)
def staff_totp():
    pending = session.get("pending_staff")
    if not pending or time.time() - pending[1] > PENDING_STAFF_SECONDS:
        session.pop("pending_staff", None)
        flash(_l("Please sign in again."), "error")
        return redirect(url_for("auth.staff_signin"))
    # Locked on a post: a code is accepted once, even from two requests at once.
    user = get_locked(db_session(), User, pending[0], lock=request.method == "POST")
    form = TotpForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit() and user is not None:
            try:
                service.check_staff_totp(db_session(), user, form.code.data)
            except service.SigninError as err:
                form_error(form, err)
                status = err.status
            else:
                _sign_in(user)
                log.info("signin user=%s", user.id)
                return redirect(url_for("main.home"))
        else:
            status = 400
    return render_template("auth/staff_totp.html", form=form), status


@bp.post("/signout")
def signout():
    service.end_session(db_session(), session.get("_user_id"), "signout")
    logout_user()
    session.clear()
    flash(_l("You are signed out."), "info")
    return redirect(url_for("auth.signin"))


# --- Activation ---------------------------------------------------------------

@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def activate():
    form = CodeForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                activation = service.find_activation(db_session(), form.code.data)
            except DomainError as err:
                form_error(form, err)
                status = err.status
            else:
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
        else:
            status = 400
    return render_template("auth/activate.html", form=form), status


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
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user, binding, cookie = service.activate_returnee(
                    db_session(), activation, pin=form.pin.data, pin_repeat=form.pin_repeat.data,
                    choices=form.choices(),
                    locale=str(get_locale()),
                    device_label=request.user_agent.platform or "",
                )
            except DomainError as err:
                form_error(form, err)
                status = err.status
            else:
                _sign_in(user, binding)
                response = redirect(url_for("main.home"))
                cfg = current_app.config
                response.set_cookie(
                    DEVICE_COOKIE, cookie, max_age=cfg["DEVICE_COOKIE_DAYS"] * 86400,
                    httponly=True, secure=cfg["SESSION_COOKIE_SECURE"], samesite="Lax")
                flash(_l("Welcome. Your phone is set up."), "info")
                return response
        else:
            status = 400
    return render_template("auth/activate_returnee.html", form=form,
                           name=activation.user.display_name,
                           organisation=activation.user.organisation), status


@bp.route("/activate/staff", methods=["GET", "POST"])
@limiter.limit(_signin_limit, methods=["POST"])
def activate_staff():
    activation = _pending_activation()
    if activation is None or activation.user.role == "returnee":
        return redirect(url_for("auth.activate"))
    secret = service.enrolment_secret(activation)
    form = StaffActivationForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                user = service.activate_staff(
                    db_session(), activation, password=form.password.data,
                    password_repeat=form.password_repeat.data, totp_secret=secret,
                    totp_code=form.totp.data)
            except DomainError as err:
                form_error(form, err)
                status = err.status
            else:
                _sign_in(user)
                flash(_l("Your account is ready."), "info")
                return redirect(url_for("main.home"))
        else:
            status = 400
    uri = service.totp_uri(activation.user, secret)
    qr = Markup(segno.make(uri, error="m").svg_inline(scale=4, omitsize=True,
                                                       title=str(_l("QR code for your authenticator app"))))
    return render_template("auth/activate_staff.html", form=form, qr=qr, secret=secret,
                           user=activation.user), status


# --- Changing a secret ----------------------------------------------------------

def _change_secret(form, change, template: str):
    """Both changes end every session of the person, on every device; this
    browser gets a fresh one so the person stays signed in here."""
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            user = current_user._get_current_object()
            binding = None
            auth = service.load_session(db_session(), session.get("_user_id", ""))
            if auth is not None and auth.device_binding_id is not None:
                binding = get_locked(db_session(), DeviceBinding, auth.device_binding_id)
            try:
                change(user, binding, form)
            except DomainError as err:
                if isinstance(err, service.SigninError):
                    keep_changes()  # a wrong current PIN counts
                form_error(form, err)
                status = err.status
            else:
                _sign_in(user, binding)
                flash(_l("Saved. You are signed out on every other device."), "info")
                return redirect(url_for("main.home"))
        else:
            status = 400
    return render_template(template, form=form), status


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
        "auth/change_password.html")
