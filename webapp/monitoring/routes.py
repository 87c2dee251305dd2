"""Aftercare monitoring (issue #7). URL map:

    /caseload/                        staff: my returnees, needing attention first
                                      (?show=urgent|no_contact|overdue, ?caseworker= for a
                                      coordinator, ?page=); htmx gets the rows only
    /caseload/due                     staff: follow-ups due soon or overdue
    /caseload/<id>                    staff: a returnee's timeline (?kind=), ledger
    /caseload/<id>/followups          staff: the follow-ups and scores; POST records one
                                      (with a reintegration check), ledger
    /caseload/<id>/close              staff: close the person's aftercare with the outcome
                                      and the lessons learnt
    /instruments                      coordinator: the check's versions; POST makes a new one
    /overview                         coordinator: the organisation at a glance
    /report                           coordinator: the funder report (?start=&end=&by=),
                                      printable
    /report.csv                       POST coordinator: the same as CSV, audited
    /export/                          coordinator: the export page
    /export/<dataset>.csv             POST coordinator: one CSV, pseudonymous, audited
    /me/progress                      returnee: my reintegration scores in plain words
"""
from __future__ import annotations

import json
from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    url_for,
)
from flask_babel import get_locale, lazy_gettext as _l, ngettext
from flask_login import current_user
from htmx_flask import request  # Flask's request, typed with its .htmx

from ..checkins.service import MOODS
from ..db import db_session
from ..errors import DomainError
from ..forms import ConfirmForm, int_arg, run_form
from ..models import Role, User, utcnow
from ..people import service as people
from ..plan.service import describe_change, goal_title
from ..push import service as push
from ..security import offline_copy
from ..support import choices as sc
from . import (
    export as export_,
    indicators as indicators_,
    instruments,
    overview as overview_,
    service,
)
from .charts import bar_chart, line_chart
from .forms import AftercareCloseForm, InstrumentForm, followup_form_class

bp = Blueprint("monitoring", __name__)

DIMENSIONS = instruments.DIMENSIONS


@bp.get("/caseload/")
def caseload():
    me: User = current_user
    session = db_session()
    show = request.args.get("show")
    show = show if show in service.FILTERS else None
    caseworkers = []
    caseworker_id = None
    if me.role == Role.COORDINATOR.value:
        caseworkers = people.caseworkers(session, me.organisation_id)
        wanted = int_arg("caseworker")
        caseworker_id = wanted if wanted in {c.id for c in caseworkers} else None
    result = service.caseload(session, me, caseworker_id=caseworker_id, show=show,
                              page=int_arg("page") or 1)
    context = dict(result=result, show=show, caseworkers=caseworkers,
                   caseworker_id=caseworker_id, filters=service.FILTERS,
                   today=utcnow().date(), moods=_moods())
    if request.htmx:
        return render_template("monitoring/_caseload_rows.html", **context)
    return render_template("monitoring/caseload.html", **context)


def _moods():
    return MOODS


@bp.get("/caseload/due")
def due():
    today = utcnow().date()
    rows, shown = service.due_followups(db_session(), current_user, today, int_arg("page"))
    overdue_before = today - timedelta(days=service.OVERDUE_AFTER_DAYS)
    return render_template("monitoring/due.html", rows=rows, shown=shown, today=today,
                           overdue_before=overdue_before)


@bp.get("/caseload/<int:user_id>")
def timeline(user_id: int):
    returnee: User = g.scoped
    session = db_session()
    kind = request.args.get("kind")
    kind = kind if kind in service.KINDS else None
    entries = service.timeline(session, returnee, kind)
    return render_template("monitoring/timeline.html", returnee=returnee, entries=entries,
                           kind=kind, kinds=service.KINDS,
                           household=service.household_members(session, current_user, returnee),
                           case_statuses=sc.STATUSES, contacts=service.CONTACT_LABELS,
                           outcomes=service.OUTCOMES, moods=_moods(),
                           currency=returnee.organisation.currency,
                           describe_change=describe_change, goal_title=goal_title)


def _scores_context(checks):
    series = {d: [getattr(c, d) for c in checks] for d in (*DIMENSIONS, "composite")}
    return dict(checks=checks, chart=line_chart(series) if checks else None,
                dimension_labels=instruments.DIMENSION_LABELS)


def _followups_page(returnee: User, form, status: int = 200):
    session = db_session()
    slots = service.schedule(session, returnee)
    open_slots = [s for s in slots if not s.is_done]
    form.month.choices = [
        (s.month, ngettext("After %(num)d month", "After %(num)d months", s.month))
        for s in open_slots]
    if request.method == "GET" and open_slots:
        today = utcnow().date()
        # Preselect the follow-up whose date is nearest.
        form.month.data = min(open_slots, key=lambda s: abs((s.due_on - today).days)).month
    return render_template("monitoring/followups.html", returnee=returnee, form=form,
                           slots=slots, open_slots=open_slots, today=utcnow().date(),
                           instrument=form.instrument, contacts=service.CONTACT_LABELS,
                           outcomes=service.OUTCOMES,
                           **_scores_context(service.checks_of(session, returnee))), status


@bp.route("/caseload/<int:user_id>/followups", methods=["GET", "POST"])
def followups(user_id: int):
    returnee: User = g.scoped
    instrument = service.current_instrument(db_session(), returnee.organisation_id)
    form = followup_form_class(instrument)()
    if request.method == "GET":
        return _followups_page(returnee, form)
    # Choices first (the month list depends on the schedule), then validate.
    form.month.choices = [(s.month, "") for s in service.schedule(db_session(), returnee)
                          if not s.is_done]
    run = run_form(form, lambda: service.record_followup(
        db_session(), current_user, returnee, month=form.month.data, contact=form.contact.data,
        outcome=form.outcome.data, note=form.note.data, answers=form.answers(),
        instrument=instrument))
    if not run.done:
        return _followups_page(returnee, form, run.status)
    flash(_l("Follow-up recorded."), "info")
    return redirect(url_for("monitoring.followups", user_id=returnee.id))


