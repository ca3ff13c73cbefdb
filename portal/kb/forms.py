from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from portal.extensions import db
from portal.forms import PortalForm, choices
from portal.kb.models import Article, Category
from portal.kb.services import RESERVED_SLUGS, SLUG

MAX_ARTICLE = 100_000


class ArticleForm(PortalForm):
    title = StringField(
        "Title",
        validators=[DataRequired("Give the article a title."), Length(max=200)],
    )
    slug = StringField(
        "Address",
        validators=[
            Optional(),
            Length(max=120),
            Regexp(SLUG, message="Use lower-case letters, digits and single hyphens, e.g. gmail-rate-limits."),
        ],
        description="The last part of the article's link, /kb/<address>. Leave empty to make it from the title.",
    )
    category_id = SelectField(
        "Category", coerce=int, validators=[DataRequired("Choose a category.")]
    )
    summary = StringField(
        "Summary",
        validators=[Length(max=300, message="Keep the summary under 300 characters.")],
        description="One sentence shown under the title in lists and search results.",
    )
    body_md = TextAreaField(
        "Text (Markdown)",
        validators=[
            DataRequired("Write the article's text."),
            Length(max=MAX_ARTICLE, message=f"The text is limited to {MAX_ARTICLE:,} characters."),
        ],
        description="Markdown: ## headings, **bold**, `code`, lists, tables and links. Raw HTML is shown as text.",
    )
    base_revision = HiddenField()

    def __init__(self, *args, article: Article | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.article = article
        self.category_id.choices = choices(
            [(0, "Choose a category")]
            + [
                (c.id, c.name)
                for c in db.session.scalars(select(Category).order_by(Category.position, Category.name))
            ]
        )

    def validate_slug(self, field) -> None:
        if not field.data or self.article is not None:
            return
        if field.data in RESERVED_SLUGS:
            raise ValidationError("This address is taken by the portal itself; choose another.")
        if db.session.scalar(select(Article.id).where(Article.slug == field.data)):
            raise ValidationError("Another article already uses this address.")

    def validate_category_id(self, field) -> None:
        if field.data and db.session.get(Category, field.data) is None:
            raise ValidationError("Choose a category from the list.")


class PreviewForm(PortalForm):
    body_md = TextAreaField(validators=[Length(max=MAX_ARTICLE)])


class VoteForm(PortalForm):
    helpful = SelectField(choices=choices([("yes", "Yes"), ("no", "No")]), validators=[DataRequired()])
