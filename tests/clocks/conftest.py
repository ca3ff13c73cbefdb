"""Clock fixtures: an injectable clock (no test sleeps) and cases opened at a
chosen moment."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from portal.cases.models import CaseEvent, Kind
from portal.clocks import clock
from portal.clocks.services import recompute_clocks
from portal.extensions import db


def utc(text: str, zone: str = "UTC") -> datetime:
    """Naive UTC, as stored, from a local time in ``zone``."""
    local = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))
    return local.astimezone(UTC).replace(tzinfo=None)


@pytest.fixture
def clock_at(monkeypatch):
    """``clock_at(moment)`` sets what ``portal.clocks.clock.now()`` answers."""

    def set_time(moment: datetime) -> datetime:
        monkeypatch.setattr(clock, "now", lambda: moment)
        return moment

    return set_time


def backdate(case, moment: datetime) -> None:
    """Open the case at ``moment``: its created_at and its CREATED event."""
    case.created_at = moment
    case.last_activity_at = moment
    if case.awaiting_provider_since is not None:
        case.awaiting_provider_since = moment
    for event in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)):
        event.created_at = moment
    recompute_clocks(case)
    db.session.commit()


@pytest.fixture
def open_at(make):
    """``open_at(requester, moment, kind=..., **details)``: a case opened at ``moment``."""

    def factory(requester, moment: datetime, kind: Kind = Kind.BUG, subject="Bounces look wrong", **details):
        if kind == Kind.CRITICAL and not details:
            details = {
                "channel": "api",
                "since": "2026-03-02T08:50",
                "error_samples": "500 internal error",
                "contact_phone": "+31 20 555 0199",
            }
        case = make.case(requester, kind, subject=subject, **details)
        backdate(case, moment)
        return case

    return factory


def last_event_id(case) -> int:
    return db.session.scalar(
        select(CaseEvent.id).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    ) or 0


def stamp_events_after(case, after: int, moment: datetime) -> None:
    """Move the events written since event ``after`` to ``moment``, then recompute."""
    for event in db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.id > after)
    ):
        event.created_at = moment
    if case.first_response_at is not None and case.first_response_at > moment:
        case.first_response_at = moment
    recompute_clocks(case)
