"""The customer's page about their Technical Account Manager: who, how to reach
them and when, what they do, and the planning requests that go to them."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, redirect, url_for
from flask_login import current_user, login_required

from portal.cases.forms import PLANNING_TOPICS
from portal.cases.models import Case, Kind
from portal.cases.queries import scoped_cases
from portal.extensions import db
from portal.htmx import render
from portal.planner.services import plans_for_account
from portal.tam import services

bp = Blueprint("tam", __name__, url_prefix="/tam")
bp.record_once(lambda _state: services.connect_receivers())


@bp.get("")
@login_required
def index():
    if current_user.is_staff:
        return redirect(url_for("desk.queue"))
    account = current_user.account
    now = datetime.now(UTC)
    reach = services.reachability(account, now)
    planning = db.session.scalars(
        scoped_cases(current_user)
        .where(Case.kind == Kind.PLANNING)
        .order_by(Case.id.desc())
        .limit(10)
    ).all()
    return render(
        "tam/index.html",
        account=account,
        tam=services.tam_of(account),
        reach=reach,
        weekly_hours=services.weekly_hours(reach.hours),
        now=now,
        planning_cases=planning,
        plans=plans_for_account(account.id, limit=5),
        topics=PLANNING_TOPICS,
    )
