"""Organisations in a network (issue #21): which organisation counsels people
before departure (sending) and which follows them after return (receiving),
who may hand over to whom, and each handover with the person's answer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base
from ..directory.models import Place
from ..models import Organisation, User, UTCDateTime, utcnow

SENDING = "sending"
RECEIVING = "receiving"
KINDS = (SENDING, RECEIVING)

# A handover's life: proposed by the sending side; agreed or refused by the
# person; accepted by the receiving coordinator (the case moves). Cancelled:
# the sending side took the proposal back before it was accepted.
PROPOSED, AGREED, REFUSED, ACCEPTED, CANCELLED = (
    "proposed", "agreed", "refused", "accepted", "cancelled")
OPEN = (PROPOSED, AGREED)



class OrganisationRelation(Base):
    """`from_organisation` may hand people over (and refer requests) to
    `to_organisation`. One direction; the other is a row of its own."""

    __tablename__ = "network_relations"
    __table_args__ = (UniqueConstraint("from_organisation_id", "to_organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    from_organisation: Mapped[Organisation] = relationship(foreign_keys=[from_organisation_id])
    to_organisation: Mapped[Organisation] = relationship(foreign_keys=[to_organisation_id])


class Handover(Base):
    """A person's case handed from one organisation to a related one, with the
    person's answer. At most one open (proposed or agreed) per person."""

    __tablename__ = "network_handovers"
    __table_args__ = (
        Index("uq_network_handovers_open", "returnee_id", unique=True,
              sqlite_where=text("status IN ('proposed', 'agreed')"),
              postgresql_where=text("status IN ('proposed', 'agreed')")),
        Index("ix_network_handovers_to", "to_organisation_id", "status"),
        Index("ix_network_handovers_from", "from_organisation_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    to_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=PROPOSED)
    # The person's choices, when they agree.
    share_history: Mapped[bool] = mapped_column(Boolean, default=False)
    share_milestones: Mapped[bool] = mapped_column(Boolean, default=False)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # What the sending side keeps (read-only), written at acceptance; emptied
    # when the person withdraws the agreement.
    summary: Mapped[dict | None] = mapped_column(JSON)
    # The person's support requests and concerns still open at the handover:
    # [{"case_id", "type", "about", "created_at"}]. Kept for the receiving side
    # when the person shared their history (the cases moved with it); else
    # None (the sending side closed them as handed over, and the receiving
    # side learns nothing of them).
    open_requests: Mapped[list | None] = mapped_column(JSON)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    returnee: Mapped[User] = relationship(foreign_keys=[returnee_id])
    from_organisation: Mapped[Organisation] = relationship(foreign_keys=[from_organisation_id])
    to_organisation: Mapped[Organisation] = relationship(foreign_keys=[to_organisation_id])
    proposed_by: Mapped[User | None] = relationship(foreign_keys=[proposed_by_id])


class LeftBehindNote(Base):
    """A staff note of the sending side (a support case's internal note, a
    follow-up's note): it never moves with the case; it stays here, with the
    organisation that wrote it."""

    __tablename__ = "network_left_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    handover_id: Mapped[int] = mapped_column(ForeignKey("network_handovers.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)


# A referral's life: asked (waiting for the person's agreement); refused by
# the person; open (agreed: the partner sees it); accepted or declined (with a
# reason) by the partner; done (the partner reported the outcome).
# To a listed service (a directory place), there is no other side in Footing:
# once the person agreed, the referring caseworker records what came of it
# (done, with one of PLACE_OUTCOMES and a short note), and may again later.
ASKED, OPEN_REFERRAL, DECLINED, DONE = "asked", "open", "declined", "done"
PLACE_OUTCOMES = ("reached", "helped", "not_helped", "could_not_reach")


class Referral(Base):
    """A support request referred to a related organisation, or to a listed
    service of the directory (`place_id`; exactly one of the two), with the
    person's agreement. The partner sees the request's own words (what the
    person wrote), never the thread or the staff notes."""

    __tablename__ = "network_referrals"
    __table_args__ = (
        Index("ix_network_referrals_to", "to_organisation_id", "status"),
        CheckConstraint("(to_organisation_id IS NULL) <> (place_id IS NULL)",
                        name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("support_cases.id"), index=True)
    returnee_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    from_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    # A partner organisation in Footing, or else a place of the directory.
    to_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    place_id: Mapped[int | None] = mapped_column(ForeignKey("directory_places.id"), index=True)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[str] = mapped_column(String(16), default=ASKED)
    # What the person agreed the partner may read: the category and their words.
    category: Mapped[str] = mapped_column(String(24), default="")
    text: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text, default="")  # a decline's
    outcome: Mapped[str] = mapped_column(Text, default="")  # reported when done
    # A place referral's outcome as the caseworker recorded it (PLACE_OUTCOMES).
    outcome_kind: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    returnee: Mapped[User] = relationship(foreign_keys=[returnee_id])
    from_organisation: Mapped[Organisation] = relationship(foreign_keys=[from_organisation_id])
    to_organisation: Mapped[Organisation | None] = relationship(
        foreign_keys=[to_organisation_id])
    place: Mapped[Place | None] = relationship(foreign_keys=[place_id])

    @property
    def to_place(self) -> bool:
        return self.place_id is not None
