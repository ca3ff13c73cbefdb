"""Business hours with their history, and the warnings the clock sweep sends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import db
from portal.timeutil import utcnow


class BusinessSchedule(db.Model):
    """One version of an account's business hours. The provider may expand or
    contract hours over time, so versions are kept: the one in force at a moment
    is the latest whose ``effective_from`` is not after it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    effective_from: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    # {"mon": [["09:00", "17:00"]], ...}; an end at or before its start runs past midnight.
    hours: Mapped[dict] = mapped_column(JSON)
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    closed_dates: Mapped[list] = mapped_column(JSON, default=list)  # ["2026-12-24", ...]
    changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    changed_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_business_schedule_account_from", "account_id", "effective_from"),)


class ClockWarning(db.Model):
    """A warning that went out. The unique key is what makes the sweep send each
    warning once, however often and from however many workers it runs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), index=True)
    clock: Mapped[str] = mapped_column(String(20))  # first_response | callback | update
    stage: Mapped[str] = mapped_column(String(20))  # due_soon | breached
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("case_id", "clock", "stage", "due_at", name="uq_clock_warning_key"),)


class Notification(db.Model):
    """An entry in a staff member's notifications list on the desk."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    warning_id: Mapped[int | None] = mapped_column(ForeignKey("clock_warning.id"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_notification_user_id_id", "user_id", "id"),)
