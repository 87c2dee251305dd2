"""Organisations in a network (issue #21). URL map:

    /network/                           staff: the relations; handovers in and out
    /network/people/<id>/handover       sending staff: propose a handover of a person
    /network/handover                   returnee: what would move; agree or refuse;
                                        what the sending side still sees
    /network/handover/<id>/withdraw     POST returnee: stop the sending side's summary
    /network/in/<id>                    receiving coordinator: an agreed handover
    /network/in/<id>/accept             POST receiving coordinator: accept, assign a caseworker
    /network/out/<id>                   sending staff: the handover's status, the summary
    /network/out/<id>/cancel            POST sending staff: take back a proposal
    /network/cases/<id>/refer           staff: refer a support request to a partner
    /network/cases/<id>/refer/place     POST staff: refer it to a listed service (directory)
    /network/referrals/out/<id>         referring staff: a referral's status; for a listed
                                        service, what came of it (POST .../outcome)
    /network/referrals/<id>             returnee: agree to a referral or refuse; its status
    /network/referrals/in/<id>          partner staff: a referral the person agreed to
    /network/referrals/in/<id>/step     POST partner staff: accept, decline with a reason,
                                        report the outcome
    /network/intake                     coordinator: people from a CSV file (check, then create)
"""
from __future__ import annotations

import logging

from flask import Blueprint, flash, g, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .. import outbox
from ..bodies import takes
from ..db import db_session
from ..directory import choices as directory_choices, service as directory
from ..errors import DomainError
from ..forms import ConfirmForm, run_form
from ..i18n import organisation_choices
from ..models import Role, User
from ..monitoring import service as monitoring
from ..people import service as people
from ..support import choices as support_choices
from ..support.models import Case
from . import intake as intake_service, service
from .forms import (
    PLACE_OUTCOMES,
    STEPS,
    AcceptForm,
    AnswerForm,
    IntakeForm,
    PlaceOutcomeForm,
    ProposeForm,
    ReferForm,
    ReferPlaceForm,
    ReferralAnswerForm,
    ReferralStepForm,
)
from .models import Handover, Referral

bp = Blueprint("network", __name__, url_prefix="/network")

log = logging.getLogger(__name__)
MAX_FILE = 200 * 1024

STATUS_LABELS = {
    "proposed": _l("waiting for the person's answer"),
    "agreed": _l("agreed by the person, waiting for the partner"),
    "refused": _l("refused by the person"),
    "accepted": _l("accepted: the partner follows the person now"),
    "cancelled": _l("taken back"),
}
REFERRAL_LABELS = {
    "asked": _l("waiting for your answer"),
    "refused": _l("you said no: nothing was sent"),
    "open": _l("sent: waiting for the partner"),
    "accepted": _l("the partner takes it on"),
    "declined": _l("the partner cannot take it on"),
    "done": _l("done"),
}
# A referral to a listed service: nobody answers in Footing.
PLACE_REFERRAL_LABELS = {
    **REFERRAL_LABELS,
    "open": _l("agreed: you can go there or call them"),
    "done": _l("done"),
}
KIND_LABELS = {
    "sending": _l("Sending organisation: counselling before departure"),
    "receiving": _l("Receiving partner: aftercare after return"),
}


@bp.get("/")
def index():
    me: User = current_user
    session = db_session()
    return render_template(
        "network/index.html", kind=me.organisation.network_kind,
        kinds=KIND_LABELS, partners=service.partners(session, me.organisation_id),
        senders=service.senders(session, me.organisation_id),
        incoming=(service.incoming(session, me.organisation_id)
                  if me.role == Role.COORDINATOR.value else []),
        outgoing=service.outgoing(session, me), labels=STATUS_LABELS,
        referrals=service.referrals_in(session, me.organisation_id),
        sent_referrals=service.referrals_out(session, me),
        referral_labels=REFERRAL_LABELS, place_labels=PLACE_REFERRAL_LABELS,
        outcomes=PLACE_OUTCOMES)


@bp.route("/people/<int:user_id>/handover", methods=["GET", "POST"])
def propose(user_id: int):
    person: User = g.scoped
    me: User = current_user
    session = db_session()
    form = ProposeForm()
    form.organisation.choices = [(o.id, o.name)
                                 for o in service.partners(session, me.organisation_id)]
    run = run_form(form, lambda: service.propose(session, me, person, form.organisation.data))
    if run.done:
        flash(_l("The handover is proposed. %(name)s answers on their phone.",
                 name=person.display_name), "info")
        return redirect(url_for("network.sent", sent_id=run.result.id))
    return render_template("network/propose.html", form=form, person=person,
                           waiting=service.open_handover(session, person)), run.status


