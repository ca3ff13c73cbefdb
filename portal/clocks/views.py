"""Routes of the clocks: the live clock panel of a case, the critical path's staff
actions, the desk's notifications, an account's business hours, the service report.

Case routes load the case through the scoped loader (another account's case: 404);
the services refuse customers (403). Desk routes do not exist for customers (404).
Importing this module connects the clocks to case events (``services``).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, update

from portal.accounts.models import Account, Role
from portal.cases.models import format_reference
from portal.cases.queries import get_case_or_404
from portal.cases.views import CASE_PAGE, _after_action, case_context, case_view_url
from portal.clocks import clock, presenters, services
from portal.clocks.forms import (
    CadenceForm,
    CallbackForm,
    HoursForm,
    IntakeForm,
    ReportForm,
    UpdateForm,
    spans_text,
)
from portal.clocks.hours import WEEKDAYS
from portal.clocks.models import ClockWarning, Notification
from portal.clocks.report import build_report
from portal.errors import PermissionDenied
from portal.extensions import db
from portal.forms import EmptyForm, choices
from portal.htmx import render, wants_fragment

bp = Blueprint("clocks", __name__)

PANEL_POLL_SECONDS = 15
NOTIFICATIONS_SHOWN = 8


@bp.before_request
@login_required
def _signed_in():
    """Every route here needs a signed-in user."""


def _staff_only() -> None:
    if not current_user.is_staff:
        abort(404)  # the desk does not exist for customers


# Template helpers ------------------------------------------------------------------


@bp.app_template_global()
def case_clocks(case):
    return presenters.case_clocks(case, current_user)


@bp.app_template_global()
def queue_clocks(cases):
    return presenters.queue_clocks(cases)


@bp.app_template_global()
def clock_actions(case, forms: dict | None = None):
    """Flags and forms for the staff's clock actions; ``forms`` carries a form that
    failed validation, so what was typed comes back with its messages."""
    forms = forms or {}
    flags = services.staff_case_clock_actions(case, current_user)
    intake = forms.get("intake_form")
    if intake is None:
        intake = IntakeForm(formdata=None, data=_intake_data(case))
    callback = forms.get("callback_form") or CallbackForm(formdata=None)
    cadence = forms.get("cadence_form") or CadenceForm(formdata=None, data={"interval_minutes": case.update_interval_minutes})
    return {
        **flags,
        "intake_form": intake,
        "callback_form": callback,
        "cadence_form": cadence,
        "update_form": forms.get("update_form") or UpdateForm(formdata=None),
        "open_form": next(iter(forms), None),
    }


def _intake_data(case) -> dict:
    defaults = services.intake_defaults(case)
    return {
        "company": defaults["company"],
        "contact_name": defaults["contact_name"],
        "contact_phone": defaults["phone"],
        "contact_email": defaults["email"],
        "description": defaults["description"],
    }


@bp.app_template_filter()
def countdown(due):
    return presenters.countdown(due)


@bp.app_template_filter()
def business_left(left):
    return presenters.business_left_text(left)


@bp.app_template_global()
def case_ref(case_id: int) -> str:
    return format_reference(case_id)


@bp.app_template_global()
def clock_poll_seconds():
    return PANEL_POLL_SECONDS


@bp.app_template_global()
def desk_notifications():
    return _notifications(NOTIFICATIONS_SHOWN)


# The case's clocks -------------------------------------------------------------------


@bp.get("/cases/<reference>/clocks")
def panel(reference: str):
    """The clock panel alone, polled by the case page; 286 once the case is resolved."""
    case = get_case_or_404(reference, current_user)
    if not wants_fragment():
        return redirect(case_view_url(case))
    return render(
        "clocks/_case_clocks.html",
        status=200 if case.is_open else 286,
        case=case,
        staff_view=current_user.is_staff,
    )


def _clock_form_failed(case, block: str = "staff_actions", **forms):
    context = case_context(case)
    context["clock_forms"] = forms
    return render(CASE_PAGE, blocks=block, status=422, **context)


def _staff_action(reference: str, action: str):
    case = get_case_or_404(reference, current_user)
    if not current_user.is_staff:
        raise PermissionDenied(f"Only support staff can {action}.")
    return case


@bp.post("/cases/<reference>/clocks/intake")
def intake(reference: str):
    case = _staff_action(reference, "log a hotline intake")
    form = IntakeForm()
    if not form.validate_on_submit():
        return _clock_form_failed(case, intake_form=form)
    services.log_hotline_intake(
        case, current_user, form.company.data, form.contact_name.data,
        form.contact_phone.data, form.contact_email.data, form.description.data,
    )
    db.session.commit()
    return _after_action(case, "staff_actions")


@bp.post("/cases/<reference>/clocks/callback")
def callback(reference: str):
    case = _staff_action(reference, "log the callback")
    form = CallbackForm()
    if not form.validate_on_submit():
        return _clock_form_failed(case, callback_form=form)
    services.log_callback(case, current_user, form.interval_minutes.data, form.note.data or "")
    db.session.commit()
    return _after_action(case, "staff_actions")


@bp.post("/cases/<reference>/clocks/cadence")
def cadence(reference: str):
    case = _staff_action(reference, "agree the update interval")
    form = CadenceForm()
    if not form.validate_on_submit():
        return _clock_form_failed(case, cadence_form=form)
    services.agree_cadence(case, current_user, form.interval_minutes.data, form.note.data or "")
    db.session.commit()
    return _after_action(case, "staff_actions")


@bp.post("/cases/<reference>/clocks/updates")
def post_update(reference: str):
    case = _staff_action(reference, "post updates")
    form = UpdateForm()
    if not form.validate_on_submit():
        return _clock_form_failed(case, update_form=form)
    services.post_update(case, current_user, form.body.data)
    db.session.commit()
    return _after_action(case, "staff_actions")


# Notifications -------------------------------------------------------------------------


def _notifications(limit: int):
    rows = db.session.execute(
        select(Notification, ClockWarning.due_at)
        .outerjoin(ClockWarning, Notification.warning_id == ClockWarning.id)
        .where(Notification.user_id == current_user.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    ).all()
    return [(n, due) for n, due in rows]


def _unread() -> int:
    return db.session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == current_user.id, Notification.read_at.is_(None)
        )
    )


@bp.get("/desk/notifications")
def notifications():
    """The full list; with ``panel=1`` an htmx poll gets the queue's short list."""
    _staff_only()
    if request.args.get("panel") and wants_fragment():
        return render("clocks/_notifications.html", items=_notifications(NOTIFICATIONS_SHOWN))
    return render(
        "clocks/notifications.html",
        blocks="notifications_list",
        items=_notifications(100),
        unread=_unread(),
        button_form=EmptyForm(formdata=None),
    )


