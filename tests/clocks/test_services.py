"""The clocks kept by the services: due columns recomputed from events, the
critical path's rules and boundaries, business hours as versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import AuditLog, Role
from portal.cases import services as cases
from portal.cases.models import CaseEvent, EventKind, Kind, Status
from portal.clocks import services
from portal.clocks.models import BusinessSchedule
from portal.clocks.services import derive_for
from portal.errors import Conflict, PermissionDenied
from portal.extensions import db
from tests.clocks.conftest import last_event_id, stamp_events_after, utc

AMS = "Europe/Amsterdam"
MON_0900 = utc("2026-03-02 09:00", AMS)  # Acme's hours: Mon-Fri 09:00-17:00, Amsterdam


def events_of(case, kind):
    return db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == kind).order_by(CaseEvent.id)
    ).all()


# --- First response ---------------------------------------------------------------------


def test_opening_a_case_sets_its_first_response_due_in_business_hours(world, open_at):
    case = open_at(world.ana, utc("2026-03-27 15:00", AMS))  # Friday, before the DST weekend
    assert case.first_response_due_at == utc("2026-03-30 15:00", AMS)
    assert case.callback_due_at is None and case.next_update_due_at is None


def test_the_due_time_is_set_in_the_transaction_that_opens_the_case(world, make):
    case = make.case(world.ana, Kind.CONFIGURATION, change="Add a sending domain")
    assert case.first_response_due_at is not None
    assert case.first_response_due_at > case.created_at


def test_staff_answer_stops_the_first_response_clock(world, open_at):
    case = open_at(world.ana, MON_0900)
    cases.reply(case, world.ana, "More detail from us")
    db.session.commit()
    assert case.first_response_due_at == utc("2026-03-02 17:00", AMS)  # a customer's words move nothing
    before = last_event_id(case)
    cases.reply(case, world.agent, "Looking at it")
    stamp_events_after(case, before, MON_0900 + timedelta(hours=3))
    db.session.commit()
    assert case.first_response_due_at is None
    state = derive_for(case)
    assert state.first_response_outcome(datetime.now(UTC)) == "met"


def test_an_internal_note_is_not_a_first_response(world, open_at):
    case = open_at(world.ana, MON_0900)
    cases.add_internal_note(case, world.agent, "Probably DNS")
    db.session.commit()
    assert case.first_response_due_at == utc("2026-03-02 17:00", AMS)


def test_waiting_on_the_customer_pauses_the_first_response_clock(world, open_at):
    # Through the services a case only waits on the customer after support spoke;
    # the rule is kept for any path (mail, staff tools) that pauses it without a reply.
    case = open_at(world.ana, MON_0900)
    case.status = Status.WAITING_ON_CUSTOMER
    before = last_event_id(case)
    cases.add_event(case, EventKind.STATUS_CHANGED, None, old="new", new="waiting_on_customer")
    stamp_events_after(case, before, utc("2026-03-02 11:00", AMS))
    assert case.first_response_due_at is None
    state = derive_for(case)
    assert state.paused_since is not None
    assert state.first_response_left == timedelta(hours=6)
    case.status = Status.IN_PROGRESS
    before = last_event_id(case)
    cases.add_event(case, EventKind.STATUS_CHANGED, None, old="waiting_on_customer", new="in_progress")
    stamp_events_after(case, before, utc("2026-03-03 09:00", AMS))
    assert case.first_response_due_at == utc("2026-03-03 15:00", AMS)


def test_critical_cases_have_no_first_response_clock(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    assert case.first_response_due_at is None


def test_a_resolved_case_runs_no_clock(world, open_at):
    case = open_at(world.ana, MON_0900)
    cases.propose_resolution(case, world.ana, "Solved it ourselves")
    cases.accept_resolution(case, world.agent)
    db.session.commit()
    assert case.first_response_due_at is None


# --- The critical path ---------------------------------------------------------------


def intake(case, agent, now):
    return services.log_hotline_intake(
        case, agent, "Acme Mail", "Ana Acme", "+31 20 555 0199", "ana@acme.example", "API down", now=now
    )


def test_hotline_intake_starts_the_15_minute_callback_clock(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    event = intake(case, world.agent, MON_0900 + timedelta(minutes=3))
    db.session.commit()
    assert case.hotline_intake_at == MON_0900 + timedelta(minutes=3)
    assert case.callback_due_at == MON_0900 + timedelta(minutes=18)
    assert event.data["contact_name"] == "Ana Acme" and event.body == "API down"
    assert event.created_at == MON_0900 + timedelta(minutes=3)


def test_the_callback_clock_runs_around_the_clock(world, open_at):
    sunday_night = utc("2026-03-08 03:10", AMS)
    case = open_at(world.ana, sunday_night, Kind.CRITICAL)
    intake(case, world.agent, sunday_night)
    assert case.callback_due_at == sunday_night + timedelta(minutes=15)


@pytest.mark.parametrize(
    "after, outcome",
    [
        (timedelta(minutes=14, seconds=59), "met"),
        (timedelta(minutes=15), "met"),
        (timedelta(minutes=15, seconds=1), "missed"),
    ],
)
def test_callback_boundary(world, open_at, after, outcome):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    intake(case, world.agent, MON_0900)
    event = services.log_callback(case, world.agent, now=MON_0900 + after)
    db.session.commit()
    assert case.callback_at == MON_0900 + after
    assert case.callback_due_at is None  # the clock stopped
    assert event.data["within_target"] is (outcome == "met")
    assert derive_for(case).callback_outcome(datetime.now(UTC)) == outcome


def test_callback_agrees_the_update_interval_and_starts_the_update_clock(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    intake(case, world.agent, MON_0900)
    services.log_callback(case, world.agent, interval_minutes=30, note="Agreed updates every 30", now=MON_0900 + timedelta(minutes=9))
    db.session.commit()
    assert case.update_interval_minutes == 30
    assert case.next_update_due_at == MON_0900 + timedelta(minutes=39)
    assert [e.data["minutes"] for e in events_of(case, EventKind.CADENCE_AGREED)] == [30]
    assert case.status == Status.IN_PROGRESS  # the callback is support's first answer
    assert case.first_response_at is not None


def test_each_update_restarts_the_next_update_clock(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    intake(case, world.agent, MON_0900)
    services.log_callback(case, world.agent, now=MON_0900 + timedelta(minutes=10))
    services.post_update(case, world.agent, "Engineers are on it", now=MON_0900 + timedelta(minutes=50))
    db.session.commit()
    assert case.next_update_due_at == MON_0900 + timedelta(minutes=110)
    services.post_update(case, world.agent, "Half the calls succeed", now=MON_0900 + timedelta(minutes=200))
    db.session.commit()
    assert case.next_update_due_at == MON_0900 + timedelta(minutes=260)
    now = (MON_0900 + timedelta(minutes=210)).replace(tzinfo=UTC)
    outcomes = [d.outcome(now) for d in derive_for(case).update_deadlines]
    assert outcomes == ["met", "missed", None]


def test_a_new_interval_counts_from_the_last_update(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    intake(case, world.agent, MON_0900)
    services.log_callback(case, world.agent, now=MON_0900 + timedelta(minutes=10))
    services.agree_cadence(case, world.agent, 120, "Customer prefers fewer", now=MON_0900 + timedelta(minutes=40))
    db.session.commit()
    assert case.next_update_due_at == MON_0900 + timedelta(minutes=130)
    cadence = events_of(case, EventKind.CADENCE_AGREED)
    assert [(e.data["minutes"], e.data["previous"]) for e in cadence] == [(60, None), (120, 60)]


def test_proposed_resolution_stops_updates_and_a_dispute_restarts_them(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    intake(case, world.agent, MON_0900)
    services.log_callback(case, world.agent, now=MON_0900 + timedelta(minutes=10))
    cases.propose_resolution(case, world.agent, "Workaround: use the EU endpoint", "workaround")
    db.session.commit()
    assert case.next_update_due_at is None
    cases.dispute_resolution(case, world.ana, "The EU endpoint fails too")
    db.session.commit()
    back_in_progress = events_of(case, EventKind.STATUS_CHANGED)[-1]
    assert back_in_progress.data["new"] == "in_progress"
    assert case.next_update_due_at == back_in_progress.created_at + timedelta(minutes=60)


def test_critical_path_refusals(world, open_at):
    bug = open_at(world.ana, MON_0900)
    with pytest.raises(Conflict, match="not a critical case"):
        intake(bug, world.agent, MON_0900)
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    with pytest.raises(Conflict, match="intake first"):
        services.log_callback(case, world.agent, now=MON_0900)
    with pytest.raises(PermissionDenied):
        intake(case, world.ana, MON_0900)
    intake(case, world.agent, MON_0900)
    with pytest.raises(Conflict, match="already logged"):
        intake(case, world.agent, MON_0900)
    with pytest.raises(Conflict, match="log the callback first"):
        services.agree_cadence(case, world.agent, 30)
    with pytest.raises(Conflict, match="whole number"):
        services.log_callback(case, world.agent, interval_minutes=0, now=MON_0900)
    services.log_callback(case, world.agent, now=MON_0900 + timedelta(minutes=5))
    with pytest.raises(Conflict, match="already logged"):
        services.log_callback(case, world.agent, now=MON_0900 + timedelta(minutes=6))
    with pytest.raises(PermissionDenied):
        services.post_update(case, world.ana, "I am not staff")


def test_intake_defaults_come_from_case_account_and_requester(world, open_at):
    case = open_at(world.ana, MON_0900, Kind.CRITICAL)
    defaults = services.intake_defaults(case)
    assert defaults == {
        "company": "Acme Mail",
        "contact_name": "Ana Acme",
        "phone": "+31 20 555 0199",
        "email": "ana@acme.example",
        "description": case.subject,
    }


# --- Business hours as versions ----------------------------------------------------------


def test_changing_hours_keeps_the_old_value_and_recomputes_open_cases(world, open_at, clock_at):
    case = open_at(world.ana, MON_0900)  # due Mon 17:00 under 09-17
    clock_at(utc("2026-03-02 10:00", AMS))
    services.change_schedule(
        world.acme, world.tam, AMS, {d: [["08:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        note="Extended hours from today", response_target_hours=6,
    )
    db.session.commit()
    rows = db.session.scalars(select(BusinessSchedule).order_by(BusinessSchedule.id)).all()
    assert [r.hours["mon"] for r in rows] == [[["09:00", "17:00"]], [["08:00", "20:00"]]]
    assert rows[1].changed_by_id == world.tam.id and rows[1].note == "Extended hours from today"
    assert rows[0].effective_from <= world.acme.created_at
    assert world.acme.business_hours["mon"] == [["08:00", "20:00"]]
    # 1 hour used under the old hours (09-10), 5 more of the new target of 6: 15:00.
    assert case.first_response_due_at == utc("2026-03-02 15:00", AMS)
    audit = db.session.scalars(select(AuditLog)).one()
    assert audit.details == "8 -> 6 business hours"


def test_hours_are_changed_by_the_accounts_tam_or_an_admin_only(world, make):
    other_tam = make.user(Role.TAM)
    hours = {"mon": [["09:00", "17:00"]]}
    for person in (world.agent, other_tam, world.ana):
        with pytest.raises(PermissionDenied):
            services.change_schedule(world.acme, person, AMS, hours)
    services.change_schedule(world.acme, world.admin, AMS, hours, note="admin")
    with pytest.raises(Conflict, match="not a time zone"):
        services.change_schedule(world.acme, world.admin, "Nowhere/Land", hours)
    with pytest.raises(Conflict, match="future date"):
        services.change_schedule(
            world.acme, world.admin, AMS, hours, effective_from=datetime.now(UTC) + timedelta(days=1)
        )


def test_reachability_follows_holidays_and_versions(world, clock_at):
    clock_at(utc("2026-04-01 10:00", AMS))
    services.change_schedule(
        world.acme, world.tam, AMS, {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holiday_country="NL", closed_dates=[date(2026, 4, 2)], note="Easter",
    )
    db.session.commit()
    # Thursday 2 April closed (custom), Friday Good Friday, Monday Easter Monday.
    reachable, when = world.acme.reachability(datetime(2026, 4, 1, 16, 0, tzinfo=UTC))
    assert (reachable, when) == (False, datetime(2026, 4, 7, 7, 0, tzinfo=UTC))
    reachable, when = world.acme.reachability(datetime(2026, 4, 1, 9, 0, tzinfo=UTC))
    assert (reachable, when) == (True, datetime(2026, 4, 1, 15, 0, tzinfo=UTC))


def test_an_account_without_versions_uses_its_own_fields(world):
    history = services.schedule_history(world.globex)
    assert history.versions[0].timezone == "Asia/Jakarta"
    assert world.globex.reachability(datetime(2026, 3, 2, 3, 0, tzinfo=UTC)) == (
        True, datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )


def test_upcoming_windows_skip_closed_days(world, clock_at):
    clock_at(utc("2026-04-01 10:00", AMS))
    services.change_schedule(
        world.acme, world.tam, AMS, {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
        holiday_country="NL", note="Public holidays",
    )
    # Thursday 18:00 in Amsterdam: closed; Good Friday and Easter Monday are holidays.
    windows = services.upcoming_windows(world.acme, datetime(2026, 4, 2, 16, 0, tzinfo=UTC), count=2)
    assert windows == [
        (datetime(2026, 4, 7, 7, 0, tzinfo=UTC), datetime(2026, 4, 7, 15, 0, tzinfo=UTC)),
        (datetime(2026, 4, 8, 7, 0, tzinfo=UTC), datetime(2026, 4, 8, 15, 0, tzinfo=UTC)),
    ]
