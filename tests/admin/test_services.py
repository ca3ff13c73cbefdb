import pytest
from sqlalchemy import select

from portal.accounts.models import AuditLog, Role
from portal.admin import services
from portal.errors import Conflict, DomainError, PermissionDenied
from portal.extensions import db


def audit_rows():
    return list(db.session.scalars(select(AuditLog).order_by(AuditLog.id)))


def test_invite_makes_a_user_without_password_and_logs_it(world):
    user = services.invite_user(
        world.admin, " Cleo@Acme.example ", " Cleo ", "customer", world.acme
    )
    assert (user.email, user.name, user.password_hash, user.account) == (
        "cleo@acme.example",
        "Cleo",
        None,
        world.acme,
    )
    assert not user.is_active  # cannot sign in before choosing a password
    [entry] = audit_rows()
    assert (entry.actor_id, entry.action, entry.target) == (
        world.admin.id,
        "user.invited",
        f"user {user.id} cleo@acme.example",
    )


@pytest.mark.parametrize(
    "role, account, error",
    [
        (Role.CUSTOMER, None, "A customer belongs to an account."),
        (Role.AGENT, "acme", "Staff do not belong to a customer account."),
        (Role.ADMIN, "acme", "Staff do not belong to a customer account."),
    ],
)
def test_invite_checks_role_and_account(world, role, account, error):
    with pytest.raises(DomainError, match=error):
        services.invite_user(
            world.admin, "x@acme.example", "X", role, getattr(world, account or "", None)
        )
    assert audit_rows() == []


def test_invite_refuses_a_taken_address_whatever_its_case(world):
    with pytest.raises(Conflict):
        services.invite_user(
            world.admin, "ANA@ACME.EXAMPLE", "Ana again", Role.CUSTOMER, world.acme
        )


def test_invite_refuses_line_breaks_in_the_name(world):
    with pytest.raises(DomainError):
        services.invite_user(
            world.admin, "eve@acme.example", "Eve\nBcc: x@y.example", Role.CUSTOMER, world.acme
        )


def test_invite_refuses_an_unknown_role(world):
    with pytest.raises(ValueError):
        services.invite_user(world.admin, "eve@acme.example", "Eve", "root", None)


@pytest.mark.parametrize("actor", ["agent", "tam", "ana"])
def test_only_an_admin_may_change_anything(world, actor):
    actor = getattr(world, actor)
    with pytest.raises(PermissionDenied):
        services.invite_user(actor, "eve@acme.example", "Eve", Role.CUSTOMER, world.acme)
    with pytest.raises(PermissionDenied):
        services.deactivate_user(actor, world.bo)
    with pytest.raises(PermissionDenied):
        services.set_account_tam(actor, world.globex, world.tam)
    assert audit_rows() == []


def test_a_deactivated_admin_may_not_either(world, make):
    former = make.user(Role.ADMIN, active=False)
    with pytest.raises(PermissionDenied):
        services.deactivate_user(former, world.bo)


def test_deactivate_and_reactivate(world):
    services.deactivate_user(world.admin, world.bo)
    assert not world.bo.active and not world.bo.is_active
    services.reactivate_user(world.admin, world.bo)
    assert world.bo.active
    assert [e.action for e in audit_rows()] == ["user.deactivated", "user.reactivated"]


def test_deactivate_refusals(world):
    with pytest.raises(Conflict, match="yourself"):
        services.deactivate_user(world.admin, world.admin)
    with pytest.raises(Conflict, match="TAM of Acme Mail"):
        services.deactivate_user(world.admin, world.tam)
    services.deactivate_user(world.admin, world.bo)
    with pytest.raises(Conflict, match="already deactivated"):
        services.deactivate_user(world.admin, world.bo)
    with pytest.raises(Conflict, match="already active"):
        services.reactivate_user(world.admin, world.ana)


def test_a_tam_without_accounts_can_be_deactivated(world):
    services.set_account_tam(world.admin, world.acme, None)
    services.deactivate_user(world.admin, world.tam)
    assert not world.tam.active


def test_set_tam_logs_before_and_after(world, make):
    other = make.user(Role.TAM, name="Otto TAM")
    assert services.set_account_tam(world.admin, world.acme, other) is True
    assert world.acme.tam == other
    assert services.set_account_tam(world.admin, world.acme, other) is False
    [entry] = audit_rows()
    assert (entry.action, entry.details) == ("account.tam_changed", "TAM Tess TAM -> Otto TAM")


@pytest.mark.parametrize("who", ["agent", "admin", "ana", "inactive_tam"])
def test_set_tam_refuses_anyone_but_an_active_tam(world, make, who):
    person = make.user(Role.TAM, active=False) if who == "inactive_tam" else getattr(world, who)
    with pytest.raises(DomainError, match="not an active technical account manager"):
        services.set_account_tam(world.admin, world.globex, person)
    assert world.globex.tam is None


def test_resend_invitation_rules(world, make):
    pending = make.user(account=world.acme, password_hash=None)
    services.resend_invitation(world.admin, pending)
    with pytest.raises(Conflict, match="already chosen a password"):
        services.resend_invitation(world.admin, world.ana)
    pending.active = False
    with pytest.raises(Conflict, match="deactivated"):
        services.resend_invitation(world.admin, pending)
    assert [e.action for e in audit_rows()] == ["user.invitation_resent"]