@bp.route("/caseload/<int:user_id>/close", methods=["GET", "POST"])
def close_aftercare(user_id: int):
    returnee: User = g.scoped
    form = AftercareCloseForm()
    run = run_form(form, lambda: service.record_lesson(
        db_session(), current_user, returnee, scope="aftercare", outcome=form.outcome.data,
        helped=form.helped.data, missing=form.missing.data))
    if run.done:
        flash(_l("Saved. The overview collects what was learnt."), "info")
        return redirect(url_for("monitoring.timeline", user_id=returnee.id))
    return render_template("monitoring/close.html", returnee=returnee, form=form), run.status


@bp.route("/instruments", methods=["GET", "POST"])
def instruments_page():
    me: User = current_user
    session = db_session()
    versions = service.instrument_versions(session, me.organisation_id)
    form = InstrumentForm()
    if request.method == "GET":
        form.data_json.data = json.dumps(instruments.to_data(versions[0].instrument),
                                         indent=2, ensure_ascii=False)
    run = run_form(form, lambda: service.new_instrument_version(session, me, form.data_json.data))
    if run.done:
        flash(_l("The new version is saved. New checks use it; checks already made keep "
                 "theirs."), "info")
        return redirect(url_for("monitoring.instruments_page"))
    return render_template("monitoring/instruments.html", versions=versions, form=form,
                           dimension_labels=instruments.DIMENSION_LABELS), run.status


@bp.get("/overview")
def overview():
    me: User = current_user
    data = overview_.overview(db_session(), me.organisation)
    rate_chart = bar_chart([(p.start.isoformat(), p.value) for p in data.rate], top=1)
    concern_chart = bar_chart([(m.start.isoformat(), m.total) for m in data.concerns])
    score_chart = bar_chart([(str(r.month), r.composite) for r in data.scores], top=1)
    return render_template("monitoring/overview.html", data=data, rate_chart=rate_chart,
                           concern_chart=concern_chart, score_chart=score_chart,
                           concern_kinds=sc.KINDS, dimension_labels=instruments.DIMENSION_LABELS,
                           limit_note=overview_.LIMIT_NOTE,
                           unreached=push.staff_without_device(db_session(), me.organisation_id),
                           lessons=service.lessons(db_session(), me.organisation_id),
                           outcomes=service.OUTCOMES, case_outcomes=sc.OUTCOMES,
                           case_statuses=sc.STATUSES)


def _day_arg(source, name: str) -> date | None:
    try:
        return date.fromisoformat(source.get(name, ""))
    except ValueError:
        return None


def _report_args(source):
    """(period or None, breakdown, error): from the query string or a form.
    Nothing given: this month so far."""
    today = utcnow().date()
    start, end = _day_arg(source, "start"), _day_arg(source, "end")
    if not source.get("start") and not source.get("end"):
        start, end = today.replace(day=1), today
    by = source.get("by") or None
    by = by if by in indicators_.BREAKDOWNS else None
    try:
        return indicators_.period(start, end), by, None
    except DomainError as err:
        return None, by, err.message


@bp.get("/report")
def report():
    me: User = current_user
    p, by, error = _report_args(request.args)
    countries = dict(people.countries(get_locale()))
    data = indicators_.indicators(db_session(), me.organisation, p, by) if p else []
    return render_template(
        "monitoring/report.html", period=p, by=by, error=error, data=data,
        breakdowns=indicators_.BREAKDOWNS, org=me.organisation, confirm=ConfirmForm(),
        start=request.args.get("start", p.start.isoformat() if p else ""),
        end=request.args.get("end", p.end.isoformat() if p else ""),
        label=lambda key: indicators_.group_label(by, key, countries),
        as_text=indicators_.as_text, suppress_below=indicators_.SUPPRESS_BELOW,
    ), (400 if error else 200)


@bp.post("/report.csv")
def report_csv():
    p, by, error = _report_args(request.form)
    if p is None:
        abort(400)
    countries = dict(people.countries(get_locale()))
    run = run_form(ConfirmForm(), lambda: indicators_.report_csv(
        db_session(), current_user, p, by, countries))
    if not run.done:
        abort(run.status)
    response = make_response(run.result)
    response.mimetype = "text/csv"
    filename = f"footing-report-{p.start.isoformat()}-{p.end.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


EXPORT_LABELS = {
    "checkins": _l("Check-ins"),
    "concerns": _l("Problems reported"),
    "requests": _l("Requests for help"),
    "followups": _l("Follow-ups"),
    "scores": _l("Reintegration scores"),
    "lessons": _l("Lessons learnt"),
    "risk_checks": _l("Risk check"),
    "profiles": _l("Details for reports"),
}


@bp.get("/export/")
def export_page():
    return render_template("monitoring/export.html", datasets=EXPORT_LABELS)


@bp.post("/export/<dataset>.csv")
def export(dataset: str):
    if dataset not in export_.DATASETS:
        abort(404)
    run = run_form(ConfirmForm(), lambda: export_.export_csv(db_session(), current_user, dataset))
    if not run.done:
        abort(run.status)
    body = run.result
    response = make_response(body)
    response.mimetype = "text/csv"  # Content-Type: text/csv; charset=utf-8
    stamp = utcnow().strftime("%Y%m%d")
    filename = f"footing-{dataset}-{stamp}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/me/progress")
@offline_copy
def my_progress():
    checks = service.checks_of(db_session(), current_user)
    return render_template("monitoring/progress.html", in_words=service.in_words,
                           **_scores_context(checks))
