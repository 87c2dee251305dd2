"""Peer groups. URL map:

    /groups/                                      my groups (coordinator: all of the organisation)
    /groups/new                                   coordinator: create a group
    /groups/<g>                                   the group: meetings, buddy, shared check-ins,
                                                  board
    /groups/<g>/manage                            facilitator: members, buddies, settings
    /groups/<g>/facilitators                      POST coordinator: appoint a facilitator
    /groups/<g>/settings                          POST facilitator: language, place, period
    /groups/<g>/members                           POST facilitator: add a returnee
    /groups/<g>/members/remove                    POST facilitator: take a member out of the group
    /groups/<g>/buddies                           POST facilitator: pair two members
    /groups/<g>/posts                             POST someone in the group: write on the board
    /groups/<g>/posts/<p>/hide                    POST facilitator: hide a post
    /groups/<g>/posts/<p>/report                  POST someone in the group: report a post
    /groups/<g>/meetings/new                      facilitator: schedule a meeting
    /groups/<g>/meetings/<m>                      one meeting: answers, attendance
    /groups/<g>/meetings/<m>/rsvp                 POST member: coming / not coming
                                                  (htmx: the partial)
    /groups/<g>/meetings/<m>/cancel               POST facilitator: call the meeting off
    /groups/<g>/meetings/<m>/attendance           POST facilitator: who was there
    /groups/<g>/overview                          facilitator: who checked in this period
    /groups/<g>/raise                             POST facilitator: raise a member with the
                                                  caseworker

The scope (`group`, `group_in`, `group_led` in webapp.access) has already
checked the group before a view runs (`g.scoped`), and the meeting or post of
the URL inside it (`g.nested["meeting"]`, `g.nested["post"]`).
"""
from __future__ import annotations

import logging

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

from .. import outbox
from ..checkins.service import MOODS
from ..db import db_session
from ..forms import ConfirmForm, run_form, values_of
from ..i18n import language_choices, organisation_choices
from ..models import Role, utcnow
from ..security import offline_copy
from . import service
from .forms import (
    AttendanceForm,
    BuddyForm,
    FacilitatorForm,
    GroupSettingsForm,
    MeetingForm,
    MemberForm,
    NewGroupForm,
    PostForm,
    RaiseForm,
    RsvpForm,
)
from .models import Meeting, PeerGroup

bp = Blueprint("groups", __name__, url_prefix="/groups")

log = logging.getLogger(__name__)


def _languages():
    return [(code, name) for code, name, _tag in language_choices()]


def _periods():
    return list(service.PERIODS.items())


def _settings_choices(form, group: PeerGroup | None = None) -> list[str]:
    """Sets the form's languages and periods; the codes of the languages offered."""
    languages = organisation_choices(current_user.organisation,
                                     keep=group.language if group else None)
    form.language.choices = languages
    form.period.choices = _periods()
    return [code for code, _name in languages]


# --- Forms of the group page --------------------------------------------------------

def _page_forms(group: PeerGroup, leads: bool, forms: dict | None = None) -> dict:
    """The forms shown on the group page, with their choices; `forms` keeps
    one sent back with errors."""
    session = db_session()
    out: dict = {"post": PostForm(formdata=None), "confirm": ConfirmForm()}
    if current_user.role == Role.COORDINATOR.value:
        appoint = FacilitatorForm(formdata=None)
        appoint.facilitator.choices = [
            (u.id, u.display_name)
            for u in service.staff_candidates(session, group.organisation_id, group)]
        out["appoint"] = appoint
    if leads:
        settings = GroupSettingsForm(formdata=None, language=group.language,
                                     meeting_place=group.meeting_place,
                                     period=group.checkin_period_days)
        _settings_choices(settings, group)
        member = MemberForm(formdata=None)
        member.member.choices = [(u.id, u.display_name) for u in service.candidates(session, group)]
        out.update(settings=settings, member=member, buddy=BuddyForm(formdata=None),
                   remove=MemberForm(formdata=None, prefix="remove"))
    out.update(forms or {})
    return out


