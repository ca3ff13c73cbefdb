"""The lifecycle, transition by transition: who may, what it writes, what it refuses."""

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.cases import services
from portal.cases.models import CaseEvent, EventKind, Kind, Status
from portal.errors import Conflict, PermissionDenied
from portal.extensions import db


def kinds_of(case):
    return [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))]


def test_open_case_writes_created_event_and_waits_on_provider(world, make):
    case = make.case(world.ana, Kind.CONFIGURATION, subject="Rotate DKIM key")
    assert case.status == Status.NEW
    assert case.reference == f"CS-{case.id:06d}"
    assert case.account_id == world.acme.id
    assert case.awaiting_provider_since is not None
    assert kinds_of(case) == [EventKind.CREATED]


def test_critical_cases_sort_first(world, make):
    assert make.case(world.ana, Kind.CRITICAL).priority == 0
    assert make.case(world.ana, Kind.BUG).priority == 1


@pytest.mark.parametrize("role", [Role.AGENT, Role.TAM, Role.ADMIN])
def test_staff_cannot_open_cases_as_customer(world, role):
    staff = {Role.AGENT: world.agent, Role.TAM: world.tam, Role.ADMIN: world.admin}[role]
    with pytest.raises(PermissionDenied):
        services.open_case(staff, Kind.BUG, "x", "y")


def test_customers_cannot_open_unknown_kinds(world):
    with pytest.raises(Conflict):
        services.open_case(world.ana, "escalation", "Capacity", "Black Friday")


def test_first_staff_reply_starts_progress_and_records_first_response(world, make):
    case = make.case(world.ana)
    services.reply(case, world.agent, "Looking into it.")
    db.session.commit()
    assert case.status == Status.IN_PROGRESS
    assert case.first_response_at is not None
    assert kinds_of(case) == [EventKind.CREATED, EventKind.COMMENT, EventKind.STATUS_CHANGED]


def test_customer_reply_does_not_count_as_first_response(world, make):
    case = make.case(world.ana)
    services.reply(case, world.ana, "More detail.")
    assert case.status == Status.NEW
    assert case.first_response_at is None


def test_request_information_hands_the_ball_to_the_customer_and_reply_hands_it_back(world, make):
    case = make.case(world.ana)
    services.request_information(case, world.agent, "Send a bounce sample, please.")
    assert case.status == Status.WAITING_ON_CUSTOMER
    assert case.awaiting_provider_since is None
    services.reply(case, world.ana, "Attached.")
    assert case.status == Status.IN_PROGRESS
    assert case.awaiting_provider_since is not None
    assert kinds_of(case)[-2:] == [EventKind.COMMENT, EventKind.STATUS_CHANGED]


def test_customer_cannot_request_information_or_write_internal_notes(world, make):
    case = make.case(world.ana)
    with pytest.raises(PermissionDenied):
        services.request_information(case, world.ana, "?")
    with pytest.raises(PermissionDenied):
        services.add_internal_note(case, world.ana, "secret")


def test_internal_note_is_internal_and_does_not_touch_activity(world, make):
    case = make.case(world.ana)
    before = case.last_activity_at
    note = services.add_internal_note(case, world.agent, "Customer on old DKIM selector")
    assert note.internal is True
    assert case.last_activity_at == before
    assert case.status == Status.NEW


def test_assign_take_and_refusals(world, make):
    case = make.case(world.ana)
    services.take(case, world.agent)
    assert case.assignee_id == world.agent.id
    with pytest.raises(Conflict, match="already assigned"):
        services.take(case, world.agent)
    with pytest.raises(Conflict, match="support staff"):
        services.assign(case, world.agent, world.ana)
    with pytest.raises(PermissionDenied):
        services.assign(case, world.ana, world.agent)
    services.assign(case, world.agent, world.tam)
    assert case.assignee_id == world.tam.id


def test_tam_may_act_only_on_their_accounts(world, make):
    globex_case = make.case(world.bo)  # Globex has no TAM in the world fixture
    with pytest.raises(PermissionDenied):
        services.add_internal_note(globex_case, world.tam, "x")
    acme_case = make.case(world.ana)
    services.add_internal_note(acme_case, world.tam, "fine")


