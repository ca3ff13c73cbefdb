from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_blocks
from sqlalchemy import select

from portal.cases import services
from portal.cases.attachments import path_of
from portal.cases.forms import (
    KIND_FORMS,
    KIND_HINTS,
    DisputeForm,
    ProposeResolutionForm,
    ReplyForm,
    describe_details,
)
from portal.cases.fragments import newest_visible_event, timeline_cache, timeline_key
from portal.cases.live import after_param, quick_poll
from portal.cases.models import (
    KIND_LABELS,
    STATUS_LABELS,
    Attachment,
    Case,
    EventKind,
    Kind,
    Status,
)
from portal.cases.presenters import file_size, next_step, speaker
from portal.cases.queries import (
    CaseRow,
    filter_cases,
    get_case_or_404,
    paginate,
    scoped_cases,
    timeline,
)
from portal.extensions import db, limiter
from portal.forms import EmptyForm
from portal.htmx import render, wants_fragment
from portal.inputs import page_arg
from portal.kb.services import attach_draft as attach_suggestions

bp = Blueprint("cases", __name__, url_prefix="/cases")

CASE_PAGE = "cases/detail.html"
STATE_EVENTS = {EventKind.STATUS_CHANGED, EventKind.ASSIGNED}


@bp.before_request
def _signed_in():
    """Every route here needs a signed-in user. The timeline poll checks for itself
    (see ``live.quick_poll``), so that its common answer loads nobody."""
    if request.endpoint == "cases.timeline_poll":
        return None
    return _require_login()


@login_required
def _require_login():
    """None when someone is signed in; otherwise Flask-Login's answer."""


def uploaded_files(field) -> list[services.NewFile]:
    return [
        services.NewFile(f.filename, f.mimetype, f.read())
        for f in (field.data or [])
        if f and getattr(f, "filename", "")
    ]


def case_view_url(case: Case) -> str:
    endpoint = "desk.case" if current_user.is_staff else "cases.detail"
    return url_for(endpoint, reference=case.reference)


def case_context(case: Case, after: int = 0, events=None, **forms) -> dict:
    """What the case page needs. Given ``events`` (the poll's news), the timeline
    shows those; otherwise the whole timeline comes from the cache of rendered
    timelines (``portal.cases.fragments``), rendered on a miss."""
    user = current_user._get_current_object()
    whole = events is None and after == 0
    if events is None and not whole:
        events = timeline(case, user, after)
    proposal_open = case.status == Status.RESOLUTION_PROPOSED
    other_side = proposal_open and case.proposed_by != user.side
    short_details, long_details = describe_details(case)
    context = {
        "short_details": short_details,
        "long_details": long_details,
        "speaker": lambda event: speaker(event, case, user),
        "file_size": file_size,
        "case": case,
        "events": events or [],
        "timeline_html": None,
        "last_event_id": events[-1].id if events else after,
        "staff_view": user.is_staff,
        "turn": next_step(case, user),
        "can_reply": case.is_open,
        "can_propose": case.is_open and not proposal_open,
        "can_answer_proposal": other_side,
        "needs_resolution_kind": case.kind == Kind.CRITICAL,
        "poll_seconds": current_app.config["TIMELINE_POLL_SECONDS"],
        # Only the forms the page shows: each costs tens of microseconds to build.
        "reply_form": forms.get("reply_form") or (ReplyForm(formdata=None) if case.is_open else None),
        "propose_form": forms.get("propose_form")
        or (ProposeResolutionForm(formdata=None) if case.is_open and not proposal_open else None),
        "dispute_form": forms.get("dispute_form") or (DisputeForm(formdata=None) if other_side else None),
        "button_form": EmptyForm(formdata=None) if other_side or user.is_staff else None,
    }
    if user.is_staff:
        from portal.desk.views import staff_context

        context.update(staff_context(case, forms))
    if whole:
        newest = newest_visible_event(case, user)
        if newest is not None:
            context["last_event_id"] = newest

            def draw() -> str:
                # Only up to ``newest``: a reply written meanwhile comes with the poll.
                shown = [e for e in timeline(case, user) if e.id <= newest]
                return render_blocks(CASE_PAGE, ["timeline_entries"], **{**context, "events": shown})

            key = timeline_key(case, user, newest)
            context["timeline_html"] = timeline_cache().get_or_render(key, draw)
    return context


@bp.get("")
def index():
    status = request.args.get("status", "open")
    kind = request.args.get("kind", "")
    q = request.args.get("q", "")[:200]
    if status not in ("", "open", *Status):
        status = "open"
    if kind not in ("", *Kind):
        kind = ""
    query = filter_cases(scoped_cases(current_user), status, kind, q)
    page = paginate(
        query.order_by(Case.last_activity_at.desc(), Case.id.desc()),
        page_arg(),
        current_app.config["CASES_PER_PAGE"],
        rows_as=CaseRow,
    )
    return render(
        "cases/index.html",
        blocks="case_results",
        page=page,
        filters={"status": status, "kind": kind, "q": q},
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
    )


def _customer_kind(raw: str | None) -> Kind | None:
    return Kind(raw) if raw in KIND_FORMS else None


