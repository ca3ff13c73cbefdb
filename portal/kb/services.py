"""The knowledge base's rules: saving articles with their revisions, votes, and the
records of searches and suggestions. Functions change models and flush; the
view commits."""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from portal.accounts.models import User
from portal.errors import Conflict
from portal.extensions import db
from portal.kb.models import Article, ArticleRevision, ArticleVote, SearchQuery, SuggestionEvent
from portal.markdown import render_markdown
from portal.timeutil import utcnow

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
# Addresses under /kb that are routes, not articles.
RESERVED_SLUGS = frozenset({"suggest", "suggested"})
DRAFT_KEY = re.compile(r"[A-Za-z0-9_-]{16,40}")
# Live searches from one person within this window, each extending or trimming the
# last, are one search: the row is updated rather than one written per keystroke.
SEARCH_SESSION = timedelta(minutes=2)


@dataclass
class ArticleInput:
    title: str
    summary: str
    body_md: str
    category_id: int
    slug: str | None = None


def _text(value: str) -> str:
    """NUL cannot be stored in a PostgreSQL text column, and means nothing in an article."""
    return (value or "").replace("\x00", "")


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:120].rstrip("-") or "article"


def unique_slug(wanted: str, article_id: int | None = None) -> str:
    slug, n = wanted, 1
    while slug in RESERVED_SLUGS or db.session.scalar(
        select(Article.id).where(Article.slug == slug, Article.id != (article_id or 0))
    ):
        n += 1
        slug = f"{wanted[:115]}-{n}"
    return slug


def latest_revision_id(article: Article) -> int:
    return db.session.scalar(
        select(func.coalesce(func.max(ArticleRevision.id), 0)).where(
            ArticleRevision.article_id == article.id
        )
    )


def _revise(article: Article, author: User) -> ArticleRevision:
    revision = ArticleRevision(
        article_id=article.id,
        author_id=author.id,
        title=article.title,
        summary=article.summary,
        body_md=article.body_md,
        published=article.published,
    )
    db.session.add(revision)
    db.session.flush()
    return revision


def _clean(data: ArticleInput) -> ArticleInput:
    return ArticleInput(
        title=_text(data.title), summary=_text(data.summary), body_md=_text(data.body_md),
        category_id=data.category_id, slug=data.slug,
    )


def create_article(author: User, data: ArticleInput) -> Article:
    """A new draft, with its first revision."""
    data = _clean(data)
    article = Article(
        slug=unique_slug(data.slug or slugify(data.title)),
        title=data.title,
        summary=data.summary,
        body_md=data.body_md,
        body_html=str(render_markdown(data.body_md)),
        category_id=data.category_id,
        published=False,
    )
    db.session.add(article)
    db.session.flush()
    _revise(article, author)
    return article


def update_article(
    article: Article, author: User, data: ArticleInput, base_revision: int | None = None
) -> ArticleRevision | None:
    """Save an edit as a new revision. ``base_revision`` is the revision the editor
    started from: if someone saved since, refuse rather than overwrite their work.
    Saving without a change writes no revision."""
    data = _clean(data)
    if base_revision is not None and base_revision != latest_revision_id(article):
        raise Conflict(
            "Someone else saved this article after you opened it. Your text is kept "
            "below; compare it with the revision history before saving again."
        )
    values = {
        "title": data.title,
        "summary": data.summary,
        "body_md": data.body_md,
        "category_id": data.category_id,
    }
    if all(getattr(article, name) == value for name, value in values.items()):
        return None
    for name, value in values.items():
        setattr(article, name, value)
    article.body_html = str(render_markdown(data.body_md))
    article.updated_at = utcnow()
    db.session.flush()
    return _revise(article, author)


def set_published(article: Article, author: User, published: bool) -> ArticleRevision | None:
    if article.published == published:
        return None
    article.published = published
    article.updated_at = utcnow()
    db.session.flush()
    return _revise(article, author)