def test_only_the_other_side_accepts_a_resolution(world, make):
    case = make.case(world.ana)
    services.propose_resolution(case, world.agent, "Duplicates were a retry bug; fixed.")
    assert case.status == Status.RESOLUTION_PROPOSED
    assert case.proposed_by == "provider"
    with pytest.raises(PermissionDenied, match="other party"):
        services.accept_resolution(case, world.agent)
    with pytest.raises(PermissionDenied):
        services.accept_resolution(case, world.tam)
    services.accept_resolution(case, world.ana)
    assert case.status == Status.RESOLVED
    assert case.resolved_at is not None


def test_customer_may_propose_and_support_accepts(world, make):
    case = make.case(world.ana)
    services.propose_resolution(case, world.ana, "It works again for us.")
    with pytest.raises(PermissionDenied):
        services.accept_resolution(case, world.ana)
    services.accept_resolution(case, world.agent)
    assert case.status == Status.RESOLVED


def test_dispute_reopens_with_reason(world, make):
    case = make.case(world.ana)
    services.propose_resolution(case, world.agent, "Fixed.")
    with pytest.raises(Conflict, match="why"):
        services.dispute_resolution(case, world.ana, "   ")
    event = services.dispute_resolution(case, world.ana, "Still seeing duplicates on EU webhooks.")
    assert event.body.startswith("Still")
    assert case.status == Status.IN_PROGRESS
    assert case.proposed_by is None
    assert case.awaiting_provider_since is not None


def test_critical_resolution_must_say_fix_or_workaround(world, make):
    case = make.case(world.ana, Kind.CRITICAL)
    with pytest.raises(Conflict, match="fix or a workaround"):
        services.propose_resolution(case, world.agent, "Rerouted.")
    services.propose_resolution(case, world.agent, "Rerouted via EU MTA.", "workaround")
    assert case.resolution_kind == "workaround"
    event = services.accept_resolution(case, world.ana)
    assert event.data["resolution_kind"] == "workaround"


def test_non_critical_resolution_ignores_resolution_kind(world, make):
    case = make.case(world.ana)
    services.propose_resolution(case, world.agent, "Done.", "fix")
    assert case.resolution_kind is None


def test_second_proposal_and_accept_without_proposal_are_conflicts(world, make):
    case = make.case(world.ana)
    with pytest.raises(Conflict, match="no proposed resolution"):
        services.accept_resolution(case, world.ana)
    with pytest.raises(Conflict, match="no proposed resolution"):
        services.dispute_resolution(case, world.ana, "why")
    services.propose_resolution(case, world.agent, "Fixed.")
    with pytest.raises(Conflict, match="already proposed"):
        services.propose_resolution(case, world.ana, "Also fixed.")
    with pytest.raises(Conflict):
        services.request_information(case, world.agent, "One more thing")


def test_resolved_case_refuses_everything_but_notes(world, make):
    case = make.case(world.ana)
    services.propose_resolution(case, world.agent, "Fixed.")
    services.accept_resolution(case, world.ana)
    db.session.commit()
    for action in (
        lambda: services.reply(case, world.ana, "Thanks"),
        lambda: services.request_information(case, world.agent, "?"),
        lambda: services.propose_resolution(case, world.agent, "again"),
        lambda: services.take(case, world.agent),
    ):
        with pytest.raises(Conflict, match="resolved"):
            action()
    services.add_internal_note(case, world.agent, "Post-mortem link")


def test_refused_transition_changes_nothing(world, make):
    case = make.case(world.ana)
    services.propose_resolution(case, world.agent, "Fixed.")
    db.session.commit()
    events_before = kinds_of(case)
    with pytest.raises(PermissionDenied):
        services.accept_resolution(case, world.agent)
    db.session.rollback()
    assert kinds_of(case) == events_before
    assert case.status == Status.RESOLUTION_PROPOSED


def test_event_ids_are_monotonic_cursor(world, make):
    case = make.case(world.ana)
    ids = [services.reply(case, world.ana if i % 2 else world.agent, f"msg {i}").id for i in range(6)]
    db.session.commit()
    assert ids == sorted(ids) and len(set(ids)) == 6


def test_staff_reply_restarts_the_wait_on_support(world, make):
    from datetime import timedelta

    case = make.case(world.ana)
    case.awaiting_provider_since -= timedelta(hours=5)
    waited_since = case.awaiting_provider_since
    services.reply(case, world.agent, "We are on it.")
    assert case.awaiting_provider_since > waited_since + timedelta(hours=4)
    services.request_information(case, world.agent, "Logs?")
    services.reply(case, world.agent, "Still need those logs.")
    assert case.awaiting_provider_since is None  # still the customer's turn
