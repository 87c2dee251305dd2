"""The future plan (issue #3). URL map:

    /plan/                           my plan (returnee; readable offline)
    /plan/print                      my plan on paper
    /plan/goals/new                  pick a starter goal or write one (returnee)
    /plan/goals/<id>                 one goal: status, steps, budget, thread
    /plan/goals/<id>/edit            details, support needed, budget
    /plan/goals/<id>/status          POST (htmx: the status block)
    /plan/goals/<id>/steps           POST add a step (htmx: the steps)
    /plan/goals/<id>/comments        POST a message in the goal's thread
    /plan/goals/<id>/answer          POST accept or decline a suggestion (returnee)
    /plan/goals/<id>/in-plan         POST take the goal out of the plan, or put it back
    /plan/steps/<id>/tick            POST done / not done (htmx: the steps)
    /plan/steps/<id>/remove          POST take the step out (htmx: the steps)
    /plan/of/<user_id>               a returnee's plan (caseworker, coordinator)
    /plan/of/<user_id>/print         the same on paper
    /plan/of/<user_id>/suggest       suggest a goal (caseworker, coordinator)

An htmx request to a POST route gets the partial it replaces; without
JavaScript the same route redirects to the full page. An htmx request with bad
input gets the message flashed and a full-page reload (htmx does not swap 4xx).
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from htmx_flask import request  # Flask's request, typed with its .htmx

from ..db import db_session
from ..errors import DomainError, render_error
from ..forms import ConfirmForm, run_form
from ..i18n import format_currency
from ..models import User
from ..network import service as network
from ..security import offline_copy
from . import service
from .catalog import AREAS, STATUSES, starters_of
from .forms import (
    AnswerForm,
    CommentForm,
    GoalForm,
    InPlanForm,
    NewGoalForm,
    StatusForm,
    StepForm,
    TickForm,
    suggest_form,
)
from .models import Goal, Step

bp = Blueprint("plan", __name__, url_prefix="/plan")


def _plan_url(owner: User) -> str:
    if current_user.id == owner.id:
        return url_for("plan.mine")
    return url_for("plan.of", user_id=owner.id)


def _render_plan(owner: User, template: str):
    plan = service.load_plan(db_session(), owner)
    today = datetime.now(ZoneInfo(owner.organisation.timezone)).date()
    return render_template(template, plan=plan, owner=owner, areas=AREAS, statuses=STATUSES,
                           now_date=today, is_owner=current_user.id == owner.id,
                           can_edit=service.may_edit(db_session(), current_user, owner),
                           plan_url=_plan_url(owner),
                           before_return=network.made_before_return(db_session(), owner))


@bp.get("/")
@offline_copy
def mine():
    return _render_plan(current_user, "plan/plan.html")


@bp.get("/print")
@offline_copy
def print_mine():
    return _render_plan(current_user, "plan/print.html")


@bp.get("/of/<int:user_id>")
def of(user_id: int):
    return _render_plan(g.scoped, "plan/plan.html")


@bp.get("/of/<int:user_id>/print")
def print_of(user_id: int):
    return _render_plan(g.scoped, "plan/print.html")


# --- Adding goals ---------------------------------------------------------------------

@bp.route("/goals/new", methods=["GET", "POST"])
def new_goal():
    form = NewGoalForm(area=request.args.get("area"))
    run = run_form(form, lambda: service.add_goal(
        db_session(), current_user, current_user, area=form.area.data,
        starter_key=form.starter.data or None, title=form.title.data))
    if run.done:
        flash(_l("Goal added. Now add the first steps."), "info")
        return redirect(url_for("plan.goal", goal_id=run.result.id))
    return _new_goal_page(form, run.status)


def _new_goal_page(form: NewGoalForm, status: int = 200):
    area = form.area.data if form.area.data in AREAS else None
    return render_template("plan/new_goal.html", form=form, area=area, areas=AREAS,
                           starters=starters_of(area) if area else []), status


@bp.route("/of/<int:user_id>/suggest", methods=["GET", "POST"])
def suggest(user_id: int):
    owner: User = g.scoped
    form = suggest_form()
    run = run_form(form, lambda: service.suggest_goal(
        db_session(), current_user, owner, area=form.area.data,
        starter_key=form.starter.data or None, title=form.title.data, why=form.why.data or ""))
    if run.done:
        flash(_l("Your suggestion was sent. The person decides."), "info")
        return redirect(url_for("plan.of", user_id=owner.id))
    return render_template("plan/suggest.html", form=form, owner=owner), run.status


@bp.post("/goals/<int:goal_id>/answer")
def answer(goal_id: int):
    goal: Goal = g.scoped
    form = AnswerForm()
    run = run_form(form, lambda: service.answer_suggestion(
        db_session(), current_user, goal, accept=form.answer.data == "accept"))
    if run.error:
        return _domain_error(run.error, url_for("plan.mine"))
    if not run.done:
        abort(400)
    if form.answer.data == "accept":
        flash(_l("The goal is now in your plan."), "info")
        return redirect(url_for("plan.goal", goal_id=goal.id))
    flash(_l("You said no to this suggestion."), "info")
    return redirect(url_for("plan.mine"))


# --- One goal --------------------------------------------------------------------------

def _goal_context(goal: Goal, **forms) -> dict:
    session = db_session()
    owner = goal.returnee
    can_edit = service.may_edit(session, current_user, owner)
    context = dict(goal=goal, owner=owner, title=service.goal_title(goal), statuses=STATUSES,
                   areas=AREAS, can_edit=can_edit and goal.state == "active", may_change=can_edit,
                   is_owner=current_user.id == owner.id, plan_url=_plan_url(owner),
                   step_form=StepForm(formdata=None), comment_form=CommentForm(formdata=None),
                   status_form=None)
    context.update(forms)
    return context


def _goal_page(goal: Goal, status: int = 200, **forms):
    context = _goal_context(goal, **forms)
    context["comments"] = service.comments_of(db_session(), goal)
    return render_template("plan/goal.html", **context), status


@bp.get("/goals/<int:goal_id>")
@offline_copy
def goal(goal_id: int):
    return _goal_page(g.scoped)


@bp.route("/goals/<int:goal_id>/edit", methods=["GET", "POST"])
def edit_goal(goal_id: int):
    goal_: Goal = g.scoped
    if not service.may_edit(db_session(), current_user, goal_.returnee) or goal_.state != "active":
        abort(403)
    form = GoalForm(obj=goal_) if request.method == "GET" else GoalForm()
    if request.method == "GET":
        form.title.data = service.goal_title(goal_)
    business = goal_.area == "business"
    run = run_form(form, lambda: service.update_goal(
        db_session(), current_user, goal_, title=form.title.data, why=form.why.data or "",
        target_date=form.target_date.data, support_needed=form.support_needed.data,
        budget={name: getattr(form, name).data for name in service.BUDGET_FIELDS}
        if business else None))
    if run.done:
        flash(_l("Saved."), "info")
        return redirect(url_for("plan.goal", goal_id=goal_.id))
    return render_template("plan/edit_goal.html", form=form, goal=goal_, business=business,
                           title=service.goal_title(goal_)), run.status


@bp.post("/goals/<int:goal_id>/status")
def set_status(goal_id: int):
    goal_: Goal = g.scoped
    form = StatusForm()
    run = run_form(form, lambda: service.set_status(db_session(), current_user, goal_,
                                                    form.status.data))
    if run.error:
        return _domain_error(run.error, url_for("plan.goal", goal_id=goal_.id))
    if not run.done:
        return _invalid(goal_, form, status_form=form)
    if request.htmx:
        return render_template("plan/_status.html", **_goal_context(goal_))
    return redirect(url_for("plan.goal", goal_id=goal_.id))


@bp.post("/goals/<int:goal_id>/steps")
def add_step(goal_id: int):
    goal_: Goal = g.scoped
    form = StepForm()
    run = run_form(form, lambda: service.add_step(
        db_session(), current_user, goal_, text=form.text.data,
        target_date=form.target_date.data, support_needed=form.support_needed.data))
    if run.error:
        return _domain_error(run.error, url_for("plan.goal", goal_id=goal_.id))
    if not run.done:
        return _invalid(goal_, form, step_form=form)
    if request.htmx:
        return render_template("plan/_steps.html", **_goal_context(goal_))
    return redirect(url_for("plan.goal", goal_id=goal_.id) + "#steps")


@bp.post("/steps/<int:step_id>/tick")
def tick_step(step_id: int):
    step: Step = g.scoped
    form = TickForm()
    run = run_form(form, lambda: service.set_step_done(db_session(), current_user, step,
                                                       form.done.data == "1"))
    if run.error:
        return _domain_error(run.error, url_for("plan.goal", goal_id=step.goal_id))
    if not run.done:
        abort(400)
    if request.htmx:
        return render_template("plan/_steps.html", **_goal_context(step.goal))
    return redirect(url_for("plan.goal", goal_id=step.goal_id) + "#steps")


@bp.post("/goals/<int:goal_id>/in-plan")
def in_plan(goal_id: int):
    goal_: Goal = g.scoped
    form = InPlanForm()
    run = run_form(form, lambda: service.set_in_plan(db_session(), current_user, goal_,
                                                     form.in_plan.data == "1"))
    if run.error:
        return _domain_error(run.error, url_for("plan.goal", goal_id=goal_.id))
    if not run.done:
        abort(400)
    if form.in_plan.data == "1":
        flash(_l("The goal is in the plan again."), "info")
        return redirect(url_for("plan.goal", goal_id=goal_.id))
    flash(_l("The goal is taken out of the plan. You find it at the end of the plan."), "info")
    return redirect(_plan_url(goal_.returnee))


@bp.post("/steps/<int:step_id>/remove")
def remove_step(step_id: int):
    step: Step = g.scoped
    goal_ = step.goal
    run = run_form(ConfirmForm(), lambda: service.remove_step(db_session(), current_user, step))
    if run.error:
        return _domain_error(run.error, url_for("plan.goal", goal_id=goal_.id))
    if not run.done:
        abort(400)
    if request.htmx:
        return render_template("plan/_steps.html", **_goal_context(goal_))
    flash(_l("The step is taken out."), "info")
    return redirect(url_for("plan.goal", goal_id=goal_.id) + "#steps")


@bp.post("/goals/<int:goal_id>/comments")
def comment(goal_id: int):
    goal_: Goal = g.scoped
    form = CommentForm()
    run = run_form(form, lambda: service.add_comment(db_session(), current_user, goal_,
                                                     form.body.data))
    if run.done:
        flash(_l("Message sent."), "info")
        return redirect(url_for("plan.goal", goal_id=goal_.id) + "#thread")
    return _goal_page(goal_, run.status, comment_form=form)


# --- Errors ------------------------------------------------------------------------------

def _invalid(goal: Goal, form, **forms):
    """Bad input: the full page with inline errors and 400; htmx cannot swap a
    4xx answer, so an htmx request is sent to that page with the message."""
    if request.htmx:
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return "", 400, {"HX-Redirect": url_for("plan.goal", goal_id=goal.id)}
    return _goal_page(goal, 400, **forms)


def _domain_error(err: DomainError, back: str):
    if request.htmx:
        flash(err.message, "error")
        return "", err.status, {"HX-Redirect": back}
    return render_error(err.status, err.message)


@bp.context_processor
def _plan_helpers() -> dict:
    def money(amount, currency: str) -> str:
        return format_currency(amount, currency)

    return {"money": money, "title_of": service.goal_title,
            "describe_change": service.describe_change}
