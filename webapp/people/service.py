"""The people of an organisation: creating accounts, who follows whom,
disabling, and who may see whom.

Functions take the SQLAlchemy session, flush, and raise `DomainError` with a
message a person can read; they never commit.
"""
from __future__ import annotations

from datetime import date
from typing import Final, Literal

from babel import Locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, undefer

from ..audit import audit
from ..auth.models import ActivationCode, DeviceBinding
from ..auth.service import IssuedCode, end_all_sessions, issue_activation_code
from ..db import Page, paginate
from ..errors import DomainError
from ..models import Household, Organisation, Role, User, utcnow
from .models import CaseworkerAssignment, ReportingProfile

# --- Who may see whom ---------------------------------------------------------

def current_caseworker_id(session: Session, returnee_id: int) -> int | None:
    return session.scalar(
        select(CaseworkerAssignment.caseworker_id).where(
            CaseworkerAssignment.returnee_id == returnee_id,
            CaseworkerAssignment.ended_at.is_(None),
        )
    )


def visible_person(session: Session, viewer: User, user_id: int) -> User | None:
    """A person the viewer may manage: a coordinator any account of the
    organisation, a caseworker only returnees assigned to them. A deleted
    account is nobody's any more."""
    person = session.get(User, user_id)
    if (person is None or person.organisation_id != viewer.organisation_id
            or person.deleted_at is not None):
        return None
    role = viewer.role_enum
    if role is Role.COORDINATOR:
        return person
    if role is Role.CASEWORKER and person.role == Role.RETURNEE.value:
        if current_caseworker_id(session, person.id) == viewer.id:
            return person
    return None


def visible_returnee(session: Session, viewer: User, user_id: int) -> User | None:
    """A returnee whose records the viewer may read: themself, their current
    caseworker, or a coordinator of the same organisation. Facilitators never."""
    if viewer.id == user_id:
        return viewer if viewer.role == Role.RETURNEE.value else None
    person = visible_person(session, viewer, user_id)
    return person if person is not None and person.role == Role.RETURNEE.value else None


# --- Lists --------------------------------------------------------------------

def people_query(viewer: User) -> Select:
    """The accounts the viewer manages, in list order: a coordinator's whole
    organisation, a caseworker's own returnees."""
    query = select(User).where(User.organisation_id == viewer.organisation_id,
                               User.deleted_at.is_(None))
    if viewer.role == Role.CASEWORKER.value:
        query = query.join(CaseworkerAssignment, CaseworkerAssignment.returnee_id == User.id).where(
            CaseworkerAssignment.caseworker_id == viewer.id,
            CaseworkerAssignment.ended_at.is_(None))
    # Each row says whether the account is activated, which reads the TOTP secret.
    return query.options(undefer(User.totp_secret)).order_by(User.role, User.display_name, User.id)


def people_page(session: Session, viewer: User, page: int | None) -> tuple[list[User], Page]:
    """One page of `people_query`, with what the pager needs."""
    people, shown = paginate(session, people_query(viewer), page, scalars=True)
    return list(people), shown


def set_language(user: User, code: str) -> None:
    """The language the person reads Footing in, on every device."""
    user.locale = code


def caseworkers(session: Session, organisation_id: int) -> list[User]:
    """The organisation's caseworkers who can take people on, by name."""
    return list(session.scalars(select(User).where(
        User.organisation_id == organisation_id,
        User.role == Role.CASEWORKER.value, User.disabled_at.is_(None),
    ).order_by(User.display_name)))


def households(session: Session, organisation_id: int) -> list[Household]:
    return list(session.scalars(select(Household).where(
        Household.organisation_id == organisation_id).order_by(Household.label)))


def current_caseworker(session: Session, returnee: User) -> User | None:
    cw_id = current_caseworker_id(session, returnee.id)
    return session.get(User, cw_id) if cw_id else None


# --- Accounts -----------------------------------------------------------------

# `household=NEW_HOUSEHOLD` in create_returnee: a household of its own, named
# after the person (the family's other adults join it later).
NEW_HOUSEHOLD: Final = "new"


def create_returnee(session: Session, *, organisation: Organisation, created_by: User | None,
                    display_name: str, locale: str | None, caseworker: User | None,
                    household: Household | Literal["new"] | None = None,
                    return_date: date | None = None) -> IssuedCode:
    if isinstance(household, str):  # NEW_HOUSEHOLD
        household = Household(organisation_id=organisation.id, label=display_name.strip()[:100])
        session.add(household)
        session.flush()
    user = User(organisation_id=organisation.id, role=Role.RETURNEE.value,
                display_name=display_name.strip(), locale=locale,
                household_id=household.id if household else None, return_date=return_date)
    session.add(user)
    session.flush()
    if caseworker is not None:
        assign_caseworker(session, user, caseworker, created_by)
    audit(session, created_by, "account.create", user, organisation.id)
    return issue_activation_code(session, user, created_by)


def create_staff(session: Session, *, organisation: Organisation, created_by: User | None,
                 display_name: str, email: str, role: Role,
                 locale: str | None = None) -> IssuedCode:
    if role is Role.RETURNEE:
        raise DomainError(_l("Choose a staff role."), field="role")
    email = email.strip().lower()
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise DomainError(_l("This e-mail address is already in use."), field="email")
    user = User(organisation_id=organisation.id, role=role.value,
                display_name=display_name.strip(), email=email, locale=locale)
    session.add(user)
    session.flush()
    audit(session, created_by, "account.create", user, organisation.id)
    return issue_activation_code(session, user, created_by)


