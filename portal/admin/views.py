"""Users, invitations, TAM assignment and the audit log, for administrators only."""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import case as sql_case
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import Account, AuditLog, Role, User
from portal.admin import services
from portal.admin.forms import ROLE_LABELS, InviteUserForm, TamForm
from portal.auth.mail import describe_duration, queue_invitation
from portal.cases.queries import Page
from portal.extensions import db
from portal.forms import choices
from portal.htmx import render, wants_fragment
from portal.inputs import db_int, page_arg

bp = Blueprint("admin", __name__, url_prefix="/desk/admin")

STATES = {"active": "Active", "invited": "Invited", "deactivated": "Deactivated"}
AUDIT_PAGE = 200
USERS_PER_PAGE = 25


@bp.before_request
@login_required
def admins_only():
    """Every route of the blueprint: for anyone but an administrator it does not exist."""
    if current_user.role != Role.ADMIN:
        abort(404)


def user_state(user: User) -> str:
    if not user.active:
        return "deactivated"
    return "invited" if user.password_hash is None else "active"


def _filters() -> dict:
    args = request.args
    account = args.get("account", "")
    if account != "staff":
        account = str(args.get("account", 0, type=db_int) or "")
    role = args.get("role", "")
    state = args.get("state", "")
    return {
        "account": account,
        "role": role if role in ROLE_LABELS else "",
        "state": state if state in STATES else "",
        "q": args.get("q", "").strip()[:200],
    }


def _users_query(filters: dict):
    role_order = sql_case({str(r): i for i, r in enumerate(ROLE_LABELS)}, value=User.role, else_=9)
    query = (
        select(User)
        .outerjoin(Account, User.account_id == Account.id)
        .options(joinedload(User.account))
        # Staff first, then each account by name; inside a group by role, then name
        # (then id, so that pages neither repeat nor skip people who share a name).
        .order_by(
            User.account_id.is_not(None), Account.name, role_order, func.lower(User.name), User.id
        )
    )
    if filters["account"] == "staff":
        query = query.where(User.account_id.is_(None))
    elif filters["account"]:
        query = query.where(User.account_id == int(filters["account"]))
    if filters["role"]:
        query = query.where(User.role == filters["role"])
    if filters["state"] == "deactivated":
        query = query.where(User.active.is_(False))
    elif filters["state"] == "invited":
        query = query.where(User.active.is_(True), User.password_hash.is_(None))
    elif filters["state"] == "active":
        query = query.where(User.active.is_(True), User.password_hash.is_not(None))
    if filters["q"]:
        pattern = f"%{filters['q'].lower()}%"
        query = query.where(
            or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern))
        )
    return query


def _user_row(user: User) -> dict:
    state = user_state(user)
    return {
        "user": user,
        "state": state,
        "state_label": STATES[state],
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "can_deactivate": user.active and user.id != current_user.id,
        "can_reactivate": not user.active,
        "can_resend": state == "invited",
    }


