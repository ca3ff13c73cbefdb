"""The case lifecycle. Each function checks who may act, changes the case,
writes its timeline event in the same transaction and flushes; the view commits.

Events of one case are written while holding that case's row lock
(``SELECT ... FOR UPDATE`` on PostgreSQL, the database write lock on SQLite),
so within a case event ids are committed in increasing order and the polling
cursor ``after=<last id>`` can never skip an event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from blinker import Namespace
from sqlalchemy import select

from portal.accounts.models import Role, User
from portal.cases.models import Case, CaseEvent, EventKind, Kind, Status
from portal.errors import Conflict, PermissionDenied
from portal.extensions import db
from portal.timeutil import utcnow

CUSTOMER_KINDS = (
    Kind.BUG,
    Kind.CONFIGURATION,
    Kind.INFORMATION,
    Kind.CRITICAL,
    Kind.REMEDIATION,
    Kind.PLANNING,  # assigned to the account's TAM by portal.tam.services
)

signals = Namespace()
# Sent inside the transaction, once the event has its id: receivers (the clocks,
# the outbox) write what follows from the event in the same transaction, so it
# commits or rolls back with it. Receivers get (case, event=...).
event_added = signals.signal("case-event-added")


@dataclass(frozen=True)
class NewFile:
    filename: str
    content_type: str
    data: bytes


def can_see(user: User, case: Case) -> bool:
    if user.role == Role.CUSTOMER:
        return user.account_id == case.account_id
    if user.role == Role.TAM:
        return case.account.tam_id == user.id
    return user.role in (Role.AGENT, Role.ADMIN)


def _require_visible(user: User, case: Case) -> None:
    if not can_see(user, case):
        # Callers load cases through a scoped loader; this is the last line.
        raise PermissionDenied("You cannot act on this case.")


def _require_staff(user: User, action: str) -> None:
    if not user.is_staff:
        raise PermissionDenied(f"Only support staff can {action}.")


def _require_open(case: Case) -> None:
    if case.status == Status.RESOLVED:
        raise Conflict(
            f"{case.reference} is resolved. Open a follow-up case to continue."
        )


def lock_case(case: Case) -> Case:
    """Take the case's row lock (a no-op where SQLite's write lock already serialises)."""
    db.session.execute(
        select(Case.id).where(Case.id == case.id).with_for_update()
    ).first()
    return case


def add_event(
    case: Case,
    kind: EventKind,
    author: User | None,
    body: str = "",
    internal: bool = False,
    **data,
) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id, kind=kind, author=author, body=body, internal=internal, data=data
    )
    db.session.add(event)
    if not internal:
        case.last_activity_at = utcnow()
    db.session.flush()
    event_added.send(case, event=event)
    return event


def _set_status(case: Case, status: Status, actor: User | None) -> None:
    if case.status == status:
        return
    old = case.status
    case.status = status
    add_event(case, EventKind.STATUS_CHANGED, actor, old=old, new=str(status))


def _ball_with_provider(case: Case) -> None:
    if case.awaiting_provider_since is None:
        case.awaiting_provider_since = utcnow()


def _ball_with_customer(case: Case) -> None:
    case.awaiting_provider_since = None


def _record_first_response(case: Case, actor: User) -> None:
    if actor.is_staff and case.first_response_at is None:
        case.first_response_at = utcnow()
    if actor.is_staff and case.status == Status.NEW:
        _set_status(case, Status.IN_PROGRESS, actor)


def open_case(
    requester: User,
    kind: Kind,
    subject: str,
    description: str,
    details: dict | None = None,
    files: Iterable[NewFile] = (),
) -> Case:
    if not requester.is_customer or requester.account_id is None:
        raise PermissionDenied("Cases are opened by a customer user of an account.")
    if kind not in CUSTOMER_KINDS:
        raise Conflict(f"Cases of kind {kind} cannot be opened here.")
    now = utcnow()
    case = Case(
        account_id=requester.account_id,
        requester=requester,
        kind=kind,
        status=Status.NEW,
        priority=0 if kind == Kind.CRITICAL else 1,
        subject=subject.strip(),
        details=details or {},
        awaiting_provider_since=now,
        created_at=now,
        last_activity_at=now,
    )
    db.session.add(case)
    db.session.flush()  # the id is the reference
    event = add_event(case, EventKind.CREATED, requester, body=description)
    _attach(case, event, requester, files)
    db.session.flush()
    return case


def _attach(case: Case, event: CaseEvent, user: User, files: Iterable[NewFile]) -> None:
    from portal.cases.attachments import store

    for new_file in files:
        store(case, event, user, new_file)


def reply(case: Case, author: User, body: str, files: Iterable[NewFile] = ()) -> CaseEvent:
    """A public message. A customer's answer while support waits on them hands the
    case back to support; a first staff reply takes a new case into progress."""
    _require_visible(author, case)
    _require_open(case)
    lock_case(case)
    event = add_event(case, EventKind.COMMENT, author, body=body)
    _attach(case, event, author, files)
    if author.is_customer:
        if case.status == Status.WAITING_ON_CUSTOMER:
            _set_status(case, Status.IN_PROGRESS, author)
        if case.status != Status.RESOLUTION_PROPOSED or case.proposed_by == "customer":
            _ball_with_provider(case)
    else:
        _record_first_response(case, author)
        if case.awaiting_provider_since is not None:
            # The customer just heard from us: the wait on us starts over.
            case.awaiting_provider_since = utcnow()
    db.session.flush()
    return event


def add_internal_note(case: Case, author: User, body: str) -> CaseEvent:
    _require_staff(author, "write internal notes")
    _require_visible(author, case)
    lock_case(case)
    event = add_event(case, EventKind.INTERNAL_NOTE, author, body=body, internal=True)
    db.session.flush()
    return event


def request_information(case: Case, author: User, body: str) -> CaseEvent:
    _require_staff(author, "request information")
    _require_visible(author, case)
    _require_open(case)
    if case.status == Status.RESOLUTION_PROPOSED:
        raise Conflict("A resolution is proposed; it must be accepted or disputed first.")
    lock_case(case)
    event = add_event(case, EventKind.INFORMATION_REQUESTED, author, body=body)
    _record_first_response(case, author)
    _set_status(case, Status.WAITING_ON_CUSTOMER, author)
    _ball_with_customer(case)
    db.session.flush()
    return event


def assign(case: Case, actor: User, assignee: User | None) -> CaseEvent:
    _require_staff(actor, "assign cases")
    _require_visible(actor, case)
    _require_open(case)
    if assignee is not None and not assignee.is_staff:
        raise Conflict("Cases can only be assigned to support staff.")
    if assignee is not None and not assignee.is_active:
        raise Conflict(f"{assignee.name} is not an active user.")
    if case.assignee_id == (assignee.id if assignee else None):
        raise Conflict(
            f"{case.reference} is already assigned to {assignee.name}."
            if assignee
            else f"{case.reference} is already unassigned."
        )
    lock_case(case)
    case.assignee = assignee
    event = add_event(
        case,
        EventKind.ASSIGNED,
        actor,
        assignee_id=assignee.id if assignee else None,
        assignee_name=assignee.name if assignee else None,
    )
    db.session.flush()
    return event


def take(case: Case, actor: User) -> CaseEvent:
    return assign(case, actor, actor)


RESOLUTION_KINDS = ("fix", "workaround")


def propose_resolution(
    case: Case, by: User, summary: str, resolution_kind: str | None = None
) -> CaseEvent:
    """Either side may propose; for a critical case the proposal says whether it
    is a fix or a workaround, because the contract treats both as an end."""
    _require_visible(by, case)
    _require_open(case)
    if case.status == Status.RESOLUTION_PROPOSED:
        raise Conflict("A resolution is already proposed and waiting for an answer.")
    if case.kind == Kind.CRITICAL:
        if resolution_kind not in RESOLUTION_KINDS:
            raise Conflict("For a critical case, say whether this is a fix or a workaround.")
    else:
        resolution_kind = None
    lock_case(case)
    event = add_event(
        case, EventKind.RESOLUTION_PROPOSED, by, body=summary, resolution_kind=resolution_kind
    )
    _record_first_response(case, by)
    case.proposed_by = by.side
    case.resolution_kind = resolution_kind
    _set_status(case, Status.RESOLUTION_PROPOSED, by)
    if by.is_customer:
        _ball_with_provider(case)
    else:
        _ball_with_customer(case)
    db.session.flush()
    return event


def _require_other_side(case: Case, by: User, verb: str) -> None:
    if case.status != Status.RESOLUTION_PROPOSED:
        raise Conflict(f"There is no proposed resolution to {verb}.")
    if case.proposed_by == by.side:
        raise PermissionDenied(
            f"Only the other party can {verb} this resolution: it was proposed by your side."
        )


def accept_resolution(case: Case, by: User) -> CaseEvent:
    _require_visible(by, case)
    _require_other_side(case, by, "accept")
    lock_case(case)
    event = add_event(
        case, EventKind.RESOLUTION_ACCEPTED, by, resolution_kind=case.resolution_kind
    )
    _set_status(case, Status.RESOLVED, by)
    case.resolved_at = utcnow()
    _ball_with_customer(case)
    db.session.flush()
    return event


def dispute_resolution(case: Case, by: User, reason: str) -> CaseEvent:
    _require_visible(by, case)
    _require_other_side(case, by, "dispute")
    if not reason.strip():
        raise Conflict("Say why the resolution does not work for you.")
    lock_case(case)
    event = add_event(case, EventKind.RESOLUTION_DISPUTED, by, body=reason)
    case.proposed_by = None
    case.resolution_kind = None
    _set_status(case, Status.IN_PROGRESS, by)
    _ball_with_provider(case)
    db.session.flush()
    return event
