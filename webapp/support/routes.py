"""Support requests, concerns, the caseworker's triage and medicine gaps. URL map:

    /help/                            returnee: my requests and reports
    /help/ask                         returnee: ask for help (a support request)
    /help/report                      returnee: report a problem: what is it (tap),
                                      how urgent (tap = send)
    /help/now                         returnee: "I need help now": confirm, then the emergency line
                                      (also offline: the page is kept on the phone)
    /help/now/phone                   anyone: "I need help now" from a bound phone without the
                                      PIN (session expired, binding locked)
    /help/cases/<id>                  the thread (returnee: own; staff: their inbox's), ledger
    /help/cases/<id>/received         returnee: "we got it", what happens next and by when
    /help/cases/<id>/reply            POST returnee or staff: a message the returnee reads
    /help/cases/<id>/note             POST staff: an internal note the returnee never sees
    /help/cases/<id>/acknowledge      POST staff: "seen"
    /help/cases/<id>/status           POST staff: change the status with a reason
                                      (an outcome to close)
    /help/cases/<id>/reassign         POST coordinator: another caseworker for the returnee
    /help/inbox                       staff: requests and concerns, most urgent and oldest first
    /help/medicine                    coordinator: medicine gaps per month and district
"""
from __future__ import annotations

import logging

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from htmx_flask import request  # Flask's request, typed with its .htmx

from .. import submissions
from ..auth import service as auth
from ..db import db_session
from ..directory import service as directory
from ..extensions import login_manager
from ..forms import ConfirmForm, int_arg, run_form
from ..models import Role, User
from ..monitoring import service as monitoring
from ..people import service as people
from ..security import KEEP_HEADER, offline_copy
from . import choices as c, service
from .forms import (
    ConcernForm,
    HelpNowForm,
    MessageForm,
    ReassignForm,
    RequestForm,
    StatusForm,
)
from .models import Case

bp = Blueprint("support", __name__, url_prefix="/help")

log = logging.getLogger(__name__)


@bp.app_context_processor
def help_link() -> dict:
    """ "I need help now" in the header of every page: a signed-in returnee's,
    and any page on a bound phone whose session ended (without the PIN)."""
    user = g.get("_login_user")
    if user is not None and user.is_authenticated:
        url = url_for("support.help_now") if user.role == Role.RETURNEE.value else None
    else:
        url = url_for("support.help_now_phone") if request.cookies.get(auth.DEVICE_COOKIE) else None
    return {"help_now_url": url}


def _submit(form, claim_kind: str, create, template: str, **context):
    """Validate, claim the device's UUID, create, answer with the "received"
    page. A repeat of the same UUID answers as the first did."""
    run = run_form(form, lambda: _create_once(form, claim_kind, create))
    if run.done:
        return redirect(run.result)
    return render_template(template, form=form, **context), run.status


def _create_once(form, claim_kind: str, create) -> str:
    """The case, once per device UUID; the URL of its "received" page."""
    claim = submissions.claim(db_session(), current_user, form.client_uuid.data,
                              claim_kind, form.body())
    if claim.repeat and claim.result_url:
        return claim.result_url
    url = url_for("support.received", case_id=create().id)
    claim.done(url)
    return url


# --- The returnee ---------------------------------------------------------------

@bp.get("/")
@offline_copy
def mine():
    return render_template("support/mine.html",
                           cases=service.my_cases(db_session(), current_user), c=c)


@bp.route("/ask", methods=["GET", "POST"])
@offline_copy
def ask():
    form = RequestForm()
    if request.method == "GET":
        return render_template("support/ask.html", form=form, c=c)
    return _submit(form, "support", lambda: service.create_request(
        db_session(), current_user, category=form.category.data,
        contact_way=form.contact_way.data, details=form.details.data,
        callback_phone=form.callback_phone.data, district=form.district.data),
        "support/ask.html", c=c)


@bp.route("/report", methods=["GET", "POST"])
@offline_copy
def report():
    form = ConcernForm()
    if request.method == "GET":
        return render_template("support/report.html", form=form, c=c)
    kind, sub_type = form.kind_and_sub_type
    return _submit(form, "concern", lambda: service.create_concern(
        db_session(), current_user, kind=kind, sub_type=sub_type, urgency=form.urgency.data,
        medicine_name=form.medicine_name.data, note=form.note.data,
        callback_phone=form.callback_phone.data, district=form.district.data),
        "support/report.html", c=c)


