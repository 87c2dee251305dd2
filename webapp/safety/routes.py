"""The safety plan made together (issue #22). URL map:

    /safety/                       returnee: my safety plan, readable offline (a personal copy)
    /safety/edit                   returnee: change it (a new version)
    /safety/use                    POST returnee: "I need to use it": the caseworker is alerted
                                   (once per client_uuid: queued offline, sent once online)
    /safety/of/<user_id>           caseworker, coordinator: a returnee's plan (ledger)
    /safety/of/<user_id>/edit      caseworker: change it with the person (a new version)
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from htmx_flask import request  # Flask's request, typed with its .htmx

from ..db import db_session
from ..forms import run_form, values_of
from ..models import Role, User
from ..security import offline_copy
from . import service
from .forms import PlanForm, UseForm

bp = Blueprint("safety", __name__, url_prefix="/safety")


def _plan_page(person: User):
    session = db_session()
    plan = service.current(session, person)
    return render_template("safety/plan.html", person=person, plan=plan,
                           places=service.places_of(session, plan),
                           places_from=service.chosen_elsewhere(session, person, plan),
                           versions=service.versions(session, person),
                           is_owner=current_user.id == person.id,
                           may_edit=current_user.id == person.id
                           or current_user.role == Role.CASEWORKER.value,
                           use_form=UseForm())


def _edit(person: User, done_url: str):
    session = db_session()
    plan = service.current(session, person)
    if request.method == "POST":
        form = PlanForm()
    else:
        form = PlanForm(data={**({name: getattr(plan, name) for name in
                                  service.PlanText.__dataclass_fields__} if plan else {}),
                              "places": [str(i) for i in (plan.place_ids if plan else [])]})
    form.places.choices = [(str(p.id), f"{p.name} ({p.phone})")
                           for p in service.emergency_places(session, person.organisation_id)]
    run = run_form(form, lambda: service.save(session, current_user, person, form.text(),
                                              values_of(form.places)))
    if run.done:
        flash(_l("Saved. This is version %(num)d.", num=run.result.version) if run.result
              else _l("Nothing changed."), "info")
        return redirect(done_url)
    return render_template("safety/edit.html", form=form, person=person, plan=plan,
                           is_owner=current_user.id == person.id), run.status


@bp.get("/")
@offline_copy
def mine():
    return _plan_page(current_user._get_current_object())


@bp.route("/edit", methods=["GET", "POST"])
def edit_mine():
    return _edit(current_user._get_current_object(), url_for("safety.mine"))


@bp.post("/use")
def use():
    form = UseForm()
    run = run_form(form, lambda: service.need_to_use(db_session(), current_user,
                                                     form.client_uuid.data), flash_error=True)
    if run.done:
        flash(_l("Your caseworker was told. Do what your plan says, and call if you are in "
                 "danger."), "info")
    return redirect(url_for("safety.mine"))


@bp.get("/of/<int:user_id>")
def of(user_id: int):
    return _plan_page(g.scoped)


@bp.route("/of/<int:user_id>/edit", methods=["GET", "POST"])
def edit_of(user_id: int):
    person: User = g.scoped
    return _edit(person, url_for("safety.of", user_id=person.id))
