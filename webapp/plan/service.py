"""The future plan's domain logic (issue #3).

Every change goes through here and leaves a `PlanChange` row (who, when,
before → after). Who may change a plan: the returnee, and their current
caseworker only while the returnee's latest consent says
`caseworker_may_edit_plan`. Everyone who may see a plan may comment on it;
staff may suggest goals, which the returnee accepts or declines.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, joinedload, selectinload

from ..auth.service import latest_choices
from ..errors import DomainError
from ..i18n import format_currency, format_date
from ..models import Role, User, utcnow
from ..people.service import current_caseworker_id, visible_returnee
from ..support import choices as support_choices, service as support
from .catalog import AREAS, STARTERS, STATUSES
from .models import Goal, GoalComment, PlanChange, Step

TITLE_MAX = 200
WHY_MAX = 1000
STEP_MAX = 300
COMMENT_MAX = 2000
AMOUNT_MAX = Decimal("1000000000")  # more than any micro-business plan needs
BUDGET_FIELDS = ("budget_needed", "budget_own", "budget_asked", "budget_granted")
HISTORY_SHOWN = 30


class NotAllowed(DomainError):
    status = 403


# --- Reading --------------------------------------------------------------------

def goal_title(goal: Goal) -> str:
    if goal.starter_key in STARTERS:
        return str(STARTERS[goal.starter_key][1])
    return goal.title or ""


def caseworker_may_edit(session: Session, returnee: User) -> bool:
    """The returnee's latest consent record decides (a change adds a row)."""
    return latest_choices(session, returnee)["caseworker_may_edit_plan"]


def may_edit(session: Session, viewer: User, returnee: User) -> bool:
    if viewer.id == returnee.id:
        return viewer.role == Role.RETURNEE.value
    return (viewer.role == Role.CASEWORKER.value
            and viewer.organisation_id == returnee.organisation_id
            and current_caseworker_id(session, returnee.id) == viewer.id
            and caseworker_may_edit(session, returnee))


@dataclass
class AreaPlan:
    key: str
    label: object
    goals: list[Goal] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return sum(len(g.steps) for g in self.goals)

    @property
    def steps_done(self) -> int:
        return sum(g.steps_done for g in self.goals)


@dataclass
class Plan:
    owner: User
    areas: list[AreaPlan]
    suggestions: list[Goal]
    removed: list[Goal]  # taken out of the plan: kept, and can be put back
    comment_counts: dict[int, int]
    history: list[PlanChange]

    @property
    def goals(self) -> list[Goal]:
        return [g for a in self.areas for g in a.goals]


def load_plan(session: Session, owner: User, *, history: int = HISTORY_SHOWN) -> Plan:
    """The whole plan in a fixed number of queries, whatever its size."""
    goals = session.scalars(
        select(Goal).where(Goal.returnee_id == owner.id, Goal.state != "declined")
        .options(selectinload(Goal.steps)).order_by(Goal.id)).all()
    by_area: dict[str, list[Goal]] = defaultdict(list)
    suggestions, removed = [], []
    for goal in goals:
        if goal.state == "suggested":
            suggestions.append(goal)
        elif goal.state == "removed":
            removed.append(goal)
        else:
            by_area[goal.area].append(goal)
    counts = dict(session.execute(
        select(GoalComment.goal_id, func.count()).join(Goal, Goal.id == GoalComment.goal_id)
        .where(Goal.returnee_id == owner.id).group_by(GoalComment.goal_id)).all())
    changes = session.scalars(
        select(PlanChange).where(PlanChange.returnee_id == owner.id)
        .options(joinedload(PlanChange.goal), joinedload(PlanChange.step),
                 joinedload(PlanChange.actor))
        .order_by(PlanChange.at.desc(), PlanChange.id.desc()).limit(history)).all()
    return Plan(owner=owner,
                areas=[AreaPlan(key, label, by_area.get(key, [])) for key, label in AREAS.items()],
                suggestions=suggestions, removed=removed, comment_counts=counts,
                history=list(changes))


