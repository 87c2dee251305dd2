"""Demo data: a partner organisation in Freetown with one account in each role.

Used by `flask seed-demo` and the browser tests. Refuses production.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pyotp
from sqlalchemy import select
from sqlalchemy.orm import Session

from .alerts import service as alerts, signals
from .auth import service as auth_service
from .directory import service as directory
from .models import Household, Organisation, Role, User
from .monitoring import service as monitoring
from .network import service as network
from .network.models import RECEIVING, SENDING
from .passwords import hash_secret
from .people import service as people
from .plan import service as plan
from .safety import service as safety
from .voice import service as voice

DEMO_ORG = "Footing demo partner, Freetown"
# Issue #21: the organisation that counsels people before they leave, related
# to the demo partner (it may hand people over to it).
DEMO_SENDING = "Footing demo counselling, Utrecht"


@dataclass
class DemoAccount:
    role: str
    name: str
    email: str | None = None
    password: str | None = None
    totp_secret: str | None = None
    activation_code: str | None = None
    user_id: int = 0


@dataclass
class DemoData:
    organisation: str
    accounts: list[DemoAccount] = field(default_factory=list)
    sending_organisation: str = DEMO_SENDING
    sending_accounts: list[DemoAccount] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"organisation": self.organisation,
                "accounts": [asdict(a) for a in self.accounts],
                "sending_organisation": self.sending_organisation,
                "sending_accounts": [asdict(a) for a in self.sending_accounts]}


def _staff(session: Session, org: Organisation, role: Role, name: str, email: str,
           password: str) -> DemoAccount:
    secret = pyotp.random_base32()
    user = User(organisation_id=org.id, role=role.value, display_name=name, email=email,
                password_hash=hash_secret(password), totp_secret=secret, locale="en")
    session.add(user)
    session.flush()
    return DemoAccount(role=role.value, name=name, email=email, password=password,
                       totp_secret=secret, user_id=user.id)


def seed_demo(session: Session, *, password: str = "footing-demo-2026") -> DemoData:
    """Create the demo organisation, or, when it exists, list its accounts again
    with fresh activation codes for returnees who have not activated yet."""
    existing = session.scalar(select(Organisation).where(Organisation.name == DEMO_ORG))
    if existing is not None:
        return _describe(session, existing, password)
    # Every language (empty), so that each can be tried with new accounts and
    # groups; a partner in Freetown would choose English and Krio.
    org = Organisation(name=DEMO_ORG, country="SL", timezone="Africa/Freetown",
                       emergency_phone="+232 76 000 000", languages=[], currency="SLE")
    session.add(org)
    session.flush()
    data = DemoData(organisation=org.name)
    coordinator = _staff(session, org, Role.COORDINATOR, "Aminata Kamara",
                         "coordinator@footing-demo.example.org", password)
    cw1 = _staff(session, org, Role.CASEWORKER, "Mohamed Sesay",
                 "caseworker1@footing-demo.example.org", password)
    cw2 = _staff(session, org, Role.CASEWORKER, "Fatmata Conteh",
                 "caseworker2@footing-demo.example.org", password)
    fac = _staff(session, org, Role.FACILITATOR, "Ibrahim Bangura",
                 "facilitator@footing-demo.example.org", password)
    data.accounts += [coordinator, cw1, cw2, fac]
    coord_user = session.get(User, coordinator.user_id)
    household = Household(organisation_id=org.id, label="Koroma family")
    session.add(household)
    session.flush()
    returnees = [
        ("Abdul", cw1, household, "en", 40),
        ("Mariama", cw1, household, "en", 40),
        ("Sahr", cw1, None, "nl", 120),
        ("Hawa", cw2, None, "en", 200),
        ("Farid", cw2, None, "fa_AF", 20),
    ]
    for name, cw, hh, locale, days_ago in returnees:
        issued = people.create_returnee(
            session, organisation=org, created_by=coord_user, display_name=name, locale=locale,
            caseworker=session.get(User, cw.user_id), household=hh,
            return_date=date.today() - timedelta(days=days_ago))
        data.accounts.append(DemoAccount(role="returnee", name=name,
                                         activation_code=issued.code, user_id=issued.user.id))
    session.flush()

    monitoring.schedule_all(session)
    _voice_clips(session, org)
    _sample_alert(session, data)
    _places_and_safety_plan(session, data)
    _sending(session, org, data, password)
    return data


DEMO_CLIPS = Path(__file__).parent / "voice" / "demo_clips"


def _voice_clips(session: Session, org: Organisation) -> None:
    """A few key phrases "recorded" by a computer voice (espeak-ng, made by
    scripts/make_voice_clips.py), so that the speaker buttons can be tried and
    tested. For the demo and the tests only: the recording page says so, and
    a partner records its own."""
    for clip in sorted(DEMO_CLIPS.glob("*/*.ogg")):
        voice.save(session, None, clip.parent.name, clip.stem, clip.read_bytes(),
                   organisation_id=org.id)


def _sending(session: Session, receiver: Organisation, data: DemoData, password: str) -> None:
    """A counselling organisation in the Netherlands with a counsellor and a
    person preparing their return, who started the plan with her."""
    sender = Organisation(name=DEMO_SENDING, country="NL", timezone="Europe/Amsterdam",
                          emergency_phone="+31 20 000 0000", languages=[], currency="EUR")
    session.add(sender)
    session.flush()
    network.set_kind(session, sender, SENDING)
    network.set_kind(session, receiver, RECEIVING)
    network.relate(session, sender, receiver)
    counsellor = _staff(session, sender, Role.CASEWORKER, "Sanne de Vries",
                        "counsellor@footing-demo.example.org", password)
    data.sending_accounts.append(counsellor)
    counsellor_user = session.get_one(User, counsellor.user_id)
    issued = people.create_returnee(
        session, organisation=sender, created_by=counsellor_user, display_name="Ousman",
        locale="en", caseworker=counsellor_user, return_date=date.today() + timedelta(days=30))
    plan.add_goal(session, issued.user, issued.user, area="work",
                  title="Open a tailoring workshop")
    data.sending_accounts.append(DemoAccount(role="returnee", name="Ousman",
                                             activation_code=issued.code,
                                             user_id=issued.user.id))


# Issue #22: a handful of places in the demo partner's directory, each marked
# as demo data in its name and in "who may use it" (the numbers are made up:
# nobody should call them).
DEMO_MARK = "Demo entry, not a real place."
DEMO_PLACES = [
    dict(kind="clinic", name="Wellington health centre (demo)", town="Freetown",
         address="14 Main Motor Road, Wellington", hours="Monday to Friday 8:00-16:00",
         directions="Next to the primary school, white building with a green gate",
         latitude="8.4520", longitude="-13.1930", phone="+232 76 000 101", cost="free",
         languages="Krio, English, Temne"),
    dict(kind="pharmacy", name="Kissy Road pharmacy (demo)", town="Freetown",
         address="88 Kissy Road", hours="Every day 8:00-21:00", phone="+232 76 000 102",
         directions="Opposite the petrol station", cost="fee", languages="Krio, English",
         medicines="Metformin\nInsulin\nAmoxicillin\nParacetamol\nSertraline"),
    dict(kind="emergency", name="Police and ambulance line (demo)", town="Freetown",
         hours="Day and night", phone="+232 76 000 103", cost="free",
         languages="Krio, English"),
    dict(kind="womens_shelter", name="Safe house for women (demo)", town="Freetown",
         hours="Day and night", phone="+232 76 000 104", cost="free",
         directions="Call first: the address is given on the phone",
         languages="Krio, English, Mende", who="Women and their children. " + DEMO_MARK),
    dict(kind="legal_aid", name="Free legal advice desk (demo)", town="Bo",
         address="3 Bojon Street", hours="Tuesday and Thursday 9:00-13:00",
         phone="+232 76 000 105", cost="free", languages="Krio, English, Mende"),
    dict(kind="micro_finance", name="Small business loans (demo)", town="Bo",
         address="21 Dambara Road", hours="Monday to Friday 9:00-15:00",
         phone="+232 76 000 106", cost="free", languages="Krio, English",
         who="People starting a small business. " + DEMO_MARK),
]


def _places_and_safety_plan(session: Session, data: DemoData) -> None:
    """The demo directory, added by the first caseworker, and a safety plan
    Abdul made with him that keeps the police and the safe house numbers."""
    cw = session.get_one(User, next(a for a in data.accounts if a.role == "caseworker").user_id)
    added = [directory.add_place(session, cw, directory.PlaceData(
        **{"who": DEMO_MARK, **place})) for place in DEMO_PLACES]
    abdul = session.get_one(User, next(a for a in data.accounts if a.name == "Abdul").user_id)
    safety.save(session, cw, abdul, safety.PlanText(
        warning_signs="People from the old neighbourhood ask where I live.",
        contacts="My brother Sorie; my caseworker Mohamed.",
        safe_places="My aunt's house in Wellington.",
        what_to_do="Leave, go to my aunt, call Mohamed or the police line."),
        [str(p.id) for p in added if p.kind in ("emergency", "womens_shelter")])


def _sample_alert(session: Session, data: DemoData) -> None:
    """One open alert in the first caseworker's inbox, as if Sahr had checked
    in twice with a low mood."""
    sahr = next(a for a in data.accounts if a.name == "Sahr")
    signals.emit(session, returnee=session.get_one(User, sahr.user_id), kind="checkin.low_mood")
    alerts.route_pending(session)


def _describe(session: Session, org: Organisation, password: str) -> DemoData:
    data = DemoData(organisation=org.name)
    data.accounts = _accounts(session, org, password)
    sender = session.scalar(select(Organisation).where(Organisation.name == DEMO_SENDING))
    if sender is not None:
        data.sending_accounts = _accounts(session, sender, password)
    return data


def _accounts(session: Session, org: Organisation, password: str) -> list[DemoAccount]:
    accounts = []
    users = session.scalars(select(User).where(User.organisation_id == org.id)
                            .order_by(User.id)).all()
    for user in users:
        if user.is_staff:
            accounts.append(DemoAccount(role=user.role, name=user.display_name,
                                        email=user.email, password=password,
                                        totp_secret=user.totp_secret, user_id=user.id))
        else:
            code = None
            if not user.is_activated and not user.is_disabled:
                code = auth_service.issue_activation_code(session, user, None).code
            accounts.append(DemoAccount(role=user.role, name=user.display_name,
                                        activation_code=code, user_id=user.id))
    return accounts


def add_demo_returnee(session: Session, name: str, *, caseworker_email: str | None = None,
                      locale: str = "en") -> DemoAccount:
    """One more returnee in the demo organisation, with a fresh activation code
    (tests and demos that need more people than the seed has)."""
    org = session.scalar(select(Organisation).where(Organisation.name == DEMO_ORG))
    if org is None:
        raise RuntimeError("no demo organisation: run seed-demo first")
    query = select(User).where(User.organisation_id == org.id,
                               User.role == Role.CASEWORKER.value).order_by(User.id)
    if caseworker_email:
        query = query.where(User.email == caseworker_email)
    caseworker = session.scalars(query).first()
    if caseworker is None:
        raise RuntimeError("no such caseworker in the demo organisation")
    issued = people.create_returnee(session, organisation=org, created_by=None,
                                          display_name=name, locale=locale,
                                          caseworker=caseworker,
                                          return_date=date.today() - timedelta(days=30))
    return DemoAccount(role="returnee", name=name, activation_code=issued.code,
                       user_id=issued.user.id)
