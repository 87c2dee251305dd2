"""The directory of local services (issue #22). URL map:

    /places/                          everyone: places by kind (?kind=, more than once)
                                      and town (?town=); readable offline
    /places/<id>                      everyone: one place: how to get there, call, medicines
    /places/<id>/feedback             POST returnee: "this place helped" / "they did not have it"
    /places/new                       staff: add a place
    /places/<id>/edit                 staff: change a place (saving is checking it)
    /places/<id>/checked              POST staff: "still right", checked today
    /places/<id>/retire               POST staff: retire a place, or bring it back
    /places/manage                    staff: every place, retired ones too
    /places/check-due                 staff: places not checked within the limit
    /places/check-due/days            POST coordinator: the limit, in days
    /places/export.csv                staff: the directory as CSV, to share
    /places/import                    coordinator: a CSV checked (dry run) or imported
"""
from __future__ import annotations

from flask import Blueprint, Response, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from htmx_flask import request  # Flask's request, typed with its .htmx

from ..bodies import takes
from ..db import db_session
from ..forms import ConfirmForm, run_form
from ..models import Role
from ..security import public_copy
from . import choices as c, service
from .forms import CheckDaysForm, FeedbackForm, ImportForm, PlaceForm
from .models import Place

bp = Blueprint("directory", __name__, url_prefix="/places")


# Other areas' pages link here without knowing the directory's kinds: the
# concern form ("I don't know where to get it"), a plan goal (micro-finance,
# training), the medicine gaps (where a medicine was found).
@bp.app_template_global()
def places_for_medicine(medicine: str = "", town: str = "") -> str:
    return url_for("directory.index", kind=list(c.FOR_MEDICINE), medicine=medicine or None,
                   town=town or None)


@bp.app_template_global()
def places_for_plan_area(area: str) -> str | None:
    kinds = c.FOR_PLAN_AREA.get(area)
    return url_for("directory.index", kind=list(kinds)) if kinds else None


@bp.app_template_global()
def place_kind(kind: str) -> str:
    """A kind's label, for pages of other areas that list places (help now)."""
    return str(c.KINDS.get(kind, kind))


# --- Everyone ---------------------------------------------------------------------

@bp.get("/")
@public_copy
def index():
    me = current_user
    session = db_session()
    kinds = [k for k in request.args.getlist("kind") if k in c.KINDS]
    town = request.args.get("town", "")[:c.TOWN_MAX]
    medicine = " ".join(request.args.get("medicine", "").split())[:c.NAME_MAX]
    towns = service.towns(session, me.organisation_id)
    if town not in towns:
        town = ""
    chosen = bool(kinds or town or medicine)
    found = service.places(session, me.organisation_id, kinds=kinds, town=town,
                           medicine=medicine) if chosen else []
    return render_template("directory/index.html", c=c, kinds=kinds, town=town, towns=towns,
                           medicine=medicine,
                           counts=service.kinds_here(session, me.organisation_id),
                           places=found, chosen=chosen)


@bp.get("/<int:place_id>")
@public_copy
def show(place_id: int):
    return _place_page(g.scoped)


def _place_page(place: Place, status: int = 200, feedback: FeedbackForm | None = None):
    return render_template(
        "directory/show.html", place=place, c=c,
        said=service.feedback_counts(db_session(), place),
        feedback=feedback or (FeedbackForm() if current_user.role == Role.RETURNEE.value
                              else None),
        confirm=ConfirmForm() if current_user.is_staff else None), status


@bp.post("/<int:place_id>/feedback")
def feedback(place_id: int):
    place: Place = g.scoped
    form = FeedbackForm()
    run = run_form(form, lambda: service.give_feedback(db_session(), current_user, place,
                                                       form.outcome.data))
    if run.done:
        flash(_l("Thank you. This helps the next person."), "info")
        return redirect(url_for("directory.show", place_id=place.id))
    return _place_page(place, run.status, form)


