"""The warm-up and migration planner: a form, the saved plans of the account, and
each plan as a page, two CSV downloads and an inline SVG chart.

Saving is the only state change (and removing); a plan is never edited, because a
plan someone already follows should not change under them: "Start from this plan"
makes a new one from its inputs."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.accounts.models import Account
from portal.extensions import db
from portal.forms import EmptyForm, choices
from portal.htmx import render, wants_fragment
from portal.inputs import db_int
from portal.planner import services
from portal.planner.chart import ramp_chart
from portal.planner.forms import MAX_VOLUME, PlannerForm, parse_count
from portal.planner.schedule import (
    PHASES,
    PROVIDERS,
    SLOW_DOWN_SIGNALS,
    PlanInputs,
    suggest_ip_count,
)

bp = Blueprint("planner", __name__, url_prefix="/planner")

INDEX = "planner/index.html"
DETAIL = "planner/detail.html"


@bp.before_request
@login_required
def _signed_in():
    """Every route here needs a signed-in user."""


@dataclass(frozen=True)
class CasePlan:
    name: str
    url: str | None  # None: the viewer may not see the plan, or it was removed


@bp.app_template_global()
def case_plan(case) -> CasePlan | None:
    """The warm-up plan a planning request names, for the case page: linked for
    whoever may see the plan, the name alone for anyone else."""
    name = case.details.get("warmup_plan")
    if not name:
        return None
    plan_id = services.visible_plan_id(
        current_user, case.account_id, case.details.get("warmup_plan_id")
    )
    return CasePlan(name, url_for("planner.detail", plan_id=plan_id) if plan_id else None)


def _today():
    return datetime.now(current_user.zone).date()


def _accounts() -> list[Account]:
    return list(db.session.scalars(services.visible_accounts(current_user).order_by(Account.name)))


def _form(accounts: list[Account], **kwargs) -> PlannerForm:
    form = kwargs.pop("form", None) or PlannerForm(today=_today(), **kwargs)
    # The hint under "Number of new IPs" follows the volume as it is typed.
    form.volume.render_kw = {
        "inputmode": "numeric",
        "autocomplete": "off",
        "hx-get": url_for("planner.suggestion"),
        "hx-trigger": "input changed delay:300ms",
        "hx-target": "#ip-suggestion",
        "hx-swap": "outerHTML",
    }
    if current_user.is_customer:
        del form.account_id
    else:
        form.account_id.choices = choices((a.id, a.name) for a in accounts)
    return form


def _suggestion_for(raw: str | None):
    try:
        volume = parse_count(raw or "")
    except ValueError:
        return None
    return suggest_ip_count(volume) if 0 < volume <= MAX_VOLUME else None


def _index(form: PlannerForm, accounts: list[Account], status: int = 200):
    volume = form.volume.data if form.volume.data and not form.volume.errors else None
    return render(
        INDEX,
        blocks="planner_form",
        status=status,
        form=form,
        accounts=accounts,
        plans=services.list_plans(current_user),
        suggestion=suggest_ip_count(volume) if volume and volume <= MAX_VOLUME else None,
        providers=PROVIDERS,
    )


@bp.get("")
def index():
    accounts = _accounts()
    start_from = request.args.get("from", type=db_int)
    if start_from:
        saved = services.get_plan_or_404(start_from, current_user)
        form = _form(
            accounts,
            form=PlannerForm.prefilled(PlanInputs.from_json(saved.inputs), _today()),
        )
        if not current_user.is_customer:
            form.account_id.data = saved.account_id
    else:
        form = _form(accounts, formdata=None, data={"start": _today()})
    return _index(form, accounts)


@bp.post("")
def create():
    accounts = _accounts()
    form = _form(accounts)
    if not form.validate_on_submit():
        return _index(form, accounts, status=422)
    account = current_user.account if current_user.is_customer else db.session.get(
        Account, form.account_id.data
    )
    saved = services.save_plan(current_user, account, form.inputs(), form.name.data or "")
    db.session.commit()
    target = url_for("planner.detail", plan_id=saved.id)
    if wants_fragment():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.get("/suggestion")
def suggestion():
    """The IP-count hint for the volume being typed (htmx); the page itself otherwise."""
    if not wants_fragment():
        return redirect(url_for("planner.index"))
    return render(INDEX, blocks="ip_suggestion", suggestion=_suggestion_for(request.args.get("volume")))


def _detail_context(saved) -> dict:
    plan = services.plan_of(saved)
    author = services.author_of(saved)
    return {
        "saved": saved,
        "plan": plan,
        "account": services.account_of(saved),
        "author": author,
        "chart": ramp_chart(plan),
        "providers": PROVIDERS,
        "signals": SLOW_DOWN_SIGNALS,
        "phases": PHASES,
        "suggestion": suggest_ip_count(plan.inputs.volume),
        "can_remove": services.can_plan_for(current_user, services.account_of(saved)),
        "button_form": EmptyForm(formdata=None),
        "num": lambda n: f"{n:,}",
        "pct": lambda d: f"{d.normalize():f}",
    }


@bp.get("/<int:plan_id>")
def detail(plan_id: int):
    saved = services.get_plan_or_404(plan_id, current_user)
    return render(DETAIL, **_detail_context(saved))


def _filename(saved, suffix: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", saved.name.lower()).strip("-")[:60] or "plan"
    return f"warmup-{saved.id}-{slug}-{suffix}.csv"


def _csv(saved, suffix: str, header: list[str], rows) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{_filename(saved, suffix)}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:plan_id>/plan.csv")
def plan_csv(plan_id: int):
    """One row a day: this service's volume by provider and, for a migration, the split."""
    saved = services.get_plan_or_404(plan_id, current_user)
    plan = services.plan_of(saved)
    header = ["day", "date", "week", "engagement_window", "schedule_per_ip", "ips", "this_service"]
    header += [key for key, _ in PROVIDERS]
    if plan.inputs.is_migration:
        header += ["current_provider", "all_traffic"]
    rows = []
    for day in plan.days:
        row = [day.number, day.date.isoformat(), day.week, day.phase.short, day.schedule_per_ip,
               plan.inputs.ips, day.total, *(day.providers[k] for k, _ in PROVIDERS)]  # fmt: skip
        if plan.inputs.is_migration:
            row += [day.old_provider, day.all_traffic]
        rows.append(row)
    return _csv(saved, "by-day", header, rows)


@bp.get("/<int:plan_id>/per-ip.csv")
def per_ip_csv(plan_id: int):
    """One row a day and IP, split by mailbox provider."""
    saved = services.get_plan_or_404(plan_id, current_user)
    plan = services.plan_of(saved)
    header = ["day", "date", "ip", "total", *(key for key, _ in PROVIDERS)]
    rows = [
        [day.number, day.date.isoformat(), f"IP {ip + 1}", day.per_ip[ip],
         *(split[k] for k, _ in PROVIDERS)]  # fmt: skip
        for day in plan.days
        for ip, split in enumerate(day.per_ip_providers)
    ]
    return _csv(saved, "per-ip", header, rows)


@bp.post("/<int:plan_id>/delete")
def delete(plan_id: int):
    saved = services.get_plan_or_404(plan_id, current_user)
    if not EmptyForm().validate_on_submit():
        return render(DETAIL, status=422, **_detail_context(saved))
    name = saved.name
    services.delete_plan(saved, current_user)
    db.session.commit()
    flash(f"Removed the plan “{name}”.", "success")
    target = url_for("planner.index")
    if wants_fragment():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)

