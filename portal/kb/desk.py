"""The desk's side of the knowledge base: writing and editing articles with a live
preview, publishing, the revision history, searches that found nothing, and how
the suggestions beside the new-case form do. Staff only; customers get 404."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from portal.accounts.models import User
from portal.desk.views import staff_required
from portal.errors import Conflict
from portal.extensions import db
from portal.forms import EmptyForm
from portal.htmx import render, wants_fragment
from portal.inputs import db_int
from portal.kb import queries, services
from portal.kb.forms import ArticleForm, PreviewForm
from portal.kb.models import Article, ArticleRevision
from portal.markdown import render_markdown

bp = Blueprint("kb_desk", __name__, url_prefix="/desk/kb")


def get_article_or_404(article_id: int) -> Article:
    article = db.session.get(Article, article_id)
    if article is None:
        abort(404)
    return article


def _input(form: ArticleForm) -> services.ArticleInput:
    return services.ArticleInput(
        title=form.title.data.strip(),
        summary=(form.summary.data or "").strip(),
        body_md=form.body_md.data,
        category_id=form.category_id.data,
        slug=form.slug.data or None,
    )


def _editor(form: ArticleForm, article: Article | None, status: int = 200, preview: bool = False):
    return render(
        "kb/desk_edit.html",
        status=status,
        form=form,
        article=article,
        preview=render_markdown(form.body_md.data or "") if preview or form.body_md.data else None,
        publish_form=EmptyForm(formdata=None),
    )


@bp.get("")
@staff_required
def articles():
    searched, missed = queries.search_totals()
    return render(
        "kb/desk_list.html",
        rows=queries.desk_articles(),
        searched=searched,
        missed=missed,
        publish_form=EmptyForm(formdata=None),
    )


@bp.route("/new", methods=["GET", "POST"])
@staff_required
def new():
    form = ArticleForm()
    if request.method == "POST" and request.form.get("action") == "preview":
        return _editor(form, None, preview=True)
    if form.validate_on_submit():
        article = services.create_article(current_user, _input(form))
        db.session.commit()
        return redirect(url_for("kb_desk.edit", article_id=article.id, saved=1), 303)
    return _editor(form, None, status=422 if form.errors else 200)


@bp.route("/<int:article_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(article_id: int):
    article = get_article_or_404(article_id)
    form = ArticleForm(obj=article if request.method == "GET" else None, article=article)
    if request.method == "GET":
        form.base_revision.data = str(services.latest_revision_id(article))
        source = request.args.get("from_revision", type=db_int)
        if source:
            revision = _revision_or_404(article, source)
            form.title.data, form.summary.data = revision.title, revision.summary
            form.body_md.data = revision.body_md
        return _editor(form, article)
    form.slug.data = article.slug  # the address does not change once published links exist
    if request.form.get("action") == "preview":
        return _editor(form, article, preview=True)
    if not form.validate_on_submit():
        return _editor(form, article, status=422)
    try:
        base = int(form.base_revision.data) if form.base_revision.data else None
        services.update_article(article, current_user, _input(form), base_revision=base)
    except (Conflict, ValueError) as error:
        db.session.rollback()
        form.form_errors.append(getattr(error, "reason", "The form was out of date; reload the page."))
        return _editor(form, article, status=409 if isinstance(error, Conflict) else 422)
    db.session.commit()
    return redirect(url_for("kb_desk.edit", article_id=article.id, saved=1), 303)


@bp.post("/preview")
@staff_required
def preview():
    """The live preview beside the editor: the text as it will be published."""
    form = PreviewForm()
    if not form.validate_on_submit():
        return render("kb/desk_edit.html", blocks="article_preview", status=422,
                      preview=None, preview_error="The text is too long to preview.")
    return render("kb/desk_edit.html", blocks="article_preview", preview=render_markdown(form.body_md.data or ""))


@bp.post("/<int:article_id>/<any(publish, unpublish):action>")
@staff_required
def publish(article_id: int, action: str):
    article = get_article_or_404(article_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.set_published(article, current_user, action == "publish")
    db.session.commit()
    back = request.form.get("back") == "list"
    target = url_for("kb_desk.articles") if back else url_for("kb_desk.edit", article_id=article.id)
    if wants_fragment():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


def _revision_or_404(article: Article, revision_id: int) -> ArticleRevision:
    revision = db.session.get(ArticleRevision, revision_id)
    if revision is None or revision.article_id != article.id:
        abort(404)
    return revision


@bp.get("/<int:article_id>/revisions")
@staff_required
def revisions(article_id: int):
    article = get_article_or_404(article_id)
    found = queries.revisions(article)
    return render(
        "kb/desk_revisions.html",
        article=article,
        revisions=found,
        authors=queries.names({r.author_id for r in found}),
    )


@bp.get("/<int:article_id>/revisions/<int:revision_id>")
@staff_required
def revision(article_id: int, revision_id: int):
    article = get_article_or_404(article_id)
    found = _revision_or_404(article, revision_id)
    return render(
        "kb/desk_revision.html",
        article=article,
        revision=found,
        author=db.session.get(User, found.author_id) if found.author_id else None,
        rendered=render_markdown(found.body_md),
        is_latest=found.id == services.latest_revision_id(article),
    )


@bp.get("/searches")
@staff_required
def searches():
    searched, missed = queries.search_totals()
    return render("kb/desk_searches.html", rows=queries.missed_searches(), searched=searched, missed=missed)


@bp.get("/suggestions")
@staff_required
def suggestions():
    return render(
        "kb/desk_suggestions.html",
        rows=queries.suggestion_stats(),
        abandoned_after=int(queries.ABANDONED_AFTER.total_seconds() // 60),
    )