# --- Staff ------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
def new():
    form = PlaceForm()
    run = run_form(form, lambda: service.add_place(db_session(), current_user,
                                                   form.data_for_service()))
    if run.done:
        flash(_l("Saved."), "info")
        return redirect(url_for("directory.show", place_id=run.result.id))
    return render_template("directory/edit.html", form=form, place=None), run.status


@bp.route("/<int:place_id>/edit", methods=["GET", "POST"])
def edit(place_id: int):
    place: Place = g.scoped
    form = PlaceForm() if request.method == "POST" else PlaceForm(
        data=vars(service.data_of(place)))
    run = run_form(form, lambda: service.update_place(db_session(), current_user, place,
                                                      form.data_for_service()))
    if run.done:
        flash(_l("Saved."), "info")
        return redirect(url_for("directory.show", place_id=place.id))
    return render_template("directory/edit.html", form=form, place=place), run.status


@bp.post("/<int:place_id>/checked")
def checked(place_id: int):
    place: Place = g.scoped
    run = run_form(ConfirmForm(), lambda: service.mark_checked(db_session(), current_user, place),
                   flash_error=True)
    if run.done:
        flash(_l("Marked as checked today."), "info")
        back = "directory.check_due" if request.form.get("next") == "due" else None
        return redirect(url_for(back) if back else url_for("directory.show", place_id=place.id))
    return _place_page(place, run.status)


@bp.post("/<int:place_id>/retire")
def retire(place_id: int):
    place: Place = g.scoped
    run = run_form(ConfirmForm(), lambda: service.retire(db_session(), current_user, place),
                   flash_error=True)
    if run.done:
        flash(_l("Returnees no longer see this place.") if place.retired_at
              else _l("Returnees see this place again."), "info")
        return redirect(url_for("directory.show", place_id=place.id))
    return _place_page(place, run.status)


@bp.get("/manage")
def manage():
    session = db_session()
    org_id = current_user.organisation_id
    return render_template("directory/manage.html", c=c,
                           places=service.places(session, org_id),
                           retired=service.places(session, org_id, retired=True))


def _check_due_page(form: CheckDaysForm | None = None, status: int = 200):
    org = current_user.organisation
    if form is None:
        form = CheckDaysForm(data={"days": str(org.directory_check_days)})
    return render_template("directory/check_due.html", c=c, form=form, confirm=ConfirmForm(),
                           places=service.check_due(db_session(), org),
                           may_set=current_user.role == Role.COORDINATOR.value), status


@bp.get("/check-due")
def check_due():
    return _check_due_page()


@bp.post("/check-due/days")
def check_days():
    form = CheckDaysForm()
    run = run_form(form, lambda: service.set_check_days(db_session(), current_user, form.number))
    if run.done:
        flash(_l("Saved."), "info")
        return redirect(url_for("directory.check_due"))
    return _check_due_page(form, run.status)


@bp.get("/export.csv")
def export():
    body = service.export_csv(db_session(), current_user.organisation_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": "attachment; filename=footing-places.csv"})


@bp.route("/import", methods=["GET", "POST"])
@takes("multipart/form-data")
def import_csv():
    form = ImportForm()
    upload = form.file.data if request.method == "POST" else None
    # A file, or text where a file should be (a tampered form): nothing to read.
    raw: bytes = upload.read() if upload is not None and hasattr(upload, "read") else b""
    run = run_form(form, lambda: service.import_csv(
        db_session(), current_user, raw, dry_run=form.mode.data != "import"))
    result = run.result if run.done else None
    if result is not None and result.done:
        flash(_l("Imported: %(added)d new, %(updated)d changed.",
                 added=result.added, updated=result.updated), "info")
        return redirect(url_for("directory.manage"))
    status = run.status if not run.done else (400 if result and result.errors else 200)
    return render_template("directory/import.html", form=form, result=result,
                           columns=service.COLUMNS), status
