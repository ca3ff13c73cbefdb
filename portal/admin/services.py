"""What an administrator changes about users and accounts. Each change writes its
AuditLog row in the same transaction; functions flush, the view commits, and any
mail goes out after the commit."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from portal.accounts.models import Account, AuditLog, Role, User
from portal.errors import Conflict, DomainError, PermissionDenied
from portal.extensions import db

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _require_admin(actor: User) -> None:
    if actor.role != Role.ADMIN or not actor.is_active:
        raise PermissionDenied("Only an administrator can manage users and accounts.")


def _user_label(user: User) -> str:
    return f"user {user.id} {user.email}"


def _account_label(account: Account) -> str:
    return f"account {account.id} {account.name}"


def record(actor: User, action: str, target: str, details: str = "") -> AuditLog:
    entry = AuditLog(actor_id=actor.id, action=action, target=target[:200], details=details)
    db.session.add(entry)
    return entry


def invite_user(
    actor: User, email: str, name: str, role: Role | str, account: Account | None
) -> User:
    """A user without a password; the invitation link (sent after the commit) sets it."""
    _require_admin(actor)
    role = Role(role)
    email, name = email.strip().lower(), name.strip()
    if not name or _CONTROL.search(name):
        raise DomainError("A name is required, without line breaks or control characters.")
    if role == Role.CUSTOMER and account is None:
        raise DomainError("A customer belongs to an account.")
    if role != Role.CUSTOMER and account is not None:
        raise DomainError("Staff do not belong to a customer account.")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("Someone already has this address.")
    user = User(
        email=email,
        name=name,
        role=role,
        account=account,
        password_hash=None,
        timezone=account.timezone if account else "UTC",
    )
    db.session.add(user)
    db.session.flush()
    details = f"role {role}" + (f", account {account.name}" if account else "")
    record(actor, "user.invited", _user_label(user), details)
    return user


def resend_invitation(actor: User, user: User) -> None:
    _require_admin(actor)
    if not user.active:
        raise Conflict(f"{user.name} is deactivated: reactivate them first.")
    if user.password_hash is not None:
        raise Conflict(f"{user.name} has already chosen a password.")
    record(actor, "user.invitation_resent", _user_label(user))


def tam_of(user: User) -> list[Account]:
    return list(
        db.session.scalars(select(Account).where(Account.tam_id == user.id).order_by(Account.name))
    )


def deactivate_user(actor: User, user: User) -> None:
    """The person can no longer sign in, and any session they have ends at their next request."""
    _require_admin(actor)
    if user.id == actor.id:
        raise Conflict("You cannot deactivate yourself; another administrator can.")
    if not user.active:
        raise Conflict(f"{user.name} is already deactivated.")
    accounts = tam_of(user)
    if accounts:
        names = ", ".join(a.name for a in accounts)
        raise Conflict(f"{user.name} is the TAM of {names}. Assign another TAM first.")
    user.active = False
    db.session.flush()
    record(actor, "user.deactivated", _user_label(user))


def reactivate_user(actor: User, user: User) -> None:
    _require_admin(actor)
    if user.active:
        raise Conflict(f"{user.name} is already active.")
    user.active = True
    db.session.flush()
    record(actor, "user.reactivated", _user_label(user))


def set_account_tam(actor: User, account: Account, tam: User | None) -> bool:
    """False when the account already has this TAM (nothing to change, nothing logged)."""
    _require_admin(actor)
    if tam is not None and (tam.role != Role.TAM or not tam.active):
        raise DomainError(f"{tam.name} is not an active technical account manager.")
    before = account.tam
    if (before.id if before else None) == (tam.id if tam else None):
        return False
    account.tam = tam
    db.session.flush()
    details = f"TAM {before.name if before else 'none'} -> {tam.name if tam else 'none'}"
    record(actor, "account.tam_changed", _account_label(account), details)
    return True
