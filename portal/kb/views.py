"""The knowledge base as customers see it: browse, search as you type, read, vote,
and the guides suggested beside a new case's subject."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from portal.database import immediate
from portal.errors import PermissionDenied
from portal.extensions import db
from portal.htmx import render, wants_fragment
from portal.inputs import NUL
from portal.kb import search, services
from portal.kb.forms import VoteForm
from portal.kb.models import Article, Category

bp = Blueprint("kb", __name__, url_prefix="/kb")

SEARCH_LIMIT = 20
SUGGESTION_LIMIT = 4
MIN_LIVE_QUERY = 2


@bp.app_template_global()
def kb_draft_key() -> str:
    """The draft key of the new-case form: the one it was posted with, else a new one."""
    return services.valid_draft_key(request.form.get("draft_key")) or services.new_draft_key()


def _person():
    return current_user if current_user.is_authenticated else None


def _after_response(work, *args) -> None:
    """Record something a GET observed (a search, a suggestion) once the page is
    rendered, in a write transaction of its own. On SQLite a read transaction that
    starts writing can fail at once under concurrent writers; this one begins with
    BEGIN IMMEDIATE. A failure here is logged and never costs the person their page."""
    db.session.commit()
    try:
        with immediate():
            work(*args)
            db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("could not record %s", work.__name__, exc_info=True)


def get_published_or_404(slug: str) -> Article:
    if NUL in slug:  # no slug has one, and PostgreSQL refuses it in a parameter
        abort(404)
    article = db.session.scalar(select(Article).where(Article.slug == slug, Article.published.is_(True)))
    if article is None:
        abort(404)
    return article


@bp.get("")
def index():
    q = request.args.get("q", "").strip()[: search.MAX_QUERY]
    live = wants_fragment()
    # The home page's search box asks for a short preview; /kb's for the full list.
    block = "search_preview" if request.headers.get("HX-Target") == "home-results" else "kb_results"
    if not q:
        categories = []
        if block == "kb_results":
            categories = db.session.scalars(
                select(Category)
                .options(selectinload(Category.articles))
                .order_by(Category.position, Category.name)
            ).all()
        return render("kb/index.html", blocks=block, q="", hits=None, categories=categories)
    hits = search.search(q, limit=SEARCH_LIMIT)
    response = render("kb/index.html", blocks=block, q=q, hits=hits, categories=[])
    # A live search is recorded only for people who are signed in (their keystrokes
    # fold into one row); a submitted search is recorded for anyone.
    if len(q) >= MIN_LIVE_QUERY and (_person() or not live):
        _after_response(services.record_search, _person(), q, len(hits))
    return response


@bp.get("/<slug>")
def article(slug: str):
    found = get_published_or_404(slug)
    related = db.session.scalars(
        select(Article)
        .where(Article.category_id == found.category_id, Article.published.is_(True), Article.id != found.id)
        .order_by(Article.title)
        .limit(6)
    ).all()
    return render("kb/article.html", related=related, **article_context(found))


def article_context(article: Article, form: VoteForm | None = None) -> dict:
    helpful, unhelpful = services.vote_counts(article)
    can_vote = current_user.is_authenticated and current_user.is_customer
    return {
        "article": article,
        "vote_form": form or VoteForm(formdata=None),
        "can_vote": can_vote,
        "my_vote": services.vote_of(article, current_user) if can_vote else None,
        "helpful": helpful,
        "unhelpful": unhelpful,
    }


@bp.post("/<slug>/vote")
@login_required
def vote(slug: str):
    found = get_published_or_404(slug)
    if not current_user.is_customer:
        raise PermissionDenied("Votes are for customers; the desk shows the tally.")
    form = VoteForm()
    if not form.validate_on_submit():
        return render("kb/article.html", blocks="article_vote", status=422, **article_context(found, form))
    services.vote(found, current_user, form.helpful.data == "yes")
    db.session.commit()
    if wants_fragment():
        return render("kb/article.html", blocks="article_vote", **article_context(found))
    return redirect(url_for("kb.article", slug=found.slug, _anchor="article-vote"), 303)


@bp.get("/suggest")
@login_required
def suggest():
    """Guides matching a new case's subject, for the aside beside the form."""
    subject = request.args.get("subject", "").strip()[: search.MAX_QUERY]
    draft_key = services.valid_draft_key(request.args.get("draft_key"))
    hits = []
    if current_user.is_customer and len(subject) >= 3:
        hits = search.search(subject, limit=SUGGESTION_LIMIT)
    response = render(
        "kb/suggestions.html", blocks="case_suggestions", hits=hits, subject=subject, draft_key=draft_key
    )
    if hits and draft_key:
        _after_response(services.record_shown, draft_key, current_user, [h.article for h in hits])
    return response


@bp.get("/suggested/<draft_key>/<int:article_id>")
@login_required
def open_suggestion(draft_key: str, article_id: int):
    """The link of a suggested guide: count the opening, then show the guide."""
    found = db.session.get(Article, article_id)
    if found is None or not found.published:
        abort(404)
    key = services.valid_draft_key(draft_key)
    if key and current_user.is_customer:
        _after_response(services.record_opened, key, current_user, found)
    return redirect(url_for("kb.article", slug=found.slug), 303)
