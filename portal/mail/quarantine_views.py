"""The quarantine on the desk: mail that did not go onto a case by itself, and mail
whose processing failed. Staff look at it raw or parsed, release it onto a case
or as a new case, discard it, or process it again. Customers get 404."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

from flask import Blueprint, abort, current_app, redirect, request, send_file, url_for
from flask_login import current_user
from sqlalchemy import and_, func, or_, select
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.accounts.models import Role, User
from portal.cases.models import Case, parse_reference
from portal.cases.queries import scoped_cases
from portal.desk.views import staff_required
from portal.extensions import db
from portal.forms import EmptyForm, PortalForm
from portal.htmx import render
from portal.inputs import page_arg
from portal.mail import inbound
from portal.mail import inbound_parse as mp
from portal.mail.inbound_trim import trim_reply
from portal.mail.models import InboundMessage
from portal.timeutil import utcnow

bp = Blueprint("quarantine", __name__, url_prefix="/desk/quarantine")

RAW_PREVIEW_BYTES = 200_000
# A message still "received" this long after it arrived was interrupted mid-way.
STUCK_AFTER = timedelta(minutes=5)
SHOWS = {
    "attention": "Needs a decision",
    "quarantined": "Quarantined",
    "failed": "Failed",
    "discarded": "Discarded",
    "processed": "On cases",
    "all": "All mail",
}


class ReleaseForm(PortalForm):
    reference = StringField("Case reference", validators=[DataRequired(), Length(max=20)])


class NewCaseForm(PortalForm):
    requester = StringField(
        "Requester (a customer user's address)", validators=[DataRequired(), Length(max=254)]
    )


def _stuck():
    return and_(
        InboundMessage.status == inbound.RECEIVED,
        InboundMessage.received_at < utcnow() - STUCK_AFTER,
    )


def _filtered(show: str):
    query = select(InboundMessage)
    if show == "attention":
        return query.where(
            or_(InboundMessage.status.in_((inbound.QUARANTINED, inbound.FAILED)), _stuck())
        )
    if show == "failed":
        return query.where(or_(InboundMessage.status == inbound.FAILED, _stuck()))
    if show in ("quarantined", "discarded", "processed"):
        return query.where(InboundMessage.status == show)
    return query


def get_message_or_404(message_id: int) -> InboundMessage:
    message = db.session.get(InboundMessage, message_id)
    if message is None:
        abort(404)
    return message


@bp.get("")
@staff_required
def index():
    show = request.args.get("show", "attention")
    show = show if show in SHOWS else "attention"
    query = _filtered(show).order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc())
    page = db.paginate(
        query,
        page=page_arg(),
        per_page=current_app.config["CASES_PER_PAGE"],
        error_out=False,
    )
    waiting = db.session.scalar(select(func.count()).select_from(_filtered("attention").subquery()))
    return render(
        "quarantine/index.html",
        blocks="quarantine_list",
        page=page,
        show=show,
        shows=SHOWS,
        waiting=waiting,
        stuck_before=utcnow() - STUCK_AFTER,
    )


def _detail_context(message: InboundMessage, **forms) -> dict:
    try:
        mail, error = mp.parse(message.raw), None
    except Exception as exc:  # shown, not raised: the raw source is still there
        mail, error = None, f"{type(exc).__name__}: {exc}"
    suggested = inbound.suggested_case(message, mail) if mail and message.case_id is None else None
    open_ = message.status in inbound.OPEN_STATUSES
    stuck = message.status == inbound.RECEIVED and message.received_at < utcnow() - STUCK_AFTER
    release_form = forms.get("release_form") or ReleaseForm(formdata=None)
    new_case_form = forms.get("new_case_form") or NewCaseForm(formdata=None)
    if not release_form.reference.data and suggested is not None:
        release_form.reference.data = suggested.reference
    if not new_case_form.requester.data and mail is not None:
        new_case_form.requester.data = mail.sender
    return {
        "message": message,
        "mail": mail,
        "parse_error": error,
        "trimmed": trim_reply(mail.text) if mail else "",
        "raw_preview": message.raw[:RAW_PREVIEW_BYTES].decode("utf-8", "replace"),
        "raw_cut": len(message.raw) > RAW_PREVIEW_BYTES,
        "case": db.session.get(Case, message.case_id) if message.case_id else None,
        "suggested": suggested,
        "can_release": open_,
        "can_retry": message.status == inbound.FAILED or stuck,
        "release_form": release_form,
        "new_case_form": new_case_form,
        "button_form": EmptyForm(formdata=None),
    }


@bp.get("/<int:message_id>")
@staff_required
def detail(message_id: int):
    message = get_message_or_404(message_id)
    return render("quarantine/detail.html", **_detail_context(message))


@bp.get("/<int:message_id>/original.eml")
@staff_required
def original(message_id: int):
    message = get_message_or_404(message_id)
    response = send_file(
        BytesIO(message.raw),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=f"inbound-{message.id}.eml",
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _invalid(message: InboundMessage, **forms):
    return render("quarantine/detail.html", status=422, **_detail_context(message, **forms))


@bp.post("/<int:message_id>/release")
@staff_required
def release(message_id: int):
    message = get_message_or_404(message_id)
    form = ReleaseForm()
    case = _visible_case(form.reference.data) if form.validate_on_submit() else None
    if case is None or not case.is_open:
        if not form.errors:
            form.reference.errors = [
                f"{case.reference} is resolved: release the message as a new case instead."
                if case is not None
                else f"No case {form.reference.data.strip()} that you can see."
            ]
        return _invalid(message, release_form=form)
    inbound.release_to_case(message, case, current_user)
    db.session.commit()
    return redirect(url_for("desk.case", reference=case.reference), 303)


def _visible_case(reference: str | None) -> Case | None:
    case_id = parse_reference((reference or "").strip())
    if case_id is None:
        return None
    return db.session.scalar(scoped_cases(current_user).where(Case.id == case_id))


@bp.post("/<int:message_id>/new-case")
@staff_required
def new_case(message_id: int):
    message = get_message_or_404(message_id)
    form = NewCaseForm()
    requester = _customer(form.requester.data) if form.validate_on_submit() else None
    if requester is None:
        if not form.errors:
            form.requester.errors = ["No active customer user has this address."]
        return _invalid(message, new_case_form=form)
    case = inbound.release_as_new_case(message, requester, current_user)
    db.session.commit()
    return redirect(url_for("desk.case", reference=case.reference), 303)


def _customer(address: str | None) -> User | None:
    address = (address or "").strip().lower()
    return db.session.scalar(
        select(User).where(
            func.lower(User.email) == address, User.role == Role.CUSTOMER, User.active.is_(True)
        )
    )


@bp.post("/<int:message_id>/discard")
@staff_required
def discard(message_id: int):
    message = get_message_or_404(message_id)
    if not EmptyForm().validate_on_submit():
        return _invalid(message)
    inbound.discard(message, current_user)
    db.session.commit()
    return redirect(url_for("quarantine.index"), 303)


@bp.post("/<int:message_id>/retry")
@staff_required
def retry(message_id: int):
    message = get_message_or_404(message_id)
    if not EmptyForm().validate_on_submit():
        return _invalid(message)
    inbound.retry(message, current_user)  # commits: processing is its own unit of work
    return redirect(url_for("quarantine.detail", message_id=message.id), 303)