def _show(group: PeerGroup, status: int = 200, **forms):
    session = db_session()
    me = current_user._get_current_object()
    leads = service.is_facilitator(session, group, me)
    roster = service.members(session, group)
    mine = next((m for m in roster if m.user_id == me.id), None)
    names = {m.user_id: m.user.display_name for m in roster}
    # The members' and settings' forms are on their own page (`manage`).
    page_forms = _page_forms(group, False, forms)
    context = dict(
        group=group, leads=leads, member=mine, roster=roster, names=names,
        facilitators=service.facilitators(session, group),
        meetings=service.upcoming_meetings(session, group),
        shared=service.shared_checkins(session, group) if (mine or leads) else [],
        posts=service.board(session, group, me, leads) if (mine or leads) else [],
        languages=dict(_languages()), periods=service.PERIODS, moods=MOODS,
        topic_of=service.topic_of, forms=page_forms,
    )
    return render_template("groups/show.html", **context), status


def _manage(group: PeerGroup, status: int = 200, **forms):
    """The facilitator's page for the members (add, take out, buddies) and
    the group's settings, one tap from the group page (which shows the
    meetings first)."""
    session = db_session()
    roster = service.members(session, group)
    names = {m.user_id: m.user.display_name for m in roster}
    page_forms = _page_forms(group, True, forms)
    for f in (page_forms["buddy"].first, page_forms["buddy"].second, page_forms["remove"].member):
        f.choices = list(names.items())
    return render_template("groups/manage.html", group=group, roster=roster, names=names,
                           forms=page_forms), status


def _back_to_group(group: PeerGroup, run, message, **form):
    """After a form on the group page: back to it with `message`, or the page
    again with the form's errors (and the run's status). No names in the
    message: it travels in the (signed, not encrypted) session cookie."""
    if run.done:
        flash(message, "info")
        return redirect(url_for("groups.show", group_id=group.id))
    return _show(group, run.status, **form)


def _back_to_manage(group: PeerGroup, run, message, **form):
    """The same for a form of the members and settings page."""
    if run.done:
        flash(message, "info")
        return redirect(url_for("groups.manage", group_id=group.id))
    return _manage(group, run.status, **form)


# --- Pages ----------------------------------------------------------------------------

@bp.get("/")
def index():
    groups = service.groups_of(db_session(), current_user)
    return render_template("groups/index.html", groups=groups, languages=dict(_languages()))


@bp.route("/new", methods=["GET", "POST"])
def new():
    me = current_user._get_current_object()
    form = NewGroupForm()
    languages = _settings_choices(form)
    facilitators = service.staff_candidates(db_session(), me.organisation_id)
    form.facilitator.choices = ([(0, _l("Choose later"))]
                                + [(u.id, u.display_name) for u in facilitators])
    if request.method == "GET":
        form.period.data = 7
        form.language.data = me.locale
    run = run_form(form, lambda: service.create_group(
        db_session(), me, name=form.name.data, language=form.language.data, languages=languages,
        meeting_place=form.meeting_place.data or "",
        period_days=form.period.data, facilitator_id=form.facilitator.data))
    if run.done:
        outbox.log_after_commit(log, "group created group=%s by=%s", run.result.id, me.id)
        flash(_l("The group is made."), "info")
        return redirect(url_for("groups.show", group_id=run.result.id))
    return render_template("groups/new.html", form=form), run.status


@bp.get("/<int:group_id>")
@offline_copy
def show(group_id: int):
    return _show(g.scoped)


@bp.get("/<int:group_id>/manage")
def manage(group_id: int):
    return _manage(g.scoped)


@bp.post("/<int:group_id>/facilitators")
def appoint(group_id: int):
    group: PeerGroup = g.scoped
    form = FacilitatorForm()
    form.facilitator.choices = [
        (u.id, u.display_name)
        for u in service.staff_candidates(db_session(), group.organisation_id, group)]
    run = run_form(form, lambda: service.appoint_facilitator(
        db_session(), group, form.facilitator.data, current_user))
    return _back_to_group(group, run, _l("Saved."), appoint=form)


@bp.post("/<int:group_id>/settings")
def settings(group_id: int):
    group: PeerGroup = g.scoped
    form = GroupSettingsForm()
    languages = _settings_choices(form, group)
    run = run_form(form, lambda: service.update_settings(
        db_session(), group, language=form.language.data, languages=languages,
        meeting_place=form.meeting_place.data or "", period_days=form.period.data))
    return _back_to_manage(group, run, _l("Saved."), settings=form)


