from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, request
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.accounts.models import STAFF_ROLES, Account, User
from portal.cases import services
from portal.cases.models import KIND_LABELS, STATUS_LABELS, Case, Kind, Status
from portal.cases.queries import filter_cases, get_case_or_404, paginate, scoped_cases
from portal.cases.views import CASE_PAGE, _after_action, _invalid, case_context
from portal.desk.forms import AssignForm, NoteForm, RequestInfoForm
from portal.extensions import db
from portal.forms import EmptyForm, choices
from portal.htmx import render
from portal.inputs import db_int, page_arg

bp = Blueprint("desk", __name__, url_prefix="/desk")


def staff_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_staff:
            abort(404)  # the desk does not exist for customers
        return view(*args, **kwargs)

    return wrapped


def staff_members() -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.role.in_(STAFF_ROLES), User.active.is_(True)).order_by(User.name)
        )
    )


def assignee_choices():
    return choices([(0, "Choose a person"), *((u.id, u.name) for u in staff_members())])


def staff_context(case: Case, forms: dict) -> dict:
    assign_form = forms.get("assign_form") or AssignForm(formdata=None)
    assign_form.assignee_id.choices = assignee_choices()
    if not assign_form.assignee_id.data:
        assign_form.assignee_id.data = case.assignee_id or 0
    return {
        "note_form": forms.get("note_form") or NoteForm(formdata=None),
        "info_form": forms.get("info_form") or RequestInfoForm(formdata=None),
        "assign_form": assign_form,
        "can_take": case.is_open and case.assignee_id != current_user.id,
        "can_request_info": case.is_open and case.status != Status.RESOLUTION_PROPOSED,
    }


QUEUE_FILTERS = ("mine", "unassigned", "waiting", "critical")


@bp.get("")
@staff_required
def queue():
    args = request.args
    chips = [c for c in args.getlist("chip") if c in QUEUE_FILTERS]
    status = args.get("status", "open")
    if status not in ("", "open", *Status):
        status = "open"
    kind = args.get("kind", "") if args.get("kind", "") in ("", *Kind) else ""
    account_id = args.get("account", 0, type=db_int)
    query = filter_cases(scoped_cases(current_user), status, kind, args.get("q", "")[:200])
    if "mine" in chips:
        query = query.where(Case.assignee_id == current_user.id)
    if "unassigned" in chips:
        query = query.where(Case.assignee_id.is_(None))
    if "waiting" in chips:
        query = query.where(Case.awaiting_provider_since.is_not(None))
    if "critical" in chips:
        query = query.where(Case.kind == Kind.CRITICAL)
    if account_id:
        query = query.where(Case.account_id == account_id)
    # Critical first; then the least time left on a running clock (a case runs at most
    # one of callback, next update, first response: see portal.clocks.rules); then
    # whoever has waited on us longest; cases waiting on the customer last. The sort
    # keys are generated columns with one index (Case.queue_due, Case.queue_waiting).
    query = query.options(joinedload(Case.account), joinedload(Case.assignee)).order_by(
        Case.priority, Case.queue_due, Case.queue_waiting, Case.id
    )
    page = paginate(query, page_arg(), current_app.config["CASES_PER_PAGE"])
    accounts = db.session.scalars(select(Account).order_by(Account.name)).all()
    return render(
        "desk/queue.html",
        blocks="queue_results",
        page=page,
        chips=chips,
        filters={"status": status, "kind": kind, "account": account_id, "q": args.get("q", "")},
        accounts=accounts,
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        queue_filters=QUEUE_FILTERS,
    )


@bp.get("/cases/<reference>")
@staff_required
def case(reference: str):
    found = get_case_or_404(reference, current_user)
    return render(CASE_PAGE, **case_context(found))


@bp.post("/cases/<reference>/notes")
@staff_required
def note(reference: str):
    found = get_case_or_404(reference, current_user)
    form = NoteForm()
    if not form.validate_on_submit():
        return _invalid(found, "staff_actions", note_form=form)
    services.add_internal_note(found, current_user, form.body.data)
    db.session.commit()
    return _after_action(found, "staff_actions")


@bp.post("/cases/<reference>/information-requests")
@staff_required
def request_info(reference: str):
    found = get_case_or_404(reference, current_user)
    form = RequestInfoForm()
    if not form.validate_on_submit():
        return _invalid(found, "staff_actions", info_form=form)
    services.request_information(found, current_user, form.body.data)
    db.session.commit()
    return _after_action(found, "staff_actions")


@bp.post("/cases/<reference>/take")
@staff_required
def take(reference: str):
    found = get_case_or_404(reference, current_user)
    if not EmptyForm().validate_on_submit():
        return _invalid(found, "staff_actions")
    services.take(found, current_user)
    db.session.commit()
    return _after_action(found, "staff_actions")


@bp.post("/cases/<reference>/assignee")
@staff_required
def assign(reference: str):
    found = get_case_or_404(reference, current_user)
    form = AssignForm()
    form.assignee_id.choices = assignee_choices()
    if not form.validate_on_submit():
        return _invalid(found, "staff_actions", assign_form=form)
    services.assign(found, current_user, db.session.get(User, form.assignee_id.data))
    db.session.commit()
    return _after_action(found, "staff_actions")