def users_page(query, requested: int | None) -> Page:
    """One page of users. A page past the end shows the last one (so an action on the
    last user of a page, or an old link, still lands on people), and the number is
    clamped before it reaches the database, where a huge offset is an error.
    portal.cases.queries.paginate does not fit: it counts case ids, stops counting at
    COUNT_CAP (so it cannot know the last page) and never clamps."""
    counted = query.order_by(None).with_only_columns(User.id).subquery()
    total = db.session.scalar(select(func.count()).select_from(counted))
    last = max(-(-total // USERS_PER_PAGE), 1)
    page = min(max(requested or 1, 1), last)
    window = query.limit(USERS_PER_PAGE).offset((page - 1) * USERS_PER_PAGE)
    return Page(
        items=list(db.session.scalars(window).unique()),
        page=page,
        per_page=USERS_PER_PAGE,
        total=total,
        capped=False,
        has_next=page < last,
    )


def users_context(notice: str | None = None) -> dict:
    filters = _filters()
    page = users_page(_users_query(filters), page_arg())
    groups = [
        (account, [_user_row(u) for u in members])
        for account, members in groupby(page.items, key=lambda u: u.account)
    ]
    accounts = db.session.scalars(select(Account).order_by(Account.name)).all()
    filter_args = {k: v for k, v in filters.items() if v}
    return {
        "groups": groups,
        "total": page.total,
        "page": page,
        "filters": filters,
        "filter_args": filter_args,
        # An action keeps the list where it was: same filters, same page.
        "query_args": dict(filter_args, page=page.page) if page.page > 1 else filter_args,
        "accounts": accounts,
        "role_labels": ROLE_LABELS,
        "states": STATES,
        "notice": notice,
    }


@bp.get("")
def index():
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users():
    return render("admin/users.html", blocks="user_list", **users_context())


def _after_user_change(message: str):
    """htmx gets the refreshed list (keeping its filters); a plain form a 303 back to it."""
    if wants_fragment():
        return render("admin/users.html", blocks="user_list", **users_context(notice=message))
    flash(message, "success")
    return redirect(url_for("admin.users", **request.args), 303)


def _user_or_404(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.post("/users/<int:user_id>/deactivate")
def deactivate(user_id: int):
    user = _user_or_404(user_id)
    services.deactivate_user(current_user, user)
    db.session.commit()
    return _after_user_change(f"{user.name} is deactivated and can no longer sign in.")


@bp.post("/users/<int:user_id>/reactivate")
def reactivate(user_id: int):
    user = _user_or_404(user_id)
    services.reactivate_user(current_user, user)
    db.session.commit()
    return _after_user_change(f"{user.name} is active again.")


def _invitation_notice(user: User, queued: bool) -> tuple[str, str]:
    if queued:
        return f"The invitation to {user.email} goes out within a minute.", "success"
    return (
        f"{user.name} is saved, but no invitation was queued: {user.email} is one of "
        "the portal's own addresses.",
        "error",
    )


@bp.post("/users/<int:user_id>/resend-invitation")
def resend_invitation(user_id: int):
    user = _user_or_404(user_id)
    services.resend_invitation(current_user, user)
    queued = queue_invitation(user) is not None
    db.session.commit()
    message, category = _invitation_notice(user, queued)
    if wants_fragment():
        return render("admin/users.html", blocks="user_list", **users_context(notice=message))
    flash(message, category)
    return redirect(url_for("admin.users", **request.args), 303)


def _account_choices() -> list:
    accounts = db.session.scalars(select(Account).order_by(Account.name))
    return choices([("", "No account (staff)")] + [(str(a.id), a.name) for a in accounts])


@bp.route("/users/invite", methods=["GET", "POST"])
def invite():
    form = InviteUserForm()
    form.account_id.choices = _account_choices()
    if request.method == "GET" and request.args.get("account", type=db_int):
        form.account_id.data = request.args.get("account", type=db_int)
    if form.validate_on_submit():
        account = db.session.get(Account, form.account_id.data) if form.account_id.data else None
        user = services.invite_user(
            current_user, form.email.data, form.name.data, form.role.data, account
        )
        queued = queue_invitation(user) is not None
        db.session.commit()
        message, category = _invitation_notice(user, queued)
        flash(message, category)
        return redirect(url_for("admin.users"), 303)
    return render(
        "admin/invite.html",
        status=422 if form.errors else 200,
        form=form,
        valid_for=describe_duration(current_app.config["INVITE_MAX_AGE"]),
    )


@bp.get("/accounts")
def accounts():
    rows = db.session.execute(
        select(Account, func.count(User.id))
        .outerjoin(User, User.account_id == Account.id)
        .options(joinedload(Account.tam))
        .group_by(Account.id)
        .order_by(Account.name)
    ).all()
    return render("admin/accounts.html", rows=rows)


def _tam_choices() -> list:
    tams = db.session.scalars(
        select(User).where(User.role == Role.TAM, User.active.is_(True)).order_by(User.name)
    )
    return choices([("", "No TAM")] + [(str(u.id), f"{u.name} ({u.email})") for u in tams])


@bp.route("/accounts/<int:account_id>/tam", methods=["GET", "POST"])
def account_tam(account_id: int):
    account = db.get_or_404(Account, account_id)
    form = TamForm(data={"tam_id": account.tam_id})
    form.tam_id.choices = _tam_choices()
    if form.validate_on_submit():
        tam = db.session.get(User, form.tam_id.data) if form.tam_id.data else None
        changed = services.set_account_tam(current_user, account, tam)
        db.session.commit()
        if changed:
            who = tam.name if tam else "nobody"
            flash(f"The TAM of {account.name} is now {who}.", "success")
        else:
            flash(f"Nothing changed: {account.name} already had this TAM.", "info")
        return redirect(url_for("admin.accounts"), 303)
    return render(
        "admin/account_tam.html", status=422 if form.errors else 200, form=form, account=account
    )


@bp.get("/audit")
def audit():
    rows = db.session.execute(
        select(AuditLog, User)
        .outerjoin(User, AuditLog.actor_id == User.id)
        .order_by(AuditLog.id.desc())
        .limit(AUDIT_PAGE)
    ).all()
    return render("admin/audit.html", rows=rows, limit=AUDIT_PAGE)