@bp.post("/desk/notifications/read")
def notifications_read():
    _staff_only()
    if EmptyForm().validate_on_submit():
        db.session.execute(
            update(Notification)
            .where(Notification.user_id == current_user.id, Notification.read_at.is_(None))
            .values(read_at=clock.now())
        )
        db.session.commit()
    if wants_fragment():
        return render(
            "clocks/notifications.html",
            blocks="notifications_list",
            items=_notifications(100),
            unread=0,
            button_form=EmptyForm(formdata=None),
        )
    return redirect(request.referrer if _same_site(request.referrer) else url_for("clocks.notifications"), 303)


def _same_site(url: str | None) -> bool:
    return bool(url) and url.startswith(request.host_url)


# Business hours -----------------------------------------------------------------------


def _account_or_404(account_id: int) -> Account:
    account = db.session.get(Account, account_id)
    if account is None or not services.can_see_account(current_user, account):
        abort(404)
    return account


def _in_force(account: Account) -> dict:
    rows = services.schedule_rows(account.id)
    now = clock.now()
    current = [r for r in rows if r.effective_from <= now]
    row = current[-1] if current else None
    return {
        "timezone": row.timezone if row else account.timezone,
        "hours": row.hours if row else (account.business_hours or {}),
        "holiday_country": row.holiday_country if row else None,
        "closed_dates": row.closed_dates if row else [],
        "response_target_hours": account.response_target_hours,
    }


