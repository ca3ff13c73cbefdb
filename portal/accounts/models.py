from __future__ import annotations

import enum
import hashlib
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_login import UserMixin
from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


def login_fingerprint(password_hash: str | None) -> str:
    """What the login id carries of the password hash (see ``User.get_id``)."""
    return hashlib.sha256((password_hash or "").encode()).hexdigest()[:16]


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    TAM = "tam"
    ADMIN = "admin"


STAFF_ROLES = (Role.AGENT, Role.TAM, Role.ADMIN)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_HOURS = {day: [["09:00", "17:00"]] for day in WEEKDAYS[:5]}


class Account(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tam_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", use_alter=True))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # {"mon": [["09:00", "17:00"]], ...} in the account's time zone.
    business_hours: Mapped[dict] = mapped_column(JSON, default=lambda: dict(DEFAULT_HOURS))
    response_target_hours: Mapped[int] = mapped_column(default=8)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    tam: Mapped[User | None] = relationship(foreign_keys=[tam_id])
    users: Mapped[list[User]] = relationship(
        back_populates="account", foreign_keys="User.account_id"
    )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def windows_around(self, moment: datetime) -> list[tuple[datetime, datetime]]:
        """Business-hour windows, as aware datetimes, from a day before to a week after."""
        local = moment.astimezone(self.zone)
        windows = []
        for offset in range(-1, 8):
            day = (local + timedelta(days=offset)).date()
            for start, end in self.business_hours.get(WEEKDAYS[day.weekday()], []):
                opens = datetime.combine(day, time.fromisoformat(start), self.zone)
                closes = datetime.combine(day, time.fromisoformat(end), self.zone)
                if closes <= opens:  # hours past midnight
                    closes += timedelta(days=1)
                windows.append((opens, closes))
        return sorted(windows)

    def reachability(self, moment: datetime) -> tuple[bool, datetime | None]:
        """(open now, until when) when open; (False, next opening) when closed.

        Read from the account's business-hours versions with their holidays and
        closed dates (``portal.clocks``), not only the weekly hours above."""
        from portal.clocks.services import reachability

        return reachability(self, moment)


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), default=Role.CUSTOMER)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(40))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    active: Mapped[bool] = mapped_column(default=True)
    on_duty: Mapped[bool] = mapped_column(default=False)
    # {"agent_reply": false, ...}: a missing key means the default (on).
    notification_prefs: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    account: Mapped[Account | None] = relationship(
        back_populates="users", foreign_keys=[account_id]
    )

    def get_id(self) -> str:
        """The id kept in the session and remember cookie: the user id and a
        fingerprint of the password hash, so setting a new password (a reset after
        a suspected compromise) ends every other session of the person."""
        return f"{self.id}.{self.login_fingerprint}"

    @property
    def login_fingerprint(self) -> str:
        return login_fingerprint(self.password_hash)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active and self.password_hash is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_customer(self) -> bool:
        return self.role == Role.CUSTOMER

    @property
    def side(self) -> str:
        """Which party of the contract this person speaks for."""
        return "customer" if self.is_customer else "provider"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AuditLog(db.Model):
    """Who changed accounts and users, and how; cases keep their own timeline."""

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(200))
    details: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