def vote(article: Article, user: User, helpful: bool) -> ArticleVote:
    """One vote per person and article; voting again changes it. An upsert, so two
    clicks racing each other still leave one row."""
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    now = utcnow()
    statement = insert(ArticleVote).values(
        article_id=article.id, user_id=user.id, helpful=helpful, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["article_id", "user_id"],
        set_={"helpful": helpful, "updated_at": now},
    )
    db.session.execute(statement)
    db.session.flush()
    return db.session.scalar(
        select(ArticleVote).where(ArticleVote.article_id == article.id, ArticleVote.user_id == user.id)
        .execution_options(populate_existing=True)
    )


def vote_counts(article: Article) -> tuple[int, int]:
    rows = dict(
        db.session.execute(
            select(ArticleVote.helpful, func.count())
            .where(ArticleVote.article_id == article.id)
            .group_by(ArticleVote.helpful)
        ).all()
    )
    return rows.get(True, 0), rows.get(False, 0)


def vote_of(article: Article, user: User | None) -> bool | None:
    if user is None:
        return None
    return db.session.scalar(
        select(ArticleVote.helpful).where(
            ArticleVote.article_id == article.id, ArticleVote.user_id == user.id
        )
    )


def record_search(user: User | None, query: str, results: int) -> SearchQuery:
    """Keep a search for staff. A person typing ("deliv", "delivera", "deliverability")
    leaves one row with the last form of the query, not one per keystroke."""
    query = _text(query).strip()[:200]
    now = utcnow()
    if user is not None:
        last = db.session.scalar(
            select(SearchQuery)
            .where(SearchQuery.user_id == user.id, SearchQuery.created_at >= now - SEARCH_SESSION)
            .order_by(SearchQuery.id.desc())
            .limit(1)
        )
        if last is not None:
            before, after = last.query.lower(), query.lower()
            if after.startswith(before) or before.startswith(after):
                last.query, last.results, last.created_at = query, results, now
                db.session.flush()
                return last
    row = SearchQuery(user_id=user.id if user else None, query=query, results=results, created_at=now)
    db.session.add(row)
    db.session.flush()
    return row


def new_draft_key() -> str:
    return secrets.token_urlsafe(18)


def valid_draft_key(value: str | None) -> str | None:
    return value if value and DRAFT_KEY.fullmatch(value) else None


def record_shown(draft_key: str, user: User, articles: list[Article]) -> None:
    """Suggestions shown to one draft: once per article, however often the list
    is refreshed while the subject is typed."""
    if not articles:
        return
    already = set(
        db.session.scalars(
            select(SuggestionEvent.article_id).where(
                SuggestionEvent.draft_key == draft_key,
                SuggestionEvent.user_id == user.id,
                SuggestionEvent.action == "shown",
            )
        )
    )
    for article in articles:
        if article.id not in already:
            db.session.add(
                SuggestionEvent(draft_key=draft_key, user_id=user.id, article_id=article.id, action="shown")
            )
    db.session.flush()


def record_opened(draft_key: str, user: User, article: Article) -> bool:
    """Record that a suggestion shown to this person's draft was opened. False when
    it was never shown to them (a made-up link), so nothing is counted."""
    events = set(
        db.session.scalars(
            select(SuggestionEvent.action).where(
                SuggestionEvent.draft_key == draft_key,
                SuggestionEvent.user_id == user.id,
                SuggestionEvent.article_id == article.id,
            )
        )
    )
    if "shown" not in events:
        return False
    if "opened" not in events:
        db.session.add(
            SuggestionEvent(draft_key=draft_key, user_id=user.id, article_id=article.id, action="opened")
        )
        db.session.flush()
    return True


def attach_draft(draft_key: str | None, user: User, case) -> int:
    """The draft became a case: tie its suggestions to it. Returns how many."""
    key = valid_draft_key(draft_key)
    if key is None:
        return 0
    result = db.session.execute(
        update(SuggestionEvent)
        .where(
            SuggestionEvent.draft_key == key,
            SuggestionEvent.user_id == user.id,
            SuggestionEvent.case_id.is_(None),
        )
        .values(case_id=case.id)
    )
    db.session.flush()
    return result.rowcount or 0
