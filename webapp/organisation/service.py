"""An organisation: starting one (`flask create-organisation`) and the
coordinator's settings. Functions take the session, flush, and raise
DomainError; they never commit."""
from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import available_timezones

from babel import Locale
from babel.numbers import list_currencies
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..audit import audit
from ..auth.service import IssuedCode
from ..db import get_locked
from ..errors import DomainError
from ..i18n import organisation_languages, supported
from ..models import Organisation, Role, User
from ..monitoring.models import FollowUp
from ..monitoring.service import schedule_all
from ..people.service import create_staff
from ..support.service import clean_phone

# Months after the return a follow-up can be set at (DESIGN.md §3.5: 1, 3, 6, 12 by default).
FOLLOWUP_CHOICES = (1, 2, 3, 4, 6, 9, 12, 18, 24)
NAME_MAX = 200
CONTACT_MAX = 200
# A link, an e-mail address, or a phone number (digits, spaces, + - ( )).
_CONTACT = re.compile(r"^(https://\S+|[^\s@]+@[^\s@]+\.[^\s@]+|\+?[0-9][0-9 ()-]{5,})$")


@dataclass
class Settings:
    name: str
    emergency_phone: str
    timezone: str
    currency: str
    followup_months: list[int]
    # The languages its people and groups use (None: every language).
    languages: list[str] | None = None
    # Where the duty phone reads text messages (optional): offline, the help
    # page offers an sms: link to it (issue #18).
    sms_phone: str = ""
    # A link, an e-mail address or a phone number for corrections to the
    # translations (issue #23); "" for none.
    corrections_contact: str = ""


def _checked(settings: Settings) -> Settings:
    name = (settings.name or "").strip()
    if not name:
        raise DomainError(_l("Please fill this in."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=NAME_MAX), field="name")
    phone = clean_phone(settings.emergency_phone, field="emergency_phone")
    sms_phone = clean_phone(settings.sms_phone, field="sms_phone")
    timezone = (settings.timezone or "").strip()
    if timezone not in available_timezones():
        raise DomainError(_l("Please write a time zone such as Africa/Freetown."), field="timezone")
    currency = (settings.currency or "").strip().upper()
    if currency not in list_currencies():
        raise DomainError(_l("Please write a currency code such as SLE or EUR."), field="currency")
    months = sorted(set(settings.followup_months or ()))
    if not months or not set(months) <= set(FOLLOWUP_CHOICES):
        raise DomainError(_l("Please choose at least one month."), field="followup_months")
    chosen = set(supported() if settings.languages is None else settings.languages)
    if not chosen:
        raise DomainError(_l("Please choose at least one language."), field="languages")
    if not chosen <= set(supported()):
        raise DomainError(_l("Please choose one from the list."), field="languages")
    languages = [code for code in supported() if code in chosen]
    corrections = " ".join((settings.corrections_contact or "").split())
    if len(corrections) > CONTACT_MAX:
        raise DomainError(_l("Please use at most %(max)d characters.", max=CONTACT_MAX),
                          field="corrections_contact")
    if corrections and not (_CONTACT.match(corrections)):
        raise DomainError(_l("Please write a link (https://…), an e-mail address or a phone "
                             "number."), field="corrections_contact")
    return Settings(name, phone, timezone, currency, months, languages, sms_phone=sms_phone,
                    corrections_contact=corrections)


def settings_of(org: Organisation) -> Settings:
    return Settings(org.name, org.emergency_phone, org.timezone, org.currency,
                    sorted(org.followup_months or []), organisation_languages(org),
                    sms_phone=org.sms_phone or "",
                    corrections_contact=org.corrections_contact or "")


def update_settings(session: Session, actor: User, settings: Settings) -> bool:
    """Save the settings of the actor's organisation; False when nothing
    changed. Follow-ups follow the months: new months are scheduled for
    everyone, and follow-ups not done at months no longer set are dropped
    (those done stay). Two coordinators saving at once: one after the other."""
    new = _checked(settings)
    org = get_locked(session, Organisation, actor.organisation_id)
    if new == settings_of(org):
        return False
    months_changed = new.followup_months != sorted(org.followup_months or [])
    org.name, org.emergency_phone, org.timezone = new.name, new.emergency_phone, new.timezone
    org.sms_phone = new.sms_phone
    org.currency, org.followup_months = new.currency, new.followup_months
    org.languages = new.languages or []  # _checked lists them; [] too means every one
    org.corrections_contact = new.corrections_contact
    if months_changed:
        session.execute(delete(FollowUp).where(
            FollowUp.organisation_id == org.id, FollowUp.month.not_in(new.followup_months),
            FollowUp.done_at.is_(None)))
        session.flush()
        schedule_all(session, organisation_id=org.id)
    audit(session, actor, "organisation.settings", None, org.id)
    session.flush()
    return True


def create_organisation(session: Session, *, settings: Settings, country: str,
                        coordinator_name: str, coordinator_email: str,
                        locale: str = "en") -> IssuedCode:
    """A new organisation and its first coordinator, who activates the account
    with the code returned (shown once)."""
    new = _checked(settings)
    country = (country or "").strip().upper()
    if country not in Locale("en").territories or not country.isalpha():
        raise DomainError(_l("Please write a two-letter country code such as SL."),
                          field="country")
    if session.scalar(select(Organisation.id).where(Organisation.name == new.name)) is not None:
        raise DomainError(_l("An organisation with this name exists already."), field="name")
    org = Organisation(name=new.name, country=country, timezone=new.timezone,
                       emergency_phone=new.emergency_phone, sms_phone=new.sms_phone,
                       currency=new.currency,
                       followup_months=new.followup_months, languages=new.languages)
    session.add(org)
    session.flush()
    issued = create_staff(session, organisation=org, created_by=None,
                          display_name=coordinator_name, email=coordinator_email,
                          role=Role.COORDINATOR, locale=locale)
    audit(session, None, "organisation.create", issued.user, org.id)
    session.flush()
    return issued