@bp.route("/handover", methods=["GET", "POST"])
def mine():
    me: User = current_user
    session = db_session()
    waiting = service.waiting_for(session, me)
    form = AnswerForm()
    run = run_form(form, lambda: service.answer(
        session, me, agree=form.decision.data == "agree",
        share_history=form.share_history.data, share_milestones=form.share_milestones.data))
    if run.done:
        flash(_l("Thank you. Your answer is saved.") if run.result.status == "agreed"
              else _l("You said no. Nothing is sent."), "info")
        return redirect(url_for("network.mine"))
    return render_template("network/mine.html", form=form, waiting=waiting,
                           accepted=service.my_handovers(session, me),
                           referrals=service.my_referrals(session, me),
                           referral_labels=REFERRAL_LABELS, place_labels=PLACE_REFERRAL_LABELS,
                           open_requests=service.open_requests(session, me) if waiting else 0,
                           confirm=ConfirmForm()), run.status


@bp.post("/handover/<int:handover_id>/withdraw")
def withdraw(handover_id: int):
    handover: Handover = g.scoped
    run = run_form(ConfirmForm(), lambda: service.withdraw(db_session(), current_user, handover),
                   flash_error=True)
    if run.done:
        flash(_l("Done. %(org)s no longer sees anything of you.",
                 org=handover.from_organisation.name), "info")
    return redirect(url_for("network.mine"))


def _incoming_page(handover: Handover, form: AcceptForm, status: int = 200):
    return render_template("network/incoming.html", handover=handover, form=form,
                           labels=STATUS_LABELS, open_requests=service.open_at_handover(handover),
                           categories=support_choices.CATEGORIES,
                           kinds=support_choices.KINDS), status


def _accept_form() -> AcceptForm:
    form = AcceptForm()
    form.caseworker.choices = [(c.id, c.display_name) for c in people.caseworkers(
        db_session(), current_user.organisation_id)]
    return form


@bp.get("/in/<int:incoming_id>")
def incoming(incoming_id: int):
    return _incoming_page(g.scoped, _accept_form())


@bp.post("/in/<int:incoming_id>/accept")
def accept(incoming_id: int):
    handover: Handover = g.scoped
    form = _accept_form()
    def accept_and_schedule():
        accepted = service.accept(db_session(), current_user, handover, form.caseworker.data)
        # The receiving organisation's follow-ups after return, from the start.
        monitoring.schedule_all(db_session(), returnee_id=accepted.returnee_id)
        return accepted

    run = run_form(form, accept_and_schedule)
    if run.done:
        flash(_l("Accepted. The case is yours now."), "info")
        return redirect(url_for("people.show", user_id=handover.returnee_id))
    return _incoming_page(handover, form, run.status)


@bp.get("/out/<int:sent_id>")
def sent(sent_id: int):
    handover: Handover = g.scoped
    session = db_session()
    return render_template("network/sent.html", handover=handover, labels=STATUS_LABELS,
                           summary=service.summary(session, handover),
                           notes=service.left_behind(session, handover), confirm=ConfirmForm())


@bp.post("/out/<int:sent_id>/cancel")
def cancel(sent_id: int):
    handover: Handover = g.scoped
    run = run_form(ConfirmForm(), lambda: service.cancel(db_session(), current_user, handover),
                   flash_error=True)
    if run.done:
        flash(_l("The proposal is taken back."), "info")
    return redirect(url_for("network.sent", sent_id=handover.id))


# --- Referrals --------------------------------------------------------------------

def _refer_forms(case: Case) -> tuple[ReferForm, ReferPlaceForm]:
    session = db_session()
    form, place_form = ReferForm(), ReferPlaceForm()
    form.organisation.choices = [(o.id, o.name)
                                 for o in service.partners(session, case.organisation_id)]
    grouped: dict[str, list[tuple[int, str]]] = {}
    for place in directory.places(session, case.organisation_id):
        kind = str(directory_choices.KINDS.get(place.kind, place.kind))
        grouped.setdefault(kind, []).append((place.id, f"{place.name}, {place.town}"))
    place_form.place.choices = grouped
    return form, place_form


def _refer_page(case: Case, form: ReferForm, place_form: ReferPlaceForm, status: int = 200):
    return render_template("network/refer.html", form=form, place_form=place_form, case=case,
                           referrals=service.referrals_of_case(db_session(), case),
                           labels=REFERRAL_LABELS, place_labels=PLACE_REFERRAL_LABELS), status


@bp.route("/cases/<int:case_id>/refer", methods=["GET", "POST"])
def refer(case_id: int):
    case: Case = g.scoped
    form, place_form = _refer_forms(case)
    run = run_form(form, lambda: service.refer(db_session(), current_user, case,
                                               form.organisation.data))
    if run.done:
        flash(_l("Referred. The person agrees or refuses on their phone first."), "info")
        return redirect(url_for("support.case", case_id=case.id))
    return _refer_page(case, form, place_form, run.status)


