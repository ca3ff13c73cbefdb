"""Mail pages: everyone's notification preferences, and for staff the outbox's
failed and retrying sends with a retry button."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.cases.models import Case, format_reference, parse_reference
from portal.cases.queries import scoped_cases
from portal.desk.views import staff_required
from portal.extensions import db
from portal.forms import EmptyForm
from portal.htmx import render, wants_fragment

# Importing notify connects its event_added receiver: the app imports this module.
from portal.mail import notify, outbox
from portal.mail.forms import PreferencesForm
from portal.mail.models import OutboundMessage
from portal.timeutil import utcnow

bp = Blueprint("mail", __name__)

OUTBOX_PAGE = "mail/outbox.html"


@bp.app_template_global()
def failed_mail_count(case: Case) -> int:
    """For the staff case page's marker."""
    return outbox.failed_count(case.id)


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    if request.method == "GET":
        form = PreferencesForm.for_user(current_user, formdata=None)
        return render("mail/preferences.html", blocks="preferences_form", form=form)
    form = PreferencesForm.for_user(current_user)
    if not form.validate_on_submit():
        return render("mail/preferences.html", blocks="preferences_form", status=422, form=form)
    notify.set_preferences(current_user, form.chosen())
    db.session.commit()
    if wants_fragment():
        return render("mail/preferences.html", blocks="preferences_form", form=form, saved=True)
    flash("Your notification settings are saved.", "success")
    return redirect(url_for("mail.preferences"), 303)


def visible_messages():
    """Outbox rows of the cases this staff member may see (a TAM: their accounts)."""
    return select(OutboundMessage).where(
        OutboundMessage.case_id.in_(scoped_cases(current_user).with_only_columns(Case.id))
    )


def get_message_or_404(message_id: int) -> OutboundMessage:
    row = db.session.scalar(visible_messages().where(OutboundMessage.id == message_id))
    if row is None:
        abort(404)
    return row


def outbox_context(notice: str | None = None) -> dict:
    query = visible_messages()
    case_filter = request.args.get("case", "")
    case_id = parse_reference(case_filter) if case_filter else None
    if case_id is not None:
        query = query.where(OutboundMessage.case_id == case_id)
    failed = db.session.scalars(
        query.where(OutboundMessage.status == outbox.FAILED)
        .order_by(OutboundMessage.id.desc())
        .limit(200)
    ).all()
    retrying = db.session.scalars(
        query.where(OutboundMessage.status == outbox.PENDING, OutboundMessage.attempts > 0)
        .order_by(OutboundMessage.next_attempt_at)
        .limit(200)
    ).all()
    return {
        "failed": failed,
        "retrying": retrying,
        "case_filter": case_filter if case_id is not None else "",
        "notice": notice,
        "button_form": EmptyForm(formdata=None),
        "reference": format_reference,
    }


@bp.get("/desk/mail")
@staff_required
def outbox_page():
    return render(OUTBOX_PAGE, blocks="outbox_lists", **outbox_context())


def _after_retry(notice: str):
    db.session.commit()
    if wants_fragment():
        return render(OUTBOX_PAGE, blocks="outbox_lists", **outbox_context(notice))
    flash(notice, "success")
    return redirect(url_for("mail.outbox_page", case=request.args.get("case") or None), 303)


@bp.post("/desk/mail/<int:message_id>/retry")
@staff_required
def retry(message_id: int):
    row = get_message_or_404(message_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    if row.status == outbox.SENT:
        return _after_retry(f"The message to {row.to_address} was already sent.")
    outbox.retry(row, utcnow())
    return _after_retry(
        f"The message to {row.to_address} is queued again; the worker sends it within a minute."
    )


@bp.post("/desk/mail/retry-failed")
@staff_required
def retry_all():
    if not EmptyForm().validate_on_submit():
        abort(400)
    rows = db.session.scalars(
        visible_messages().where(OutboundMessage.status == outbox.FAILED)
    ).all()
    now = utcnow()
    for row in rows:
        outbox.retry(row, now)
    return _after_retry(f"{len(rows)} failed message{'s' if len(rows) != 1 else ''} queued again.")