def reissue_activation_code(session: Session, user: User, issued_by: User) -> IssuedCode:
    """A new code for a person who lost theirs (the old one stops working);
    never for a disabled account, which must not be taken into use again."""
    if user.is_disabled:
        raise DomainError(_l("This account is disabled."))
    return issue_activation_code(session, user, issued_by)


def assign_caseworker(session: Session, returnee: User, caseworker: User,
                      assigned_by: User | None) -> None:
    if (caseworker.role != Role.CASEWORKER.value
            or caseworker.organisation_id != returnee.organisation_id
            or caseworker.is_disabled):
        raise DomainError(_l("Choose a caseworker of your organisation."), field="caseworker")
    if returnee.role != Role.RETURNEE.value:
        raise DomainError(_l("Only returnees have a caseworker."))
    current = session.scalar(select(CaseworkerAssignment).where(
        CaseworkerAssignment.returnee_id == returnee.id,
        CaseworkerAssignment.ended_at.is_(None)))
    if current is not None:
        if current.caseworker_id == caseworker.id:
            return
        current.ended_at = utcnow()
        session.flush()
    session.add(CaseworkerAssignment(
        organisation_id=returnee.organisation_id, returnee_id=returnee.id,
        caseworker_id=caseworker.id, assigned_by_id=assigned_by.id if assigned_by else None))
    audit(session, assigned_by, "caseworker.assign", returnee, returnee.organisation_id)
    session.flush()


def disable_user(session: Session, user: User, disabled_by: User) -> None:
    if user.id == disabled_by.id:
        raise DomainError(_l("You cannot disable your own account."))
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    end_all_sessions(session, user, "disabled")
    now = utcnow()
    session.execute(update(DeviceBinding).where(
        DeviceBinding.user_id == user.id, DeviceBinding.revoked_at.is_(None)
    ).values(revoked_at=now))
    session.execute(update(ActivationCode).where(
        ActivationCode.user_id == user.id, ActivationCode.used_at.is_(None),
        ActivationCode.revoked_at.is_(None)).values(revoked_at=now))
    audit(session, disabled_by, "account.disable", user, user.organisation_id)
    session.flush()


# --- Reporting profile ----------------------------------------------------------

# What a funder's report breaks figures down by (keys stored, labels shown).
SEXES = {"female": _l("Female"), "male": _l("Male"), "other": _l("Another answer")}
AGE_BANDS = {"0-17": _l("Under 18"), "18-24": "18–24", "25-34": "25–34", "35-44": "35–44",
             "45-59": "45–59", "60+": _l("60 or older")}
RETURN_KINDS = {"voluntary": _l("Voluntary, on their own"),
                "assisted": _l("Assisted voluntary return"),
                "forced": _l("Forced return"), "other": _l("Other")}
HOUSEHOLD_MAX = 20
NOT_COUNTRIES = frozenset({"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"})  # CLDR groupings
PROFILE_FIELDS = ("sex", "age_band", "country", "return_kind", "household_size")


def countries(locale: Locale) -> list[tuple[str, str]]:
    """(ISO code, name in the viewer's language), by name."""
    names = locale.territories
    codes = [c for c in Locale("en").territories
             if isinstance(c, str) and len(c) == 2 and c.isalpha() and c not in NOT_COUNTRIES]
    return sorted(((c, names.get(c, c)) for c in codes), key=lambda cn: cn[1])


def reporting_profile(session: Session, returnee: User) -> ReportingProfile | None:
    return session.scalar(select(ReportingProfile).where(
        ReportingProfile.returnee_id == returnee.id))


def save_reporting_profile(session: Session, actor: User, returnee: User, *, consented: bool,
                           countries: frozenset[str] | set[str], return_date: date | None,
                           **values: object) -> ReportingProfile | None:
    """Store the details for reports, only with the person's agreement.
    Without it, nothing may be given, and the details kept so far go. The
    date of return is the account's (it also plans the follow-ups)."""
    if returnee.role != Role.RETURNEE.value:
        raise DomainError(_l("You cannot do this."))
    clean: dict[str, object] = {}
    for name in PROFILE_FIELDS:
        value = values.get(name)
        clean[name] = value if value not in ("", None) else None
    for name, allowed in (("sex", SEXES), ("age_band", AGE_BANDS),
                          ("return_kind", RETURN_KINDS), ("country", countries)):
        if clean[name] is not None and clean[name] not in allowed:
            raise DomainError(_l("Please choose one from the list."), field=name)
    size = clean["household_size"]
    if size is not None and (not isinstance(size, int) or not 1 <= size <= HOUSEHOLD_MAX):
        raise DomainError(_l("Please choose one from the list."), field="household_size")
    profile = reporting_profile(session, returnee)
    given = any(v is not None for v in clean.values())
    if not consented:
        if given:
            raise DomainError(_l("Ask the person first: without their agreement, leave these "
                                 "empty."), field="consented")
        if profile is not None:
            session.delete(profile)
        returnee.return_date = return_date
        audit(session, actor, "profile.clear", returnee, returnee.organisation_id)
        session.flush()
        return None
    if profile is None:
        profile = ReportingProfile(organisation_id=returnee.organisation_id,
                                   returnee_id=returnee.id, consented_at=utcnow())
        session.add(profile)
    for name, value in clean.items():
        setattr(profile, name, value)
    profile.updated_by_id = actor.id
    profile.updated_at = utcnow()
    returnee.return_date = return_date
    audit(session, actor, "profile.update", returnee, returnee.organisation_id)
    session.flush()
    return profile
