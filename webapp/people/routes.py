"""Accounts of an organisation. URL map:

    /people/                        list (coordinator: all; caseworker: assigned)
    /people/new/returnee            create a returnee + activation code
    /people/new/staff               create a staff account + activation code
    /people/<id>                    one person
    /people/<id>/profile            a returnee's details for reports (consented)
    /people/<id>/activation         POST: a new code (the old one stops working)
    /people/<id>/assign             POST: set the caseworker
    /people/<id>/disable            POST: disable the account
    /people/<id>/delete             POST: delete a returnee's account they asked to delete
"""
from __future__ import annotations

import logging

import segno
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_babel import get_locale, lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup

from .. import outbox
from ..auth.service import IssuedCode
from ..db import db_session
from ..forms import ConfirmForm, int_arg, run_form, text_of
from ..i18n import organisation_choices
from ..models import Role, User
from ..monitoring import service as monitoring
from ..privacy import service as privacy
from ..privacy.forms import DeletionConfirmForm
from . import service
from .forms import AssignForm, NewReturneeForm, NewStaffForm, ReportingProfileForm

bp = Blueprint("people", __name__, url_prefix="/people")

log = logging.getLogger(__name__)

ROLE_LABELS = {
    "returnee": _l("Returnee"),
    "facilitator": _l("Facilitator"),
    "caseworker": _l("Caseworker"),
    "coordinator": _l("Coordinator"),
}


def _activation_sheet(issued: IssuedCode):
    """The printable code and QR, as the answer to the POST that made it.

    The code is shown this once and never stored in clear: not in a URL, a
    cookie or a log. The QR holds the code in the URL fragment, which browsers
    do not send to the server."""
    activate_url = url_for("auth.activate", _external=True) + "#code=" + issued.code
    qr = Markup(segno.make(activate_url, error="m").svg_inline(
        scale=4, omitsize=True, title=str(_l("QR code to activate Footing"))))
    return render_template("people/activation_sheet.html", person=issued.user,
                           code=issued.code, expires_at=issued.expires_at, qr=qr)


def _show(person: User, status: int = 200, delete_form: DeletionConfirmForm | None = None):
    caseworker = service.current_caseworker(db_session(), person)
    assign = AssignForm()
    assign.caseworker.choices = [(c.id, c.display_name) for c in service.caseworkers(
        db_session(), current_user.organisation_id)]
    if caseworker is not None:
        assign.caseworker.data = caseworker.id
    profile = (service.reporting_profile(db_session(), person)
               if person.role == Role.RETURNEE.value else None)
    return render_template("people/show.html", person=person, caseworker=caseworker,
                           assign=assign, confirm=ConfirmForm(), profile=profile,
                           profile_labels=_profile_labels(),
                           delete=delete_form or DeletionConfirmForm(formdata=None),
                           role_labels=ROLE_LABELS), status


@bp.get("/")
def index():
    people, shown = service.people_page(db_session(), current_user, int_arg("page"))
    return render_template("people/index.html", people=people, shown=shown,
                           role_labels=ROLE_LABELS)


@bp.route("/new/returnee", methods=["GET", "POST"])
def new_returnee():
    me: User = current_user
    form = NewReturneeForm()
    form.locale.choices = organisation_choices(me.organisation)
    caseworkers = ({c.id: c for c in service.caseworkers(db_session(), me.organisation_id)}
                   if me.role == Role.COORDINATOR.value else {me.id: me})
    form.caseworker.choices = [(c.id, c.display_name) for c in caseworkers.values()]
    households = {h.id: h for h in service.households(db_session(), me.organisation_id)}
    form.household.choices = ([(0, _l("No household")), (-1, _l("A new household"))]
                              + [(h.id, h.label) for h in households.values()])

    def create():
        issued = service.create_returnee(
            db_session(), organisation=me.organisation, created_by=me,
            display_name=text_of(form.display_name), locale=form.locale.data,
            caseworker=caseworkers[form.caseworker.data],
            household=(service.NEW_HOUSEHOLD if form.household.data == -1
                       else households.get(form.household.data)),
            return_date=form.return_date.data)
        # The follow-ups after return are scheduled at once (the caseload shows
        # the next one from the start).
        monitoring.schedule_all(db_session(), returnee_id=issued.user.id)
        return issued

    run = run_form(form, create)
    if run.done:
        return _activation_sheet(run.result)
    return render_template("people/new_returnee.html", form=form), run.status