def comments_of(session: Session, goal: Goal) -> list[GoalComment]:
    return list(session.scalars(select(GoalComment).where(GoalComment.goal_id == goal.id)
                                .order_by(GoalComment.created_at, GoalComment.id)))


# --- Checks shared by forms and services -------------------------------------------

def check_date(value: date | None, field_name: str = "target_date") -> None:
    """A plan's dates: from a year ago (something just done) to ten years ahead."""
    if value is None:
        return
    today = date.today()
    if not today - timedelta(days=366) <= value <= today + timedelta(days=3653):
        raise DomainError(_l("Please choose a date between one year ago and ten years from now."),
                          field=field_name)


def check_amount(value: Decimal | None, field_name: str) -> None:
    if value is None:
        return
    if not value.is_finite() or value < 0:
        raise DomainError(_l("Please enter an amount of 0 or more."), field=field_name)
    if value > AMOUNT_MAX:
        raise DomainError(_l("This amount is too large. Please check it."), field=field_name)


def _text(value: str | None, limit: int, field_name: str, *, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_l("Please fill this in."), field=field_name)
    if len(value) > limit:
        raise DomainError(_l("Please use at most %(max)d characters.", max=limit), field=field_name)
    return value


def _require_may_edit(session: Session, actor: User, goal: Goal) -> None:
    if not may_edit(session, actor, goal.returnee):
        raise NotAllowed(_l("Only the person can change this plan, or their caseworker "
                            "when the person agreed to that."))


def _require_edit(session: Session, actor: User, goal: Goal) -> None:
    _require_may_edit(session, actor, goal)
    if goal.state != "active":
        raise DomainError(_l("This goal is a suggestion. Accept it first."))


# --- Changes ------------------------------------------------------------------------

def _record(session: Session, actor: User, goal: Goal, field_name: str, before: object,
            after: object, step: Step | None = None) -> None:
    def raw(v: object) -> str | None:
        if v is None:
            return None
        if isinstance(v, bool):
            return "1" if v else "0"
        if isinstance(v, date):
            return v.isoformat()
        return str(v)[:1000]

    session.add(PlanChange(organisation_id=goal.organisation_id, returnee_id=goal.returnee_id,
                           goal=goal, step=step, actor_id=actor.id, field=field_name,
                           before=raw(before), after=raw(after)))


def _new_goal(session: Session, actor: User, owner: User, *, area: str | None,
              starter_key: str | None, title: str | None, why: str, state: str) -> Goal:
    if starter_key:
        if starter_key not in STARTERS:
            raise DomainError(_l("Please choose one from the list."), field="starter")
        area = STARTERS[starter_key][0]
        title = None
    else:
        starter_key = None
        title = _text(title, TITLE_MAX, "title", required=True)
    if area not in AREAS:
        raise DomainError(_l("Please choose one from the list."), field="area")
    why = _text(why, WHY_MAX, "why", required=False)
    goal = Goal(organisation_id=owner.organisation_id, returnee_id=owner.id, returnee=owner,
                area=area, starter_key=starter_key, title=title, why=why, state=state,
                status="not_started", created_by_id=actor.id)
    session.add(goal)
    session.flush()
    return goal


def add_goal(session: Session, actor: User, owner: User, *, area: str | None = None,
             starter_key: str | None = None, title: str | None = None, why: str = "") -> Goal:
    if not may_edit(session, actor, owner):
        raise NotAllowed(_l("Only the person can change this plan, or their caseworker "
                            "when the person agreed to that."))
    goal = _new_goal(session, actor, owner, area=area, starter_key=starter_key, title=title,
                     why=why, state="active")
    _record(session, actor, goal, "goal", None, goal_title(goal))
    session.flush()
    return goal


def suggest_goal(session: Session, actor: User, owner: User, *, area: str | None = None,
                 starter_key: str | None = None, title: str | None = None,
                 why: str = "") -> Goal:
    """A staff member proposes a goal; it joins the plan only when accepted."""
    if not actor.is_staff:
        raise NotAllowed(_l("You cannot do this."))
    goal = _new_goal(session, actor, owner, area=area, starter_key=starter_key, title=title,
                     why=why, state="suggested")
    _record(session, actor, goal, "suggested", None, goal_title(goal))
    session.flush()
    return goal


