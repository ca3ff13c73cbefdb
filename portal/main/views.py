from datetime import UTC, datetime

from flask import Blueprint, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.cases.models import OPEN_STATUSES, Case, Kind, Status
from portal.cases.presenters import next_step
from portal.cases.queries import scoped_cases
from portal.extensions import db
from portal.htmx import render
from portal.kb.models import Article

bp = Blueprint("main", __name__)

HOTLINE_CASES = 10


@bp.get("/healthz")
def healthz():
    """Liveness for load balancers: touches neither the session nor the database."""
    return {"status": "ok"}


healthz.session_free = True


@bp.get("/")
@login_required
def home():
    if current_user.is_staff:
        return redirect(url_for("desk.queue"))
    open_cases = db.session.scalars(
        scoped_cases(current_user)
        .where(Case.status != Status.RESOLVED)
        .order_by(Case.priority, Case.last_activity_at.desc())
        .limit(20)
    ).all()
    guides = db.session.scalars(
        select(Article)
        .where(Article.published.is_(True))
        .options(joinedload(Article.category))
        .order_by(Article.updated_at.desc())
        .limit(4)
    ).all()
    account = current_user.account
    reachable, until = account.reachability(datetime.now(UTC))
    return render(
        "main/home.html",
        open_cases=[(case, next_step(case, current_user)) for case in open_cases],
        critical_cases=[c for c in open_cases if c.kind == Kind.CRITICAL],
        guides=guides,
        account=account,
        tam=account.tam,
        reachable=reachable,
        reachable_until=until,
    )


@bp.get("/hotline")
def hotline():
    critical = []
    if current_user.is_authenticated and current_user.is_customer:
        # The newest few: the page is for calling now, the case list has the rest.
        critical = db.session.scalars(
            scoped_cases(current_user)
            .where(Case.kind == Kind.CRITICAL, Case.status.in_(OPEN_STATUSES))
            .order_by(Case.id.desc())
            .limit(HOTLINE_CASES + 1)
        ).all()
    return render(
        "main/hotline.html",
        critical_cases=critical[:HOTLINE_CASES],
        more_critical=len(critical) > HOTLINE_CASES,
        opened=request.args.get("opened", "")[:20],
    )