@bp.route("/new", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["CASE_CREATE_RATE_LIMIT"], methods=["POST"])
def new():
    if not current_user.is_customer:
        return redirect(url_for("desk.queue"), 303)
    kind = _customer_kind(request.values.get("kind"))
    form = KIND_FORMS[kind]() if kind else None
    if form is not None and request.method == "POST" and form.validate_on_submit():
        case = services.open_case(
            current_user,
            kind,
            form.subject.data,
            form.description.data,
            details=form.details(),
            files=uploaded_files(form.attachments),
        )
        attach_suggestions(request.form.get("draft_key"), current_user, case)
        db.session.commit()
        target = url_for("cases.detail", reference=case.reference)
        if kind == Kind.CRITICAL:
            target = url_for("main.hotline", opened=case.reference)
        if wants_fragment():
            return "", 204, {"HX-Redirect": target}
        return redirect(target, 303)
    status = 422 if form is not None and form.errors else 200
    return render(
        "cases/new.html",
        blocks="case_form",
        status=status,
        form=form,
        kind=kind,
        kinds=list(KIND_FORMS),
        kind_labels=KIND_LABELS,
        kind_hints=KIND_HINTS,
    )


@bp.get("/<reference>")
def detail(reference: str):
    case = get_case_or_404(reference, current_user)
    if current_user.is_staff:
        return redirect(url_for("desk.case", reference=case.reference))
    return render(CASE_PAGE, **case_context(case))


@bp.get("/<reference>/timeline")
def timeline_poll(reference: str):
    """The live timeline: only public events newer than ``after`` (all of them for staff).
    204 when there is nothing new; 286 once the case is resolved, to stop polling."""
    if wants_fragment() and (quick := quick_poll(reference)) is not None:
        return quick
    if (refused := _require_login()) is not None:
        return refused
    case = get_case_or_404(reference, current_user)
    if not wants_fragment():
        return render(CASE_PAGE, **case_context(case))
    after = after_param()
    events = timeline(case, current_user, after)
    done = not case.is_open
    if not events:
        response = current_app.response_class(status=286 if done else 204)
        response.vary.add("HX-Request")
        return response
    context = case_context(case, after=after, events=events)
    blocks = ["timeline_entries", "timeline_poller", "case_summary"]
    if any(e.kind in STATE_EVENTS for e in events):
        # What may be done changed: refresh the action areas too. Only then, so a
        # half-typed reply or dispute is not wiped by every poll.
        blocks += ["case_actions", "reply_form"]
        if current_user.is_staff:
            blocks += ["staff_actions", "staff_owner"]
    return render(
        CASE_PAGE,
        blocks=blocks,
        status=286 if done else 200,
        oob=True,
        **context,
    )


def _after_action(case: Case, block: str, **forms):
    """A plain POST redirects; an htmx POST gets its refreshed block and tells the
    timeline to fetch what changed."""
    if not wants_fragment():
        return redirect(case_view_url(case), 303)
    response = render(CASE_PAGE, blocks=block, **case_context(case, **forms))
    response.headers["HX-Trigger"] = "case-changed"
    return response


def _invalid(case: Case, block: str, **forms):
    return render(CASE_PAGE, blocks=block, status=422, **case_context(case, **forms))


@bp.post("/<reference>/replies")
def reply(reference: str):
    case = get_case_or_404(reference, current_user)
    form = ReplyForm()
    if not form.validate_on_submit():
        return _invalid(case, "reply_form", reply_form=form)
    services.reply(case, current_user, form.body.data, uploaded_files(form.attachments))
    db.session.commit()
    return _after_action(case, "reply_form")


@bp.post("/<reference>/resolution")
def propose(reference: str):
    case = get_case_or_404(reference, current_user)
    form = ProposeResolutionForm()
    valid = form.validate_on_submit()
    if valid and case.kind == Kind.CRITICAL and not form.resolution_kind.data:
        form.resolution_kind.errors = ["Say whether this is a fix or a workaround."]
        valid = False
    if not valid:
        return _invalid(case, "case_actions", propose_form=form)
    services.propose_resolution(case, current_user, form.summary.data, form.resolution_kind.data)
    db.session.commit()
    return _after_action(case, "case_actions")


@bp.post("/<reference>/resolution/accept")
def accept(reference: str):
    case = get_case_or_404(reference, current_user)
    if not EmptyForm().validate_on_submit():
        return _invalid(case, "case_actions")
    services.accept_resolution(case, current_user)
    db.session.commit()
    return _after_action(case, "case_actions")


@bp.post("/<reference>/resolution/dispute")
def dispute(reference: str):
    case = get_case_or_404(reference, current_user)
    form = DisputeForm()
    if not form.validate_on_submit():
        return _invalid(case, "case_actions", dispute_form=form)
    services.dispute_resolution(case, current_user, form.reason.data)
    db.session.commit()
    return _after_action(case, "case_actions")


@bp.get("/<reference>/attachments/<int:attachment_id>/<path:filename>")
def attachment(reference: str, attachment_id: int, filename: str):
    case = get_case_or_404(reference, current_user)
    item = db.session.scalar(
        select(Attachment).where(Attachment.id == attachment_id, Attachment.case_id == case.id)
    )
    if item is None or (item.event is not None and item.event.internal and not current_user.is_staff):
        return render("errors/error.html", status=404, title="Not found", reason="No such attachment.")
    response = send_file(
        path_of(item),
        mimetype="application/octet-stream",
        as_attachment=True,
        download_name=item.filename,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