def answer_suggestion(session: Session, actor: User, goal: Goal, *, accept: bool) -> None:
    if actor.id != goal.returnee_id:
        raise NotAllowed(_l("You cannot do this."))
    if goal.state != "suggested":
        raise DomainError(_l("This suggestion was already answered."))
    goal.state = "active" if accept else "declined"
    _record(session, actor, goal, "state", "suggested", goal.state)
    session.flush()


# "Support needed" asks the partner for help: a support request in the area's
# category, in the returnee's requests and the caseworker's inbox (issue #5).
AREA_CATEGORY = {"work": "work", "business": "business", "housing": "housing",
                 "skills": "education", "health": "health", "family": "family",
                 "wellbeing": "psychosocial", "safety": "other", "papers": "papers"}


def _request_support(session: Session, goal: Goal, step: Step | None = None) -> None:
    details = goal_title(goal) + (f": {step.text}" if step is not None else "")
    support.create_request(session, goal.returnee,
                           category=AREA_CATEGORY.get(goal.area, "other"), contact_way="app",
                           details=details[:support_choices.DETAILS_MAX])


def update_goal(session: Session, actor: User, goal: Goal, *, title: str | None,
                why: str | None, target_date: date | None, support_needed: bool,
                budget: dict[str, Decimal | None] | None = None) -> None:
    """Save the goal's details; each field that changed leaves a history row."""
    _require_edit(session, actor, goal)
    title = _text(title, TITLE_MAX, "title", required=True)
    why = _text(why, WHY_MAX, "why", required=False)
    check_date(target_date)
    for name, amount in (budget or {}).items():
        if name not in BUDGET_FIELDS:
            raise ValueError(name)
        check_amount(amount, name)
    if title != goal_title(goal):
        # A starter goal reworded becomes the person's own words.
        _record(session, actor, goal, "title", goal_title(goal), title)
        goal.starter_key, goal.title = None, title
    changes = {"why": why, "target_date": target_date, "support_needed": bool(support_needed),
               **(budget or {})}
    for name, value in changes.items():
        before = getattr(goal, name)
        if isinstance(value, Decimal):
            value = value.quantize(Decimal("0.01"))
        if before != value:
            _record(session, actor, goal, name, before, value)
            setattr(goal, name, value)
            if name == "support_needed" and value:
                _request_support(session, goal)
    session.flush()


def set_status(session: Session, actor: User, goal: Goal, status: str) -> None:
    _require_edit(session, actor, goal)
    if status not in STATUSES:
        raise DomainError(_l("Please choose one from the list."), field="status")
    if status != goal.status:
        _record(session, actor, goal, "status", goal.status, status)
        goal.status = status
    session.flush()


def add_step(session: Session, actor: User, goal: Goal, *, text: str | None,
             target_date: date | None = None, support_needed: bool = False) -> Step:
    _require_edit(session, actor, goal)
    text = _text(text, STEP_MAX, "text", required=True)
    check_date(target_date)
    step = Step(organisation_id=goal.organisation_id, goal=goal, text=text,
                target_date=target_date, support_needed=bool(support_needed))
    session.add(step)
    session.flush()
    _record(session, actor, goal, "step", None, text, step=step)
    if support_needed:
        _record(session, actor, goal, "step_support", False, True, step=step)
        _request_support(session, goal, step)
    session.flush()
    return step


def set_step_done(session: Session, actor: User, step: Step, done: bool) -> None:
    _require_edit(session, actor, step.goal)
    if done == step.done:
        return  # a repeated tap changes nothing and records nothing
    _record(session, actor, step.goal, "step_done", step.done, done, step=step)
    step.done_at = utcnow() if done else None
    session.flush()


