"""The minute sweep: who is warned when, escalation at a breach, and each warning
once, however often it runs and from however many workers at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role, User
from portal.cases import services as cases
from portal.cases.models import CaseEvent, EventKind, Kind
from portal.clocks import services
from portal.clocks.models import ClockWarning, Notification
from portal.clocks.sweep import run_sweep
from portal.extensions import db
from tests.clocks.conftest import utc

AMS = "Europe/Amsterdam"
MON_0900 = utc("2026-03-02 09:00", AMS)


@pytest.fixture
def staff(world, make):
    """An assignee, an on-duty agent, and one off duty who is never told."""
    on_duty = make.user(Role.AGENT, name="Olga On-Duty", on_duty=True)
    off_duty = make.user(Role.AGENT, name="Frank Off-Duty")
    db.session.commit()
    return {"on_duty": on_duty, "off_duty": off_duty}


def notified(kind: str | None = None) -> set[str]:
    query = select(User.name).join(Notification, Notification.user_id == User.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return set(db.session.scalars(query))


def count(model) -> int:
    return db.session.scalar(select(func.count(model.id)))


def critical_with_intake(world, open_at, at=MON_0900):
    case = open_at(world.ana, at, Kind.CRITICAL)
    cases.take(case, world.agent)
    services.log_hotline_intake(
        case, world.agent, "Acme Mail", "Ana Acme", "+31 20 555 0199", "ana@acme.example", "down", now=at
    )
    db.session.commit()
    return case


def test_callback_warned_five_minutes_before_then_escalated_once_breached(world, staff, open_at):
    case = critical_with_intake(world, open_at)
    assert run_sweep(MON_0900 + timedelta(minutes=9, seconds=59)) == []
    sent = run_sweep(MON_0900 + timedelta(minutes=10))
    assert [(w.clock, w.stage) for w in sent] == [("callback", "due_soon")]
    assert notified("callback.due_soon") == {"Aidan Agent", "Olga On-Duty"}
    assert run_sweep(MON_0900 + timedelta(minutes=12)) == []
    assert run_sweep(MON_0900 + timedelta(minutes=15)) == []  # due, not yet late
    sent = run_sweep(MON_0900 + timedelta(minutes=15, seconds=1))
    assert [(w.clock, w.stage) for w in sent] == [("callback", "breached")]
    assert notified("callback.breached") == {"Aidan Agent", "Olga On-Duty", "Tess TAM", "Ada Admin"}
    escalations = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.ESCALATED)
    ).all()
    assert len(escalations) == 1
    assert escalations[0].data["clock"] == "callback" and not escalations[0].internal
    assert run_sweep(MON_0900 + timedelta(minutes=30)) == []
    assert count(ClockWarning) == 2


def test_a_callback_logged_in_time_is_never_escalated(world, staff, open_at):
    case = critical_with_intake(world, open_at)
    services.log_callback(case, world.agent, now=MON_0900 + timedelta(minutes=14, seconds=59))
    db.session.commit()
    assert all(w.clock != "callback" for w in run_sweep(MON_0900 + timedelta(minutes=16)))


def test_the_same_sweep_twice_sends_each_warning_once(world, staff, open_at):
    critical_with_intake(world, open_at)
    late = MON_0900 + timedelta(minutes=40)
    first = run_sweep(late)
    assert [(w.clock, w.stage) for w in first] == [("callback", "breached")]
    assert run_sweep(late) == []
    assert count(ClockWarning) == 1
    assert count(Notification) == 4


def test_updates_warned_per_deadline(world, staff, open_at):
    case = critical_with_intake(world, open_at)
    services.log_callback(case, world.agent, interval_minutes=30, now=MON_0900 + timedelta(minutes=5))
    db.session.commit()
    due = MON_0900 + timedelta(minutes=35)
    assert [(w.clock, w.stage) for w in run_sweep(due - timedelta(minutes=5))] == [("update", "due_soon")]
    assert [(w.clock, w.stage) for w in run_sweep(due + timedelta(minutes=1))] == [("update", "breached")]
    services.post_update(case, world.agent, "Still on it", now=due + timedelta(minutes=2))
    db.session.commit()
    next_due = due + timedelta(minutes=32)
    assert [(w.clock, w.stage, w.due_at) for w in run_sweep(next_due - timedelta(minutes=4))] == [
        ("update", "due_soon", next_due)
    ]
    assert count(ClockWarning) == 3


def test_first_response_warned_at_80_percent_of_its_business_hours(world, staff, open_at):
    case = open_at(world.ana, MON_0900)  # 8 business hours: due Mon 17:00
    assert run_sweep(utc("2026-03-02 15:23", AMS)) == []
    sent = run_sweep(utc("2026-03-02 15:24", AMS))  # 6 h 24 min used: 80%
    assert [(w.clock, w.stage, w.case_id) for w in sent] == [("first_response", "due_soon", case.id)]
    assert notified() == {"Olga On-Duty"}  # nobody owns it yet
    assert run_sweep(utc("2026-03-02 17:00", AMS)) == []
    assert [w.stage for w in run_sweep(utc("2026-03-02 17:00:01", AMS))] == ["breached"]
    assert notified("first_response.breached") == {"Olga On-Duty", "Tess TAM", "Ada Admin"}


def test_first_response_threshold_is_the_accounts_own_time(world, staff, open_at):
    # Friday 16:00 in Jakarta, 8 hours: 1 hour on Friday, due Monday 16:00 WIB.
    case = open_at(world.bo, utc("2026-03-06 16:00", "Asia/Jakarta"))
    assert case.first_response_due_at == utc("2026-03-09 16:00", "Asia/Jakarta")
    # Saturday: the clock stands still with 7 h left; no warning all weekend.
    assert run_sweep(utc("2026-03-07 12:00", "Asia/Jakarta")) == []
    assert run_sweep(utc("2026-03-09 14:23", "Asia/Jakarta")) == []
    assert [w.case_id for w in run_sweep(utc("2026-03-09 14:24", "Asia/Jakarta"))] == [case.id]


def test_answered_paused_and_resolved_cases_are_left_alone(world, staff, open_at):
    answered = open_at(world.ana, MON_0900)
    cases.reply(answered, world.agent, "On it")
    resolved = open_at(world.ana, MON_0900, Kind.CRITICAL)
    services.log_hotline_intake(resolved, world.agent, "A", "B", "1", "b@x.example", "d", now=MON_0900)
    cases.propose_resolution(resolved, world.ana, "Fine now", "fix")
    cases.accept_resolution(resolved, world.agent)
    db.session.commit()
    assert run_sweep(MON_0900 + timedelta(days=3)) == []


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_sweeping_at_once_send_each_warning_once(app, world, staff, open_at, workers):
    critical_with_intake(world, open_at)
    open_at(world.ana, MON_0900)
    open_at(world.bo, MON_0900)
    db.session.commit()
    late = MON_0900 + timedelta(days=2)
    barrier = threading.Barrier(workers)
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                results.append(len(run_sweep(late)))
                db.session.remove()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert sum(results) == 3  # callback + two first responses, breached once each
    db.session.commit()
    assert count(ClockWarning) == 3
    escalations = db.session.scalar(
        select(func.count(CaseEvent.id)).where(CaseEvent.kind == EventKind.ESCALATED)
    )
    assert escalations == 3
    per_user = db.session.execute(
        select(Notification.warning_id, Notification.user_id, func.count())
        .group_by(Notification.warning_id, Notification.user_id)
        .having(func.count() > 1)
    ).all()
    assert per_user == []


def test_each_warning_is_handed_to_the_outbox_once_per_recipient(world, staff, open_at):
    from portal.mail.models import OutboundMessage

    case = critical_with_intake(world, open_at)
    run_sweep(MON_0900 + timedelta(minutes=10))
    run_sweep(MON_0900 + timedelta(minutes=11))
    rows = db.session.scalars(select(OutboundMessage).where(OutboundMessage.case_id == case.id)).all()
    warned = sorted(r.to_address for r in rows if "Due soon" in r.subject)
    assert warned == sorted([world.agent.email, staff["on_duty"].email])
    assert all(case.reference in r.subject for r in rows)