@bp.post("/<int:group_id>/members")
def add_member(group_id: int):
    group: PeerGroup = g.scoped
    form = MemberForm()
    form.member.choices = [(u.id, u.display_name) for u in service.candidates(db_session(), group)]
    run = run_form(form, lambda: service.add_member(
        db_session(), group, form.member.data, current_user))
    if run.done:
        outbox.log_after_commit(log, "group member added group=%s user=%s", group.id, run.result.id)
    return _back_to_manage(group, run, _l("Added to the group."), member=form)


@bp.post("/<int:group_id>/members/remove")
def remove_member(group_id: int):
    group: PeerGroup = g.scoped
    form = MemberForm(prefix="remove")  # the page also has the form that adds one
    form.member.choices = [(m.user_id, m.user.display_name)
                           for m in service.members(db_session(), group)]
    run = run_form(form, lambda: service.remove_member(db_session(), group, form.member.data))
    if run.done:
        outbox.log_after_commit(log, "group member removed group=%s user=%s",
                                group.id, form.member.data)
    return _back_to_manage(group, run, _l("Removed from the group."), remove=form)


@bp.post("/<int:group_id>/buddies")
def buddies(group_id: int):
    group: PeerGroup = g.scoped
    form = BuddyForm()
    roster = [(m.user_id, m.user.display_name) for m in service.members(db_session(), group)]
    form.first.choices = form.second.choices = roster
    run = run_form(form, lambda: service.pair_buddies(
        db_session(), group, form.first.data, form.second.data))
    return _back_to_manage(group, run, _l("They are buddies now."), buddy=form)


# --- The board -------------------------------------------------------------------------

def _board_answer(group: PeerGroup):
    """htmx: the board again; without JavaScript: back to the group page."""
    if request.htmx:
        me = current_user._get_current_object()
        leads = service.is_facilitator(db_session(), group, me)
        return render_template("groups/_board.html", group=group, leads=leads,
                               posts=service.board(db_session(), group, me, leads),
                               forms={"post": PostForm(formdata=None), "confirm": ConfirmForm()})
    return redirect(url_for("groups.show", group_id=group.id, _anchor="board"))


@bp.post("/<int:group_id>/posts")
def post(group_id: int):
    group: PeerGroup = g.scoped
    form = PostForm()
    run = run_form(form, lambda: service.add_post(
        db_session(), group, current_user, form.body.data))
    if run.done:
        outbox.log_after_commit(log, "group post group=%s post=%s", group.id, run.result.id)
        return redirect(url_for("groups.show", group_id=group.id, _anchor="board"))
    return _show(group, run.status, post=form)


@bp.post("/<int:group_id>/posts/<int:post_id>/hide")
def hide_post(group_id: int, post_id: int):
    group: PeerGroup = g.scoped
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.hide_post(db_session(), g.nested["post"], current_user)
    outbox.log_after_commit(log, "group post hidden group=%s post=%s", group.id, post_id)
    return _board_answer(group)


@bp.post("/<int:group_id>/posts/<int:post_id>/report")
def report_post(group_id: int, post_id: int):
    group: PeerGroup = g.scoped
    if not ConfirmForm().validate_on_submit():
        abort(400)
    service.report_post(db_session(), g.nested["post"], current_user)
    if not request.htmx:
        flash(_l("Thank you. The facilitator will look at it."), "info")
    return _board_answer(group)


# --- Meetings ----------------------------------------------------------------------------

@bp.route("/<int:group_id>/meetings/new", methods=["GET", "POST"])
def new_meeting(group_id: int):
    group: PeerGroup = g.scoped
    form = MeetingForm()
    form.topic.choices = [("", _l("My own words (write below)"))] + list(service.TOPICS.items())
    run = run_form(form, lambda: service.schedule_meeting(
        db_session(), group, current_user, local_start=form.starts_at.data,
        place=form.place.data or "", topic_key=form.topic.data or None,
        topic_text=form.topic_text.data or ""))
    if run.done:
        outbox.log_after_commit(log, "meeting scheduled group=%s meeting=%s",
                                group.id, run.result.id)
        flash(_l("The meeting is planned."), "info")
        return redirect(url_for("groups.meeting", group_id=group.id, meeting_id=run.result.id))
    return render_template("groups/new_meeting.html", group=group, form=form,
                           timezone=current_user.organisation.timezone), run.status


