"""The risk check before and after return (issue #22). URL map:

    /risk/of/<user_id>     GET caseworker, coordinator: the person's risk checks over
                           time, next to their reintegration scores (ledger);
                           POST caseworker: a new check, made with the person
"""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..db import db_session
from ..forms import run_form
from ..models import Role, User
from ..monitoring import service as monitoring
from . import instrument as ri, service
from .forms import RiskForm, answers_of, risk_form

bp = Blueprint("risk", __name__, url_prefix="/risk")


def _page(person: User, form: RiskForm, status: int = 200):
    session = db_session()
    return render_template("risk/of.html", person=person, form=form,
                           may_record=current_user.role == Role.CASEWORKER.value,
                           instrument=ri.current(), areas=ri.AREAS, levels=ri.LEVELS,
                           phases=service.PHASES, checks=service.checks_of(session, person),
                           scores=monitoring.checks_of(session, person)), status


@bp.app_template_global()
def risk_check_summary(check) -> dict:
    """A risk check in a line, for the person's timeline (monitoring): its
    phase and the areas with some or high risk, highest first."""
    raised = sorted(((key, level) for key, level in check.levels.items()
                     if level and key in ri.AREAS), key=lambda kl: -kl[1])
    return {"phase": service.PHASES.get(check.phase, check.phase), "low": ri.LEVELS[0],
            "raised": [(ri.AREAS[key], ri.LEVELS.get(level, level), level)
                       for key, level in raised]}


@bp.get("/of/<int:user_id>")
def of(user_id: int):
    return _page(g.scoped, risk_form())


@bp.post("/of/<int:user_id>")
def record(user_id: int):
    person: User = g.scoped
    form = risk_form()
    run = run_form(form, lambda: service.record(db_session(), current_user, person,
                                                form.phase.data, answers_of(form)))
    if run.done:
        flash(_l("Risk check saved."), "info")
        return redirect(url_for("risk.of", user_id=person.id))
    return _page(person, form, run.status)
