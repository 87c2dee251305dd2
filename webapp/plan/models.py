"""The future plan (issue #3): goals with steps, a comment thread per goal, and
the history of every change. The plan is the returnee's own; a caseworker
comments and suggests, and edits only with the returnee's recorded consent."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..models import User, UTCDateTime, utcnow

# Amounts: Decimal with two places, in the organisation's currency.
Money = Numeric(14, 2)


class Goal(Base):
    __tablename__ = "plan_goals"
    __table_args__ = (Index("ix_plan_goals_returnee_state", "returnee_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    area: Mapped[str] = mapped_column(String(24))
    # A goal from a starter keeps its key, so it reads in the viewer's language;
    # a goal in own words keeps the words.
    starter_key: Mapped[str | None] = mapped_column(String(40))
    title: Mapped[str | None] = mapped_column(String(200))
    why: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(16), default="not_started")
    # active; suggested (by staff, waiting for the returnee); declined.
    state: Mapped[str] = mapped_column(String(16), default="active")
    target_date: Mapped[date | None] = mapped_column(Date)
    support_needed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    budget_needed: Mapped[Decimal | None] = mapped_column(Money)
    budget_own: Mapped[Decimal | None] = mapped_column(Money)
    budget_asked: Mapped[Decimal | None] = mapped_column(Money)
    budget_granted: Mapped[Decimal | None] = mapped_column(Money)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    steps: Mapped[list[Step]] = relationship(back_populates="goal", order_by="Step.id")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    returnee: Mapped[User] = relationship(foreign_keys=[returnee_id])

    @property
    def steps_done(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def has_budget(self) -> bool:
        return any(v is not None for v in (self.budget_needed, self.budget_own,
                                           self.budget_asked, self.budget_granted))

    @property
    def budget_gap(self) -> Decimal:
        """What is still missing: needed minus own money minus granted micro-finance."""
        return ((self.budget_needed or Decimal(0)) - (self.budget_own or Decimal(0))
                - (self.budget_granted or Decimal(0)))


class Step(Base):
    __tablename__ = "plan_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("plan_goals.id"), index=True)
    text: Mapped[str] = mapped_column(String(300))
    target_date: Mapped[date | None] = mapped_column(Date)
    support_needed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    goal: Mapped[Goal] = relationship(back_populates="steps")

    @property
    def done(self) -> bool:
        return self.done_at is not None


class GoalComment(Base):
    """A thread per goal between the returnee and the staff who follow them."""

    __tablename__ = "plan_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    goal_id: Mapped[int] = mapped_column(ForeignKey("plan_goals.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class PlanChange(Base):
    """One change to a plan: who, when, which field, before and after. Rows are
    only added, never edited, and read as the plan's history."""

    __tablename__ = "plan_changes"
    __table_args__ = (Index("ix_plan_changes_returnee_at", "returnee_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    goal_id: Mapped[int] = mapped_column(ForeignKey("plan_goals.id"), index=True)
    step_id: Mapped[int | None] = mapped_column(ForeignKey("plan_steps.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # e.g. "goal" (added), "status", "why", "step" (added), "step_done", "state".
    field: Mapped[str] = mapped_column(String(24))
    before: Mapped[str | None] = mapped_column(String(1000))
    after: Mapped[str | None] = mapped_column(String(1000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    goal: Mapped[Goal] = relationship()
    step: Mapped[Step | None] = relationship()
    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
