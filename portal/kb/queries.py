"""Read-only queries behind the desk's knowledge-base pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from portal.accounts.models import User
from portal.extensions import db
from portal.kb.models import (
    Article,
    ArticleRevision,
    ArticleVote,
    Category,
    SearchQuery,
    SuggestionEvent,
)
from portal.timeutil import utcnow

# A draft with no case this long after its last suggestion counts as not submitted.
ABANDONED_AFTER = timedelta(hours=1)


def categories() -> list[Category]:
    return list(db.session.scalars(select(Category).order_by(Category.position, Category.name)))


def desk_articles() -> list[tuple[Article, int, int]]:
    """Every article with its helpful and not-helpful votes, drafts first."""
    helpful = func.coalesce(func.sum(case((ArticleVote.helpful.is_(True), 1), else_=0)), 0)
    unhelpful = func.coalesce(func.sum(case((ArticleVote.helpful.is_(False), 1), else_=0)), 0)
    rows = db.session.execute(
        select(Article, helpful, unhelpful)
        .outerjoin(ArticleVote, ArticleVote.article_id == Article.id)
        .group_by(Article.id)
        .options(joinedload(Article.category))
        .order_by(Article.published, Article.updated_at.desc())
    ).all()
    return [(a, int(h), int(u)) for a, h, u in rows]


def revisions(article: Article) -> list[ArticleRevision]:
    return list(
        db.session.scalars(
            select(ArticleRevision)
            .where(ArticleRevision.article_id == article.id)
            .order_by(ArticleRevision.id.desc())
        )
    )


def names(user_ids: set[int | None]) -> dict[int, str]:
    ids = [i for i in user_ids if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.name).where(User.id.in_(ids))).all())


@dataclass
class MissedSearch:
    query: str
    times: int
    last: datetime


def missed_searches(limit: int = 100) -> list[MissedSearch]:
    """Searches that found nothing, the same words grouped, most frequent first."""
    key = func.lower(SearchQuery.query)
    rows = db.session.execute(
        select(func.min(SearchQuery.query), func.count(), func.max(SearchQuery.created_at))
        .where(SearchQuery.results == 0)
        .group_by(key)
        .order_by(func.count().desc(), func.max(SearchQuery.created_at).desc())
        .limit(limit)
    ).all()
    return [MissedSearch(q, n, last) for q, n, last in rows]


def search_totals() -> tuple[int, int]:
    total, missed = db.session.execute(
        select(func.count(), func.coalesce(func.sum(case((SearchQuery.results == 0, 1), else_=0)), 0))
    ).one()
    return int(total), int(missed)


@dataclass
class SuggestionStats:
    article: Article
    suggested: int  # drafts it was shown to
    opened: int  # drafts in which it was opened
    opened_no_case: int  # ...and that then did not become a case
    submitted: int  # drafts it was shown to that became a case

    @property
    def open_rate(self) -> float:
        return self.opened / self.suggested if self.suggested else 0.0

    @property
    def deflection_rate(self) -> float:
        return self.opened_no_case / self.opened if self.opened else 0.0


def suggestion_stats(now: datetime | None = None) -> list[SuggestionStats]:
    """Per article: how many drafts of a case it was suggested to, opened in, and
    opened in without the case being submitted afterwards (the case it avoided)."""
    cutoff = (now or utcnow()) - ABANDONED_AFTER
    drafts = (
        select(
            SuggestionEvent.draft_key.label("draft_key"),
            func.max(SuggestionEvent.case_id).label("case_id"),
            func.max(SuggestionEvent.created_at).label("last_at"),
        )
        .group_by(SuggestionEvent.draft_key)
        .subquery()
    )
    per_article = (
        select(
            SuggestionEvent.article_id.label("article_id"),
            SuggestionEvent.draft_key.label("draft_key"),
            func.max(case((SuggestionEvent.action == "opened", 1), else_=0)).label("opened"),
        )
        .group_by(SuggestionEvent.article_id, SuggestionEvent.draft_key)
        .subquery()
    )
    abandoned = (drafts.c.case_id.is_(None)) & (drafts.c.last_at < cutoff)
    rows = db.session.execute(
        select(
            per_article.c.article_id,
            func.count(),
            func.sum(per_article.c.opened),
            func.sum(case(((per_article.c.opened == 1) & abandoned, 1), else_=0)),
            func.sum(case((drafts.c.case_id.is_not(None), 1), else_=0)),
        )
        .join(drafts, drafts.c.draft_key == per_article.c.draft_key)
        .group_by(per_article.c.article_id)
    ).all()
    articles = {
        a.id: a
        for a in db.session.scalars(
            select(Article).where(Article.id.in_([r[0] for r in rows]))
        )
    }
    stats = [
        SuggestionStats(articles[a], int(s), int(o or 0), int(n or 0), int(c or 0))
        for a, s, o, n, c in rows
        if a in articles
    ]
    return sorted(stats, key=lambda s: (-s.suggested, -s.opened, s.article.title))