@bp.route("/new/staff", methods=["GET", "POST"])
def new_staff():
    me: User = current_user
    form = NewStaffForm()
    form.role.choices = [(r, ROLE_LABELS[r]) for r in ("caseworker", "facilitator", "coordinator")]
    form.locale.choices = organisation_choices(me.organisation)
    run = run_form(form, lambda: service.create_staff(
        db_session(), organisation=me.organisation, created_by=me,
        display_name=text_of(form.display_name), email=text_of(form.email),
        role=Role(form.role.data), locale=form.locale.data))
    if run.done:
        return _activation_sheet(run.result)
    return render_template("people/new_staff.html", form=form), run.status


@bp.get("/<int:user_id>")
def show(user_id: int):
    return _show(g.scoped)


def _profile_labels() -> dict:
    return {"sex": service.SEXES, "age_band": service.AGE_BANDS,
            "return_kind": service.RETURN_KINDS,
            "country": dict(service.countries(get_locale()))}


@bp.route("/<int:user_id>/profile", methods=["GET", "POST"])
def profile(user_id: int):
    person: User = g.scoped
    if person.role != Role.RETURNEE.value:
        abort(404)
    session = db_session()
    current = service.reporting_profile(session, person)
    form = ReportingProfileForm(obj=current, consented=current is not None,
                                return_date=person.return_date)
    choose = [("", _l("Not given"))]
    countries = service.countries(get_locale())
    form.sex.choices = choose + list(service.SEXES.items())
    form.age_band.choices = choose + list(service.AGE_BANDS.items())
    form.country.choices = choose + countries
    form.return_kind.choices = choose + list(service.RETURN_KINDS.items())
    form.household_size.choices = choose + [(n, str(n))
                                            for n in range(1, service.HOUSEHOLD_MAX + 1)]
    run = run_form(form, lambda: service.save_reporting_profile(
        session, current_user, person, consented=bool(form.consented.data),
        countries={c for c, _n in countries}, return_date=form.return_date.data,
        **{name: getattr(form, name).data for name in service.PROFILE_FIELDS}))
    if run.done:
        # A changed date of return plans the follow-ups from it.
        monitoring.schedule_all(session, returnee_id=person.id)
        flash(_l("Saved."), "info")
        return redirect(url_for("people.show", user_id=person.id))
    return render_template("people/profile.html", person=person, form=form), run.status


@bp.post("/<int:user_id>/activation")
def reissue(user_id: int):
    person: User = g.scoped
    run = run_form(ConfirmForm(), lambda: service.reissue_activation_code(
        db_session(), person, current_user), flash_error=True)
    if run.done:
        return _activation_sheet(run.result)
    return _show(person, run.status)


@bp.post("/<int:user_id>/assign")
def assign(user_id: int):
    person: User = g.scoped
    form = AssignForm()
    caseworkers = {c.id: c for c in service.caseworkers(db_session(), current_user.organisation_id)}
    form.caseworker.choices = [(c.id, c.display_name) for c in caseworkers.values()]
    run = run_form(form, lambda: service.assign_caseworker(
        db_session(), person, caseworkers[form.caseworker.data], current_user), flash_error=True)
    if run.done:
        flash(_l("Caseworker changed."), "info")
        return redirect(url_for("people.show", user_id=person.id))
    if run.invalid:
        flash(_l("Please choose a caseworker from the list."), "error")
    return _show(person, run.status)


@bp.post("/<int:user_id>/disable")
def disable(user_id: int):
    person: User = g.scoped
    run = run_form(ConfirmForm(), lambda: service.disable_user(db_session(), person, current_user),
                   flash_error=True)
    if not run.done:
        return _show(person, run.status)
    flash(_l("The account is disabled. All its sessions have ended."), "info")
    return redirect(url_for("people.show", user_id=person.id))


@bp.post("/<int:user_id>/delete")
def delete_account(user_id: int):
    person: User = g.scoped
    form = DeletionConfirmForm()
    run = run_form(form, lambda: privacy.delete_account(db_session(), current_user, person),
                   flash_error=True)
    if not run.done:
        return _show(person, run.status, form if run.invalid else None)
    outbox.log_after_commit(log, "account.delete user=%s by=%s", user_id, current_user.id)
    flash(_l("The account and everything in it is deleted."), "info")
    return redirect(url_for("people.index"))