@bp.route("/desk/accounts/<int:account_id>/hours", methods=["GET", "POST"])
def hours(account_id: int):
    _staff_only()
    account = _account_or_404(account_id)
    can_edit = services.can_edit_hours(current_user, account)
    form = HoursForm()
    status = 200
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied("Only the account's TAM or an administrator can change its hours.")
        if form.validate_on_submit():
            services.change_schedule(
                account,
                current_user,
                form.timezone.data.strip(),
                form.parsed_hours,
                holiday_country=(form.holiday_country.data or "").strip().upper() or None,
                closed_dates=form.parsed_dates,
                note=form.note.data,
                response_target_hours=form.response_target_hours.data,
            )
            db.session.commit()
            return redirect(url_for("clocks.hours", account_id=account.id, saved=1), 303)
        status = 422
    else:
        form = HoursForm(formdata=None)
        form.fill(_in_force(account))
    history = list(reversed(services.schedule_rows(account.id)))
    return render(
        "clocks/hours.html",
        status=status,
        account=account,
        form=form,
        can_edit=can_edit,
        history=history,
        weekdays=WEEKDAYS,
        spans_text=spans_text,
        in_force=_in_force(account),
        saved=request.args.get("saved") == "1",
    )


# Service report ---------------------------------------------------------------------------


def _visible_accounts() -> list[Account]:
    query = select(Account).order_by(Account.name)
    if current_user.role == Role.TAM:
        query = query.where(Account.tam_id == current_user.id)
    return list(db.session.scalars(query))


def _report(csv: bool):
    _staff_only()
    accounts = _visible_accounts()
    form = ReportForm(request.args)
    form.account.choices = choices([(0, "Choose an account"), *((a.id, a.name) for a in accounts)])
    if not request.args:
        today = clock.now().date()
        form.month.data = f"{today.year:04d}-{today.month:02d}"
        if accounts:
            form.account.data = accounts[0].id
    valid = form.validate() if request.args else bool(accounts)
    report = None
    if valid:
        account = next((a for a in accounts if a.id == form.account.data), None)
        if account is None:
            abort(404)
        year, month = getattr(form, "year_month", None) or _month_of(form.month.data)
        report = build_report(account, year, month)
        if csv:
            response = current_app.response_class(report.csv(), mimetype="text/csv")
            name = f"service-report-{account.id}-{report.label}.csv"
            response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response
    status = 422 if request.args and not valid else 200
    return render("clocks/report.html", status=status, form=form, report=report, accounts=accounts)


def _month_of(text: str) -> tuple[int, int]:
    year, month = text.split("-")
    return int(year), int(month)


@bp.get("/desk/reports/service")
def report():
    return _report(csv=False)


@bp.get("/desk/reports/service.csv")
def report_csv():
    return _report(csv=True)



# Command line: flask clocks ... ------------------------------------------------------------


@bp.cli.command("recompute")
def recompute_command():
    """Recompute every open case's due times from its events (after an import, a data
    fix, or demo data whose times were moved)."""
    import click
    from sqlalchemy.orm import joinedload

    from portal.cases.models import Case, Status

    ids = db.session.scalars(select(Case.id).where(Case.status != Status.RESOLVED).order_by(Case.id)).all()
    for start in range(0, len(ids), 500):
        batch = db.session.scalars(
            select(Case).where(Case.id.in_(ids[start : start + 500])).options(joinedload(Case.account))
        ).all()
        services.recompute_many(batch)
        db.session.commit()
    click.echo(f"Recomputed the clocks of {len(ids)} open case(s).")


@bp.cli.command("sweep")
def sweep_command():
    """Run the minute sweep once now and say what it sent."""
    import click

    from portal.clocks.sweep import run_sweep

    sent = run_sweep()
    for warning in sent:
        click.echo(f"{format_reference(warning.case_id)} {warning.clock} {warning.stage}: {len(warning.recipients)} notified")
    click.echo(f"{len(sent)} warning(s) sent.")