def set_in_plan(session: Session, actor: User, goal: Goal, in_plan: bool) -> None:
    """Take a goal out of the plan, or put it back. Either way it keeps its
    steps and messages, and the history says who did it when."""
    _require_may_edit(session, actor, goal)
    if goal.state not in ("active", "removed"):
        raise DomainError(_l("This goal is a suggestion. Accept it first."))
    if in_plan == (goal.state == "active"):
        return  # a repeated tap changes nothing and records nothing
    _record(session, actor, goal, "in_plan", not in_plan, in_plan)
    goal.state = "active" if in_plan else "removed"
    session.flush()


def remove_step(session: Session, actor: User, step: Step) -> None:
    """A step taken out goes from the goal; the history keeps its words."""
    goal = step.goal
    _require_edit(session, actor, goal)
    _record(session, actor, goal, "step_removed", step.text, None)
    session.flush()
    session.execute(update(PlanChange).where(PlanChange.step_id == step.id).values(step_id=None))
    session.delete(step)
    session.flush()
    session.expire(goal, ["steps"])


def add_comment(session: Session, author: User, goal: Goal,
                body: str | None) -> GoalComment:
    """Anyone who may see the goal may write in its thread (the scope checks that)."""
    body = _text(body, COMMENT_MAX, "body", required=True)
    comment = GoalComment(organisation_id=goal.organisation_id, goal_id=goal.id,
                          author_id=author.id, author=author, body=body)
    session.add(comment)
    session.flush()
    return comment


# --- History, readable ----------------------------------------------------------------

FIELD_LABELS = {
    "goal": _l("New goal"),
    "suggested": _l("Goal suggested"),
    "state": _l("Suggestion"),
    "title": _l("Goal"),
    "why": _l("Why it matters"),
    "target_date": _l("Target date"),
    "support_needed": _l("Support needed"),
    "status": _l("Status"),
    "step": _l("New step"),
    "step_done": _l("Step done"),
    "step_support": _l("Support needed for a step"),
    "step_removed": _l("Step taken out"),
    "in_plan": _l("In the plan"),
    "budget_needed": _l("Money needed in total"),
    "budget_own": _l("My own money"),
    "budget_asked": _l("Micro-finance asked"),
    "budget_granted": _l("Micro-finance granted"),
}
STATE_LABELS = {"suggested": _l("waiting for an answer"), "active": _l("accepted"),
                "declined": _l("declined")}


def describe_change(change: PlanChange, currency: str) -> tuple[str, str, str]:
    """(what changed, before, after) in the viewer's language."""
    def show(raw: str | None) -> str:
        if raw is None or raw == "":
            return "–"
        name = change.field
        if name == "status":
            return str(STATUSES.get(raw, raw))
        if name == "state":
            return str(STATE_LABELS.get(raw, raw))
        if name in ("support_needed", "step_done", "step_support", "in_plan"):
            return str(_l("yes") if raw == "1" else _l("no"))
        if name == "target_date":
            return format_date(date.fromisoformat(raw), "medium")
        if name in BUDGET_FIELDS:
            return format_currency(Decimal(raw), currency)
        if name in ("goal", "suggested") and change.goal.starter_key in STARTERS:
            return goal_title(change.goal)  # in the viewer's language
        return raw

    label = str(FIELD_LABELS.get(change.field, change.field))
    return label, show(change.before), show(change.after)


# --- Who may see what (access.SCOPES) ----------------------------------------

def visible_goal(session: Session, viewer: User, goal_id: int) -> Goal | None:
    """A goal of a plan the viewer may read (issue #3)."""
    goal = session.get(Goal, goal_id)
    if goal is None or goal.organisation_id != viewer.organisation_id:
        return None
    return goal if visible_returnee(session, viewer, goal.returnee_id) is not None else None


def visible_step(session: Session, viewer: User, step_id: int) -> Step | None:
    """A step of a goal the viewer may read (issue #3)."""
    step = session.get(Step, step_id)
    if step is None or step.organisation_id != viewer.organisation_id:
        return None
    return step if visible_goal(session, viewer, step.goal_id) is not None else None