def _meeting_page(group: PeerGroup, meeting: Meeting, status: int = 200, error=None):
    session = db_session()
    me = current_user._get_current_object()
    leads = service.is_facilitator(session, group, me)
    answers = service.responses(session, meeting)
    context = dict(group=group, meeting=meeting, leads=leads, topic=service.topic_of(meeting),
                   roster=service.members(session, group), answers=answers,
                   mine=answers.get(me.id),
                   is_member=service.membership(session, group, me) is not None,
                   rsvp=RsvpForm(formdata=None), confirm=ConfirmForm(), error=error,
                   past=meeting.starts_at <= utcnow())
    return render_template("groups/meeting.html", **context), status


@bp.get("/<int:group_id>/meetings/<int:meeting_id>")
@offline_copy
def meeting(group_id: int, meeting_id: int):
    return _meeting_page(g.scoped, g.nested["meeting"])


@bp.post("/<int:group_id>/meetings/<int:meeting_id>/rsvp")
def rsvp(group_id: int, meeting_id: int):
    group: PeerGroup = g.scoped
    meeting: Meeting = g.nested["meeting"]
    form = RsvpForm()
    run = run_form(form, lambda: service.answer_meeting(db_session(), group, meeting, current_user,
                                                        form.coming.data == "yes"))
    if not run.done:
        return _meeting_page(group, meeting, run.status,
                             error=run.message or _l("Please choose one from the list."))
    if request.htmx:
        return render_template("groups/_rsvp.html", group=group, meeting=meeting, mine=run.result,
                               rsvp=RsvpForm(formdata=None))
    flash(_l("Thank you for your answer."), "info")
    return redirect(url_for("groups.meeting", group_id=group.id, meeting_id=meeting.id))


@bp.post("/<int:group_id>/meetings/<int:meeting_id>/cancel")
def cancel_meeting(group_id: int, meeting_id: int):
    group: PeerGroup = g.scoped
    meeting: Meeting = g.nested["meeting"]
    run = run_form(ConfirmForm(), lambda: service.cancel_meeting(db_session(), group, meeting))
    if not run.done:
        return _meeting_page(group, meeting, run.status, error=run.message)
    outbox.log_after_commit(log, "meeting cancelled meeting=%s told=%s",
                            meeting.id, len(run.result))
    flash(_l("The meeting is called off. The members are told."), "info")
    return redirect(url_for("groups.meeting", group_id=group.id, meeting_id=meeting.id))


@bp.post("/<int:group_id>/meetings/<int:meeting_id>/attendance")
def attendance(group_id: int, meeting_id: int):
    group: PeerGroup = g.scoped
    meeting: Meeting = g.nested["meeting"]
    form = AttendanceForm()
    run = run_form(form, lambda: service.record_attendance(db_session(), group, meeting,
                                                           set(values_of(form.present))))
    if not run.done:
        return _meeting_page(group, meeting, run.status,
                             error=run.message or _l("Please choose members of the group."))
    outbox.log_after_commit(log, "attendance meeting=%s present=%s", meeting.id, run.result)
    flash(_l("Attendance saved."), "info")
    return redirect(url_for("groups.meeting", group_id=group.id, meeting_id=meeting.id))


# --- The facilitator's overview -------------------------------------------------------------

def _overview(group: PeerGroup, form: RaiseForm | None = None, status: int = 200):
    since, rows = service.overview(db_session(), group)
    if form is None:
        form = RaiseForm(formdata=None)
    form.member.choices = [(r.member.id, r.member.display_name) for r in rows]
    return render_template("groups/overview.html", group=group, since=since, rows=rows,
                           moods=MOODS, form=form), status


@bp.get("/<int:group_id>/overview")
def overview(group_id: int):
    return _overview(g.scoped)


@bp.post("/<int:group_id>/raise")
def raise_member(group_id: int):
    group: PeerGroup = g.scoped
    form = RaiseForm()
    form.member.choices = [(m.user_id, m.user.display_name)
                           for m in service.members(db_session(), group)]
    run = run_form(form, lambda: service.raise_with_caseworker(
        db_session(), group, current_user, form.member.data, form.reason.data))
    if run.done:
        outbox.log_after_commit(log, "raised with caseworker group=%s raised=%s",
                                group.id, run.result.id)
        flash(_l("Sent to the caseworker."), "info")
        return redirect(url_for("groups.overview", group_id=group.id))
    return _overview(group, form, run.status)
