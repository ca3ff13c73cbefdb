"""Knowledge-base fixtures: the shipped articles from content/kb, and helpers to
make single articles."""

from __future__ import annotations

import pytest

from portal.demo.data import CATEGORIES, read_articles
from portal.extensions import db
from portal.kb.models import Article, Category
from portal.markdown import render_markdown


def make_article(category: Category, slug: str, title: str, body: str, published: bool = True,
                 summary: str = "") -> Article:
    article = Article(slug=slug, title=title, summary=summary, body_md=body,
                      body_html=str(render_markdown(body)), category=category, published=published)
    db.session.add(article)
    db.session.flush()
    return article


def make_category() -> Category:
    c = Category(slug="deliverability", name="Deliverability best practice")
    db.session.add(c)
    db.session.commit()
    return c


def load_shipped() -> dict[str, Article]:
    """Every article of content/kb, as the demo loader reads them: slug -> article."""
    categories = {}
    for position, (slug, name, description) in enumerate(CATEGORIES):
        categories[slug] = Category(slug=slug, name=name, description=description, position=position)
        db.session.add(categories[slug])
    db.session.flush()
    articles = {}
    for spec in read_articles():
        articles[spec["slug"]] = make_article(
            categories[spec["category"]], spec["slug"], spec["title"], spec["body_md"],
            published=spec["published"], summary=spec["summary"],
        )
    db.session.commit()
    return articles


@pytest.fixture
def category(app) -> Category:
    return make_category()


@pytest.fixture
def shipped(app) -> dict[str, Article]:
    return load_shipped()
