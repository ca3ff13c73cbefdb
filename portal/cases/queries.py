"""Every read of cases goes through here, scoped to what the person may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import abort
from sqlalchemy import Select, bindparam, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.accounts.models import Account, Role, User
from portal.cases.models import OPEN_STATUSES, Case, CaseEvent, CaseNames, parse_reference
from portal.extensions import db
from portal.inputs import MAX_PAGE


def scoped_cases(user: User | _ScopeIds) -> Select:
    query = select(Case)
    if user.role == Role.CUSTOMER:
        return query.where(Case.account_id == user.account_id)
    if user.role == Role.TAM:
        return query.where(
            Case.account_id.in_(select(Account.id).where(Account.tam_id == user.id))
        )
    if user.role in (Role.AGENT, Role.ADMIN):
        return query
    return query.where(False)


# One statement per role, built once: the case page and every action on a case start
# here. The scoping is scoped_cases' own, with the person's ids as bound parameters.
_ONE_CASE_OPTIONS = (
    joinedload(Case.account).joinedload(Account.tam),
    joinedload(Case.requester),
    joinedload(Case.assignee),
)
_one_case: dict[str, Select] = {}


@dataclass(frozen=True)
class _ScopeIds:
    """What scoped_cases reads of a person, as bound parameters."""

    id: object
    role: str
    account_id: object


def _one_case_statement(role: str) -> Select:
    statement = _one_case.get(role)
    if statement is None:
        scope = _ScopeIds(id=bindparam("viewer_id"), role=role, account_id=bindparam("account_id"))
        statement = _one_case[role] = (
            scoped_cases(scope).where(Case.id == bindparam("case_id")).options(*_ONE_CASE_OPTIONS)
        )
    return statement


def get_case_or_404(reference: str, user: User) -> Case:
    """Another account's case answers 404 like a missing one, so references cannot be probed."""
    case_id = parse_reference(reference)
    if case_id is None:
        abort(404)
    case = db.session.scalars(
        _one_case_statement(str(user.role)),
        {"case_id": case_id, "viewer_id": user.id, "account_id": user.account_id},
    ).first()
    if case is None:
        abort(404)
    return case


def timeline(case: Case, viewer: User, after: int = 0) -> list[CaseEvent]:
    query = (
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.id > after)
        .options(joinedload(CaseEvent.author), selectinload(CaseEvent.attachments))
        .order_by(CaseEvent.id)
    )
    if not viewer.is_staff:
        query = query.where(CaseEvent.internal.is_(False))
    return list(db.session.scalars(query).unique())


def filter_cases(
    query: Select, status: str = "", kind: str = "", q: str = ""
) -> Select:
    if status == "open":
        # IN rather than != so the (account_id, status) index serves the count.
        query = query.where(Case.status.in_(OPEN_STATUSES))
    elif status:
        query = query.where(Case.status == status)
    if kind:
        query = query.where(Case.kind == kind)
    q = q.strip()
    if q:
        case_id = parse_reference(q) if q.upper().startswith("CS-") else None
        if case_id is None and q.isdigit():
            case_id = int(q)
        escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions = [func.lower(Case.subject).like(f"%{escaped}%", escape="\\")]
        if case_id is not None:
            conditions.append(Case.id == case_id)
        query = query.where(or_(*conditions))
    return query


COUNT_CAP = 1_000


@dataclass(frozen=True)
class Page:
    """One page of a list, with a count that stops at ``COUNT_CAP``: counting every
    one of 100,000 cases costs more than the rest of the page together, and past a
    thousand the exact figure helps nobody (they filter or search instead)."""

    items: list
    page: int
    per_page: int
    total: int  # exact unless ``capped``
    capped: bool  # more than COUNT_CAP
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    @property
    def pages(self) -> int | None:
        """How many pages, or None when the count was capped."""
        return None if self.capped else max(-(-self.total // self.per_page), 1)

    @property
    def total_label(self) -> str:
        return f"more than {COUNT_CAP:,}" if self.capped else f"{self.total:,}"


@dataclass(frozen=True, slots=True)
class CaseRow(CaseNames):
    """A case as a list shows it: five columns, not an ORM object. A list page shows
    25, and building 25 full Case objects cost as much as the rest of the page."""

    id: int
    subject: str
    kind: str
    status: str
    last_activity_at: datetime

    COLUMNS = (Case.id, Case.subject, Case.kind, Case.status, Case.last_activity_at)


def paginate(query: Select, page: int, per_page: int, rows_as: type | None = None) -> Page:
    """One page of ``query``: ORM objects, or with ``rows_as`` (``CaseRow``) plain
    rows of its ``COLUMNS``."""
    page = min(max(page or 1, 1), MAX_PAGE)  # see portal.inputs.page_arg
    window = query.limit(per_page + 1).offset((page - 1) * per_page)
    if rows_as is None:
        rows = list(db.session.scalars(window).unique())
    else:
        rows = [rows_as(*row) for row in db.session.execute(window.with_only_columns(*rows_as.COLUMNS))]
    counted = query.order_by(None).with_only_columns(Case.id).limit(COUNT_CAP + 1).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted))
    return Page(
        items=rows[:per_page],
        page=page,
        per_page=per_page,
        total=min(total, COUNT_CAP),
        capped=total > COUNT_CAP,
        has_next=len(rows) > per_page,
    )
