from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Computed, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import Account, User
from portal.extensions import db
from portal.timeutil import utcnow


class Kind(enum.StrEnum):
    BUG = "bug"
    CONFIGURATION = "configuration"
    INFORMATION = "information"
    CRITICAL = "critical"
    REMEDIATION = "remediation"
    PLANNING = "planning"


class Status(enum.StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLVED = "resolved"


OPEN_STATUSES = tuple(s for s in Status if s != Status.RESOLVED)

KIND_LABELS = {
    Kind.BUG: "Bug report",
    Kind.CONFIGURATION: "Configuration request",
    Kind.INFORMATION: "Information request",
    Kind.CRITICAL: "Critical (Severity 1)",
    Kind.REMEDIATION: "Tier 1 remediation",
    Kind.PLANNING: "Planning request",
}

STATUS_LABELS = {
    Status.NEW: "New",
    Status.IN_PROGRESS: "In progress",
    Status.WAITING_ON_CUSTOMER: "Waiting on customer",
    Status.RESOLUTION_PROPOSED: "Resolution proposed",
    Status.RESOLVED: "Resolved",
}


class EventKind(enum.StrEnum):
    CREATED = "created"
    COMMENT = "comment"
    INTERNAL_NOTE = "internal_note"
    INFORMATION_REQUESTED = "information_requested"
    STATUS_CHANGED = "status_changed"
    ASSIGNED = "assigned"
    ESCALATED = "escalated"
    HOTLINE_INTAKE = "hotline_intake"
    CALLBACK_MADE = "callback_made"
    UPDATE_POSTED = "update_posted"
    CADENCE_AGREED = "cadence_agreed"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLUTION_ACCEPTED = "resolution_accepted"
    RESOLUTION_DISPUTED = "resolution_disputed"
    ATTACHMENT_ADDED = "attachment_added"
    MAIL_RECEIVED = "mail_received"
    MAIL_SENT = "mail_sent"


# Entries a person wrote, shown as cards; the rest are one-line system entries.
CONVERSATION_EVENTS = {
    EventKind.CREATED,
    EventKind.COMMENT,
    EventKind.INTERNAL_NOTE,
    EventKind.INFORMATION_REQUESTED,
    EventKind.RESOLUTION_PROPOSED,
    EventKind.RESOLUTION_DISPUTED,
    EventKind.UPDATE_POSTED,
}


# "No such time" in the queue's sort columns: after every real date.
NEVER = "'9999-12-31 00:00:00'"


class CaseNames:
    """How a case is named on pages, for anything with its id, kind and status (a
    Case, or a list's CaseRow)."""

    __slots__ = ()
    id: int
    kind: str
    status: str

    @property
    def reference(self) -> str:
        return format_reference(self.id)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]  # a StrEnum member and its value are the same key

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class Case(CaseNames, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(24), default=Status.NEW)
    # 0 for critical, 1 for the rest: the queue's first sort key, indexable.
    priority: Mapped[int] = mapped_column(default=1)
    subject: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict] = mapped_column(JSON, default=dict)
    # Set while the next move is the provider's; cleared while the customer's.
    awaiting_provider_since: Mapped[datetime | None]
    proposed_by: Mapped[str | None] = mapped_column(String(16))  # "customer" | "provider"
    resolution_kind: Mapped[str | None] = mapped_column(String(16))  # "fix" | "workaround"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # The clocks: due times are stored so sweeps and queues are indexed queries,
    # and recomputed from the events by one function whenever an event moves them.
    first_response_due_at: Mapped[datetime | None] = mapped_column(index=True)
    hotline_intake_at: Mapped[datetime | None]
    callback_due_at: Mapped[datetime | None] = mapped_column(index=True)
    callback_at: Mapped[datetime | None]
    update_interval_minutes: Mapped[int] = mapped_column(default=60, server_default="60")
    next_update_due_at: Mapped[datetime | None] = mapped_column(index=True)
    # The desk queue's order, kept by the database from the columns above: the
    # earliest running clock, and since when the customer has waited on us, with a
    # far-future date for "none" so that one index (ix_case_queue_order) serves the
    # whole order. Virtual on SQLite, stored on PostgreSQL (see the migration).
    queue_due: Mapped[datetime] = mapped_column(
        Computed(f"coalesce(callback_due_at, next_update_due_at, first_response_due_at, {NEVER})"),
        deferred=True,
    )
    queue_waiting: Mapped[datetime] = mapped_column(
        Computed(f"coalesce(awaiting_provider_since, {NEVER})"), deferred=True
    )

    account: Mapped[Account] = relationship()
    requester: Mapped[User] = relationship(foreign_keys=[requester_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    __table_args__ = (
        # A customer's list: their account's cases by last activity, and the open count.
        Index("ix_case_account_activity", "account_id", "last_activity_at", "id"),
        Index("ix_case_account_status", "account_id", "status"),
        # The desk queue: critical first, then least time left, then longest waiting.
        Index("ix_case_queue_order", "priority", "queue_due", "queue_waiting", "id"),
    )

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED


def format_reference(case_id: int) -> str:
    return f"CS-{case_id:06d}"


def parse_reference(reference: str) -> int | None:
    prefix, _, digits = reference.upper().partition("-")
    if prefix != "CS" or not digits.isdigit() or len(digits) > 12:
        return None
    return int(digits)


class CaseEvent(db.Model):
    """One timeline entry. Append-only; its id is the polling cursor."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    kind: Mapped[str] = mapped_column(String(32))
    body: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    internal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="event", order_by="Attachment.id"
    )

    __table_args__ = (Index("ix_case_event_case_id_id", "case_id", "id"),)

    @property
    def is_conversation(self) -> bool:
        return self.kind in CONVERSATION_EVENTS


class Attachment(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("case_event.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[CaseEvent | None] = relationship(back_populates="attachments")
