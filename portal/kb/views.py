from flask import Blueprint, abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.htmx import render
from portal.kb.models import Article, Category

bp = Blueprint("kb", __name__, url_prefix="/kb")


@bp.get("")
def index():
    categories = db.session.scalars(
        select(Category).options(selectinload(Category.articles)).order_by(Category.position, Category.name)
    ).all()
    return render("kb/index.html", categories=categories)


@bp.get("/<slug>")
def article(slug: str):
    found = db.session.scalar(select(Article).where(Article.slug == slug, Article.published.is_(True)))
    if found is None:
        abort(404)
    return render("kb/article.html", article=found)
