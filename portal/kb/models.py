from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import utcnow


class Category(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    articles: Mapped[list[Article]] = relationship(back_populates="category")


class Article(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body_md: Mapped[str] = mapped_column(Text)
    # Rendered and sanitised when saved, so reading never runs the renderer.
    body_html: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    locale: Mapped[str] = mapped_column(String(16), default="en")
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    category: Mapped[Category] = relationship(back_populates="articles")


class ArticleRevision(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(300), default="")
    body_md: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ArticleVote(db.Model):
    """One vote per person and article; changing it updates the row."""

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    helpful: Mapped[bool]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("article_id", "user_id", name="uq_article_vote_person"),)


class SearchQuery(db.Model):
    """Searches, kept so staff can see what people looked for and did not find."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    query: Mapped[str] = mapped_column(String(200))
    results: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SuggestionEvent(db.Model):
    """An article suggested while a case was being written, and whether it was opened.
    ``draft_key`` ties the suggestions of one form together; ``case_id`` is set when
    that form is submitted, so a draft without a case is a case the article avoided."""

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_key: Mapped[str] = mapped_column(String(40), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    article_id: Mapped[int] = mapped_column(ForeignKey("article.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))  # shown | opened
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
