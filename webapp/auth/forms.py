from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import Email

from ..forms import Form, ascii_digits, max_len, required
from .service import CONSENT_CHOICES


def _pin(label) -> PasswordField:
    """Six digits; typed in Persian or Arabic digits too (see ascii_digits)."""
    return PasswordField(label, validators=[required(), max_len(6)], filters=[ascii_digits])


def _totp() -> StringField:
    """The code an authenticator app shows; Persian or Arabic digits too."""
    return StringField(_l("6-digit code from your authenticator app"),
                       validators=[required(), max_len(10)], filters=[ascii_digits])


class CodeForm(Form):
    code = StringField(_l("Activation code"), validators=[required(), max_len(20)],
                       filters=[ascii_digits])


class PinForm(Form):
    pin = _pin(_l("Your PIN (6 digits)"))


class ConsentForm(Form):
    """The choices of the consent (auth.service.CONSENT_CHOICES): asked at
    activation, changed later on the privacy page."""

    share_with_group = BooleanField(_l("My peer group may see the check-ins I choose to share"))
    caseworker_may_edit_plan = BooleanField(_l("My caseworker may change my plan with me"))
    push_reminders = BooleanField(_l("Send me reminders on this phone"))

    def choices(self) -> dict[str, bool]:
        return {key: bool(getattr(self, key).data) for key in CONSENT_CHOICES}


class ReturneeActivationForm(ConsentForm):
    agree = BooleanField(_l("I have read this and I agree"), validators=[
        required()])
    pin = _pin(_l("Choose a PIN (6 digits)"))
    pin_repeat = _pin(_l("The same PIN again"))


class StaffActivationForm(Form):
    password = PasswordField(_l("New password (at least 12 characters)"),
                             validators=[required(), max_len(200)])
    password_repeat = PasswordField(_l("The same password again"),
                                    validators=[required(), max_len(200)])
    totp = _totp()


class StaffSigninForm(Form):
    email = EmailField(_l("E-mail address"), validators=[
        required(), max_len(254), Email(message=_l("Please enter an e-mail address."))])
    password = PasswordField(_l("Password"), validators=[required(), max_len(200)])


class TotpForm(Form):
    code = _totp()


class ChangePinForm(Form):
    current = _pin(_l("Your PIN now"))
    pin = _pin(_l("New PIN (6 digits)"))
    pin_repeat = _pin(_l("The same PIN again"))


class ChangePasswordForm(Form):
    current = PasswordField(_l("Your password now"), validators=[required(), max_len(200)])
    password = PasswordField(_l("New password (at least 12 characters)"),
                             validators=[required(), max_len(200)])
    password_repeat = PasswordField(_l("The same password again"),
                                    validators=[required(), max_len(200)])