def _now_page(form: HelpNowForm, status: int = 200):
    user: User = current_user
    g.help_numbers_of = user.organisation_id  # kept offline: whose numbers (sw.js)
    return render_template("support/now.html", form=form, organisation=user.organisation,
                           reference=service.short_reference(user),
                           numbers=directory.emergency_numbers(db_session(),
                                                               user.organisation_id)), status


@bp.route("/now", methods=["GET", "POST"])
@offline_copy
def help_now():
    form = HelpNowForm()
    if request.method == "GET":
        form.callback_phone.data = service.last_callback_phone(db_session(), current_user)
        return _now_page(form)
    run = run_form(form, lambda: _create_once(
        form, "concern", lambda: _help_now_case(form)))
    if run.done:
        return redirect(run.result)
    return _now_page(form, run.status)


def _help_now_case(form: HelpNowForm) -> Case:
    sent = service.help_now(db_session(), current_user, form.phone())
    if sent.phone_error:
        flash(_l("Your report was sent, without the phone number: %(why)s",
                 why=sent.phone_error), "error")
    return sent.case


@bp.route("/now/phone", methods=["GET", "POST"])
def help_now_phone():
    """"I need help now" without the PIN, from the PIN page of a bound phone.
    The page says nothing about the person. A forged, revoked or unknown
    binding and a phone over the hourly limit get the same answer: the
    emergency number, nothing stored. Kept on the phone as a public copy, its
    report can be made offline with the phone locked and is sent by the
    queue once online (issue #18/#19)."""
    if request.method == "GET" and request.accept_mimetypes.best == "application/json":
        # A token for a report made here offline, sent later by the queue
        # (queue.js) when nobody may be signed in: anyone may ask, as for the page.
        return jsonify(token=generate_csrf())
    if request.method == "GET" and request.headers.get(KEEP_HEADER) == "public":
        # The service worker keeps this page for the locked phone (sw.js):
        # rendered as for someone signed out, it holds nothing of the person.
        g._login_user = login_manager.anonymous_user()
    elif (request.method == "GET" and current_user.is_authenticated
          and current_user.role == Role.RETURNEE.value):
        return redirect(url_for("support.help_now"))
    form = HelpNowForm()
    del form.call_back, form.callback_phone
    binding = auth.binding_for_help(db_session(), request.cookies.get(auth.DEVICE_COOKIE))
    phone = (binding.user.organisation.emergency_phone if binding is not None else "") \
        or current_app.config["EMERGENCY_PHONE"]
    # The directory's emergency numbers of the binding's organisation: public
    # data; none for a phone that is not (or no longer) bound.
    numbers = directory.emergency_numbers(db_session(), binding.user.organisation_id) \
        if binding is not None else []
    if request.method == "GET":
        g.public_copy = True  # kept in the clear: opens offline with the phone locked
        if binding is not None:
            g.help_numbers_of = binding.user.organisation_id
        return render_template("support/now_phone.html", form=form, phone=phone, numbers=numbers)
    run = run_form(form, lambda: _help_without_pin(form, binding))
    if not run.done:
        return render_template("support/now_phone.html", form=form, phone=phone,
                               numbers=numbers), run.status
    return render_template("support/now_phone_answer.html", sent=run.result, phone=phone,
                           numbers=numbers)


def _help_without_pin(form: HelpNowForm, binding) -> bool:
    """Stored (or stored before under the same UUID): True; else False."""
    if binding is None:
        log.info("help without pin: no usable binding")
        return False
    user = binding.user
    if service.without_pin_over_limit(db_session(), user):
        return False
    claim = submissions.claim(db_session(), user, form.client_uuid.data, "help_phone",
                              form.body())
    if claim.repeat:
        return True
    case = service.help_without_pin(db_session(), user)
    if case is None:
        return False
    claim.done(url_for("support.case", case_id=case.id))
    return True


@bp.get("/cases/<int:case_id>/received")
def received(case_id: int):
    case: Case = g.scoped
    return render_template("support/received.html", case=case, c=c,
                           organisation=current_user.organisation)


# --- The thread -------------------------------------------------------------------

