"""Saved plans: who may see, make and remove them. Only the inputs are stored
(WarmupPlan.inputs); the day-by-day plan is rebuilt from them, so a fix to the
arithmetic reaches every saved plan.

Visibility mirrors cases: a customer sees their own account's plans, a TAM the
plans of the accounts they manage, agents and administrators all of them. Anything
else answers 404, like a plan that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import Select, select

from portal.accounts.models import Account, Role, User
from portal.errors import PermissionDenied
from portal.extensions import db
from portal.inputs import DB_INT_MAX
from portal.planner.models import WarmupPlan
from portal.planner.schedule import Plan, PlanInputs, build_plan, default_name


def visible_accounts(user: User) -> Select:
    query = select(Account)
    if user.role == Role.CUSTOMER:
        return query.where(Account.id == user.account_id)
    if user.role == Role.TAM:
        return query.where(Account.tam_id == user.id)
    if user.role in (Role.AGENT, Role.ADMIN):
        return query
    return query.where(False)


def scoped_plans(user: User) -> Select:
    return select(WarmupPlan).where(
        WarmupPlan.account_id.in_(visible_accounts(user).with_only_columns(Account.id))
    )


def visible_plan_id(user: User, account_id: int, plan_id: object) -> int | None:
    """``plan_id`` when it is a saved plan of the account that ``user`` may see, else
    None. For a plan a case names: the case keeps only the id, and the plan may since
    have been removed."""
    if type(plan_id) is not int or not 0 < plan_id <= DB_INT_MAX:
        return None
    return db.session.scalar(
        scoped_plans(user)
        .with_only_columns(WarmupPlan.id)
        .where(WarmupPlan.id == plan_id, WarmupPlan.account_id == account_id)
    )


def get_plan_or_404(plan_id: int, user: User) -> WarmupPlan:
    plan = db.session.scalar(scoped_plans(user).where(WarmupPlan.id == plan_id))
    if plan is None:
        abort(404)
    return plan


@dataclass(frozen=True)
class PlanRow:
    plan: WarmupPlan
    account_name: str
    author_name: str | None


def list_plans(user: User, limit: int = 100) -> list[PlanRow]:
    """Newest first, with the names the list shows. (WarmupPlan has no relationships,
    and its model is not ours to change: the names come from a join.)"""
    query = (
        scoped_plans(user)
        .join(Account, Account.id == WarmupPlan.account_id)
        .outerjoin(User, User.id == WarmupPlan.created_by_id)
        .add_columns(Account.name, User.name)
        .order_by(WarmupPlan.created_at.desc(), WarmupPlan.id.desc())
        .limit(limit)
    )
    return [PlanRow(*row) for row in db.session.execute(query)]


def account_of(saved: WarmupPlan) -> Account:
    return db.session.get(Account, saved.account_id)


def author_of(saved: WarmupPlan) -> User | None:
    return db.session.get(User, saved.created_by_id) if saved.created_by_id else None


def can_plan_for(user: User, account: Account) -> bool:
    if user.role == Role.CUSTOMER:
        return user.account_id == account.id
    if user.role == Role.TAM:
        return account.tam_id == user.id
    return user.role in (Role.AGENT, Role.ADMIN)


def save_plan(author: User, account: Account, inputs: PlanInputs, name: str = "") -> WarmupPlan:
    """Check the inputs make a plan (PlanError otherwise), then store them."""
    if not can_plan_for(author, account):
        raise PermissionDenied("You cannot make plans for this account.")
    build_plan(inputs)
    plan = WarmupPlan(
        account_id=account.id,
        created_by_id=author.id,
        name=(name or "").strip() or default_name(inputs),
        inputs=inputs.to_json(),
    )
    db.session.add(plan)
    db.session.flush()
    return plan


def delete_plan(plan: WarmupPlan, by: User) -> None:
    if not can_plan_for(by, account_of(plan)):
        raise PermissionDenied("You cannot remove plans of this account.")
    db.session.delete(plan)
    db.session.flush()


def plan_of(saved: WarmupPlan) -> Plan:
    return build_plan(PlanInputs.from_json(saved.inputs))


def plans_for_account(account_id: int, limit: int = 20) -> list[WarmupPlan]:
    """The account's plans, newest first (the caller has checked the account is visible)."""
    return list(
        db.session.scalars(
            select(WarmupPlan)
            .where(WarmupPlan.account_id == account_id)
            .order_by(WarmupPlan.created_at.desc(), WarmupPlan.id.desc())
            .limit(limit)
        )
    )