@bp.post("/cases/<int:case_id>/refer/place")
def refer_place(case_id: int):
    case: Case = g.scoped
    form, place_form = _refer_forms(case)
    run = run_form(place_form, lambda: service.refer_to_place(
        db_session(), current_user, case, place_form.place.data))
    if run.done:
        flash(_l("Referred. The person agrees or refuses on their phone first."), "info")
        return redirect(url_for("network.referral_out", referral_out_id=run.result.id))
    return _refer_page(case, form, place_form, run.status)


def _referral_out_page(item: Referral, form: PlaceOutcomeForm, status: int = 200):
    return render_template("network/referral_out.html", referral=item, form=form,
                           labels=PLACE_REFERRAL_LABELS if item.to_place else REFERRAL_LABELS,
                           outcomes=PLACE_OUTCOMES, kinds=directory_choices.KINDS), status


@bp.get("/referrals/out/<int:referral_out_id>")
def referral_out(referral_out_id: int):
    item: Referral = g.scoped
    form = PlaceOutcomeForm(data={"outcome": item.outcome_kind or None})
    return _referral_out_page(item, form)


@bp.post("/referrals/out/<int:referral_out_id>/outcome")
def referral_outcome(referral_out_id: int):
    item: Referral = g.scoped
    form = PlaceOutcomeForm()
    run = run_form(form, lambda: service.record_place_outcome(
        db_session(), current_user, item, form.outcome.data, form.note.data))
    if run.done:
        flash(_l("Saved. The person sees it."), "info")
        return redirect(url_for("network.referral_out", referral_out_id=item.id))
    return _referral_out_page(item, form, run.status)


@bp.route("/referrals/<int:referral_id>", methods=["GET", "POST"])
def referral(referral_id: int):
    item: Referral = g.scoped
    form = ReferralAnswerForm()
    run = run_form(form, lambda: service.answer_referral(
        db_session(), current_user, item, agree=form.decision.data == "agree"))
    if run.done:
        flash(_l("Thank you. Your answer is saved."), "info")
        return redirect(url_for("network.referral", referral_id=item.id))
    return render_template("network/referral.html", referral=item, form=form,
                           labels=PLACE_REFERRAL_LABELS if item.to_place else REFERRAL_LABELS,
                           outcomes=PLACE_OUTCOMES, kinds=directory_choices.KINDS), run.status


def _referral_in_page(item: Referral, form: ReferralStepForm, status: int = 200):
    steps = service.REFERRAL_STEPS.get(item.status, ())
    form.step.choices = [(value, label) for value, label in STEPS.items() if value in steps]
    return render_template("network/referral_in.html", referral=item, form=form,
                           labels=REFERRAL_LABELS, categories=support_choices.CATEGORIES,
                           steps=steps), status


@bp.get("/referrals/in/<int:referral_in_id>")
def referral_in(referral_in_id: int):
    return _referral_in_page(g.scoped, ReferralStepForm())


@bp.post("/referrals/in/<int:referral_in_id>/step")
def referral_step(referral_in_id: int):
    item: Referral = g.scoped
    form = ReferralStepForm()
    run = run_form(form, lambda: service.progress_referral(
        db_session(), current_user, item, form.step.data, form.text.data))
    if run.done:
        flash(_l("Saved. The person sees it."), "info")
        return redirect(url_for("network.referral_in", referral_in_id=item.id))
    return _referral_in_page(item, form, run.status)


# --- Bulk intake ------------------------------------------------------------------------

@bp.route("/intake", methods=["GET", "POST"])
@takes("multipart/form-data")
def intake():
    me: User = current_user
    session = db_session()
    form = IntakeForm()
    languages = [code for code, _name in organisation_choices(me.organisation)]
    upload = form.file.data if hasattr(form.file.data, "read") else None
    raw = upload.read(MAX_FILE + 1) if upload is not None else b""
    checked = None

    def run():
        if len(raw) > MAX_FILE:
            raise DomainError(_l("The file is too big."), field="file")
        if form.action.data == "check":
            return intake_service.read(session, me.organisation, raw, languages)
        issued = intake_service.create(session, me, me.organisation, raw, languages)
        for one in issued:
            monitoring.schedule_all(session, returnee_id=one.user.id)
        return issued

    result = run_form(form, run)
    if result.done and form.action.data == "create":
        outbox.log_after_commit(log, "intake by=%s people=%s", me.id, len(result.result))
        return render_template("network/intake_done.html", issued=result.result)
    if result.done:
        checked = result.result
    elif isinstance(result.error, intake_service.IntakeRefused):
        checked = result.error.intake
    status = 400 if checked is not None and checked.errors else result.status
    return render_template("network/intake.html", form=form, checked=checked,
                           columns=intake_service.COLUMNS), status