def _case_page(case: Case, status: int = 200, *, reply: MessageForm | None = None,
               note: MessageForm | None = None, status_form: StatusForm | None = None):
    me: User = current_user
    staff = me.is_staff
    entries = service.timeline(db_session(), case, include_internal=staff)
    context = {"case": case, "entries": entries, "c": c,
               "reply": reply or MessageForm(prefix="reply")}
    if staff:
        context.update(
            note=note or MessageForm(prefix="note"),
            status_form=status_form or _status_form(case),
            confirm=ConfirmForm(),
            reassign=_reassign_form(case) if me.role == Role.COORDINATOR.value else None,
        )
        return render_template("support/case_staff.html", **context), status
    return render_template("support/case.html", **context), status


def _status_form(case: Case) -> StatusForm:
    form = StatusForm()
    form.status.choices = [(s, c.STATUSES[s]) for s in service.next_statuses(case)]
    if not case.is_concern:
        del form.outcome
    return form


def _reassign_form(case: Case, caseworkers: list[User] | None = None) -> ReassignForm:
    form = ReassignForm()
    caseworkers = caseworkers or people.caseworkers(db_session(), current_user.organisation_id)
    form.caseworker.choices = [(u.id, u.display_name) for u in caseworkers]
    if request.method == "GET":
        form.caseworker.data = people.current_caseworker_id(db_session(), case.returnee_id)
    return form


@bp.get("/cases/<int:case_id>")
@offline_copy
def case(case_id: int):
    return _case_page(g.scoped)


def _after_action(case: Case, message):
    flash(message, "info")
    return redirect(url_for("support.case", case_id=case.id) + "#thread")


@bp.post("/cases/<int:case_id>/reply")
def reply(case_id: int):
    case: Case = g.scoped
    form = MessageForm(prefix="reply")
    run = run_form(form, lambda: service.add_message(db_session(), case, current_user,
                                                     form.body.data))
    if run.done:
        return _after_action(case, _l("Your message was sent."))
    return _case_page(case, run.status, reply=form)


@bp.post("/cases/<int:case_id>/note")
def note(case_id: int):
    case: Case = g.scoped
    form = MessageForm(prefix="note")
    run = run_form(form, lambda: service.add_message(db_session(), case, current_user,
                                                     form.body.data, internal=True))
    if run.done:
        return _after_action(case, _l("Note saved. Only staff can read it."))
    return _case_page(case, run.status, note=form)


@bp.post("/cases/<int:case_id>/acknowledge")
def acknowledge(case_id: int):
    case: Case = g.scoped
    run = run_form(ConfirmForm(), lambda: service.acknowledge(db_session(), case, current_user),
                   flash_error=True)
    if run.done:
        return _after_action(case, _l("Marked as seen. The person can see this."))
    return _case_page(case, run.status)


@bp.post("/cases/<int:case_id>/status")
def change_status(case_id: int):
    case: Case = g.scoped
    form = _status_form(case)

    def change():
        event = service.change_status(
            db_session(), case, current_user, form.status.data, form.reason.data,
            form.outcome.data if "outcome" in form else None)
        if event.to_status in c.ENDED_STATUSES:
            # What was learnt, when the caseworker wrote something.
            monitoring.record_lesson(
                db_session(), current_user, case.returnee, scope="case",
                outcome=event.outcome or event.to_status, helped=form.helped.data,
                missing=form.missing.data, case_id=case.id)
        return event

    run = run_form(form, change)
    if run.done:
        return _after_action(case, _l("Status changed."))
    return _case_page(case, run.status, status_form=form)


@bp.post("/cases/<int:case_id>/reassign")
def reassign(case_id: int):
    case: Case = g.scoped
    caseworkers = people.caseworkers(db_session(), current_user.organisation_id)
    form = _reassign_form(case, caseworkers)
    by_id = {u.id: u for u in caseworkers}
    run = run_form(form, lambda: people.assign_caseworker(
        db_session(), case.returnee, by_id[form.caseworker.data], current_user), flash_error=True)
    if run.done:
        return _after_action(case, _l("Caseworker changed."))
    if run.invalid:
        flash(_l("Please choose a caseworker from the list."), "error")
    return _case_page(case, run.status)


# --- Staff lists --------------------------------------------------------------------

@bp.get("/inbox")
def inbox():
    show = "closed" if request.args.get("show") == "closed" else "open"
    rows, shown = service.inbox(db_session(), current_user, show=show, page=int_arg("page"))
    template = "support/_inbox_rows.html" if request.htmx else "support/inbox.html"
    return render_template(template, rows=rows, shown=shown, show=show, c=c)


@bp.get("/medicine")
def medicine():
    return render_template("support/medicine.html",
                           gaps=service.medicine_gaps(db_session(), current_user.organisation))
