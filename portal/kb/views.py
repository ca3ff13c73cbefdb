from flask import Blueprint, abort, request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from portal.extensions import db
from portal.htmx import render
from portal.kb.models import Article, Category

bp = Blueprint("kb", __name__, url_prefix="/kb")


def search_articles(q: str, limit: int = 20) -> list[Article]:
    """Every word must appear in the title, summary or text. A first cut: ranked
    full-text search replaces it."""
    query = select(Article).where(Article.published.is_(True)).options(joinedload(Article.category))
    for word in q.lower().split()[:8]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                func.lower(Article.title).like(pattern, escape="\\"),
                func.lower(Article.summary).like(pattern, escape="\\"),
                func.lower(Article.body_md).like(pattern, escape="\\"),
            )
        )
    return list(db.session.scalars(query.order_by(Article.title).limit(limit)))


@bp.get("")
def index():
    q = request.args.get("q", "").strip()[:200]
    if q:
        return render("kb/index.html", q=q, results=search_articles(q), categories=[])
    categories = db.session.scalars(
        select(Category)
        .options(selectinload(Category.articles))
        .order_by(Category.position, Category.name)
    ).all()
    return render("kb/index.html", q="", results=None, categories=categories)


@bp.get("/<slug>")
def article(slug: str):
    found = db.session.scalar(
        select(Article).where(Article.slug == slug, Article.published.is_(True))
    )
    if found is None:
        abort(404)
    return render("kb/article.html", article=found)
