"""Staff write and edit articles in the desk: access, saving with revisions, the
live preview, publishing, bad input and edits that cross."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.kb.models import Article, ArticleRevision
from tests.kb.conftest import make_article

DESK_PAGES = ["/desk/kb", "/desk/kb/new", "/desk/kb/searches", "/desk/kb/suggestions"]


def form(category, **overrides):
    data = {
        "title": "Gmail rate limits explained",
        "slug": "",
        "category_id": str(category.id),
        "summary": "What 421 4.7.28 means.",
        "body_md": "## Why\n\nGmail answers **421 4.7.28** when an IP sends too fast.",
    }
    data.update(overrides)
    return data


@pytest.fixture
def article(category, world):
    a = make_article(category, "existing", "Existing guide", "Old **text**.", published=False)
    db.session.commit()
    return a


def test_customers_and_strangers_never_see_the_desk(world, article, make_client):
    urls = DESK_PAGES + [f"/desk/kb/{article.id}/edit", f"/desk/kb/{article.id}/revisions"]
    anonymous = make_client()
    for url in urls:
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url
    ana = make_client(world.ana)
    for url in urls:
        assert ana.get(url).status_code == 404, url
    for url in ["/desk/kb/new", f"/desk/kb/{article.id}/edit", f"/desk/kb/{article.id}/publish",
                "/desk/kb/preview"]:
        assert ana.post(url, data={"title": "x", "body_md": "x"}).status_code == 404, url
    assert db.session.get(Article, article.id).title == "Existing guide"
    assert not db.session.get(Article, article.id).published


@pytest.mark.parametrize("role", ["agent", "tam", "admin"])
def test_every_staff_role_has_the_desk_and_a_nav_link(world, article, make_client, role):
    staff = make_client(getattr(world, role))
    for url in DESK_PAGES:
        assert staff.get(url).status_code == 200, url
    assert 'href="/desk/kb">Articles</a>' in staff.get("/desk").text


def test_creating_an_article_saves_a_draft_with_its_first_revision(world, category, make_client):
    agent = make_client(world.agent)
    response = agent.post("/desk/kb/new", data=form(category))
    assert response.status_code == 303
    article = db.session.scalar(select(Article).where(Article.title == "Gmail rate limits explained"))
    assert response.headers["Location"].endswith(f"/desk/kb/{article.id}/edit?saved=1")
    assert article.slug == "gmail-rate-limits-explained" and not article.published
    assert "<strong>421 4.7.28</strong>" in article.body_html and "<h2>" in article.body_html
    [revision] = db.session.scalars(select(ArticleRevision)).all()
    assert (revision.author_id, revision.title, revision.published) == (world.agent.id, article.title, False)
    assert agent.get(f"/kb/{article.slug}").status_code == 404  # a draft


def test_bad_input_is_422_with_the_text_kept(world, category, make_client):
    agent = make_client(world.agent)
    body = "Everything I typed <b>stays</b>, even this."
    for overrides, message in [
        ({"title": ""}, "Give the article a title."),
        ({"body_md": ""}, "Write the article&#39;s text."),
        ({"category_id": "0"}, "Choose a category."),
        ({"category_id": "9999"}, "Not a valid choice"),
        ({"slug": "Not A Slug!"}, "Use lower-case letters"),
        ({"slug": "suggest"}, "taken by the portal"),
        ({"summary": "x" * 301}, "under 300 characters"),
    ]:
        data = form(category, **{"body_md": body, **overrides})
        response = agent.post("/desk/kb/new", data=data)
        assert response.status_code == 422, overrides
        assert message in response.text, overrides
        if overrides.get("body_md", body):
            assert "Everything I typed &lt;b&gt;stays&lt;/b&gt;, even this." in response.text
        if overrides.get("title", "x"):
            assert 'value="Gmail rate limits explained"' in response.text
    assert db.session.scalar(select(func.count(Article.id))) == 0


def test_a_taken_address_is_refused_and_a_missing_one_made_unique(world, category, article, make_client):
    agent = make_client(world.agent)
    assert agent.post("/desk/kb/new", data=form(category, slug="existing")).status_code == 422
    assert agent.post("/desk/kb/new", data=form(category, title="Existing")).status_code == 303
    assert db.session.scalar(select(Article.slug).where(Article.title == "Existing")) == "existing-2"


def test_each_save_is_a_revision_with_who_and_when_and_a_revision_can_be_shown(world, category, article, make_client):
    agent, tam = make_client(world.agent), make_client(world.tam)
    page = agent.get(f"/desk/kb/{article.id}/edit").text
    base = re.search(r'name="base_revision" type="hidden" value="(\d*)"', page).group(1)
    assert agent.post(f"/desk/kb/{article.id}/edit",
                      data=form(category, title="First edit", base_revision=base)).status_code == 303
    base = re.search(r'name="base_revision" type="hidden" value="(\d*)"',
                     tam.get(f"/desk/kb/{article.id}/edit").text).group(1)
    assert tam.post(f"/desk/kb/{article.id}/edit",
                    data=form(category, title="Second edit", body_md="New *text*", base_revision=base)).status_code == 303
    db.session.expire_all()
    assert db.session.get(Article, article.id).body_html == "<p>New <em>text</em></p>\n"
    revisions = db.session.scalars(select(ArticleRevision).order_by(ArticleRevision.id)).all()
    assert [(r.title, r.author_id) for r in revisions] == [("First edit", world.agent.id), ("Second edit", world.tam.id)]
    history = agent.get(f"/desk/kb/{article.id}/revisions").text
    assert "First edit" in history and "Second edit" in history
    assert "Saved by Aidan Agent" in history and "Saved by Tess TAM" in history
    shown = agent.get(f"/desk/kb/{article.id}/revisions/{revisions[0].id}").text
    assert "First edit" in shown and "Copy into the editor" in shown
    assert "## Why" in shown and "<h2>Why</h2>" in shown  # source and rendering
    copied = agent.get(f"/desk/kb/{article.id}/edit?from_revision={revisions[0].id}").text
    assert 'value="First edit"' in copied
    other = make_article(category, "other", "Other", "x")
    db.session.commit()
    assert agent.get(f"/desk/kb/{other.id}/revisions/{revisions[0].id}").status_code == 404


def test_saving_without_a_change_writes_no_revision(world, category, article, make_client):
    agent = make_client(world.agent)
    data = form(category, title=article.title, summary="", body_md=article.body_md)
    assert agent.post(f"/desk/kb/{article.id}/edit", data=data).status_code == 303
    assert db.session.scalar(select(func.count(ArticleRevision.id))) == 0


def test_an_edit_that_crosses_another_is_refused_and_keeps_the_text(world, category, article, make_client):
    agent, tam = make_client(world.agent), make_client(world.tam)
    assert tam.post(f"/desk/kb/{article.id}/edit",
                    data=form(category, title="TAM was first", base_revision="0")).status_code == 303
    late = agent.post(f"/desk/kb/{article.id}/edit",
                      data=form(category, title="Agent was late", body_md="My careful words", base_revision="0"))
    assert late.status_code == 409
    assert "Someone else saved this article" in late.text and "My careful words" in late.text
    db.session.expire_all()
    assert db.session.get(Article, article.id).title == "TAM was first"


def test_live_preview_renders_sanitised_markdown(world, make_client):
    agent = make_client(world.agent)
    response = agent.htmx("post", "/desk/kb/preview", data={"body_md": "**bold** <script>alert(1)</script>"})
    assert response.status_code == 200 and "<html" not in response.text
    assert "<strong>bold</strong>" in response.text
    assert "<script>" not in response.text and "&lt;script&gt;" in response.text
    assert agent.post("/desk/kb/preview", data={"body_md": "x"}, csrf=False).status_code == 400
    editor = agent.get("/desk/kb/new").text
    assert 'hx-post="/desk/kb/preview"' in editor and 'hx-trigger="input changed delay:400ms from:#body_md"' in editor


def test_preview_without_javascript_keeps_the_form(world, category, make_client):
    agent = make_client(world.agent)
    page = agent.post("/desk/kb/new", data=form(category, body_md="Hello **there**", action="preview"))
    assert page.status_code == 200 and "Hello <strong>there</strong>" in page.text
    assert "Hello **there**" in page.text
    assert db.session.scalar(select(func.count(Article.id))) == 0


def test_publishing_and_unpublishing_are_revisions_and_show_to_customers(world, article, make_client):
    agent, ana = make_client(world.agent), make_client(world.ana)
    assert ana.get("/kb/existing").status_code == 404
    assert agent.post(f"/desk/kb/{article.id}/publish").status_code == 303
    assert ana.get("/kb/existing").status_code == 200
    assert "Existing guide" in ana.get("/kb").text
    assert agent.post(f"/desk/kb/{article.id}/unpublish", data={"back": "list"}).headers["Location"].endswith("/desk/kb")
    assert ana.get("/kb/existing").status_code == 404
    assert [r.published for r in db.session.scalars(select(ArticleRevision).order_by(ArticleRevision.id))] == [True, False]
    assert agent.post(f"/desk/kb/{article.id}/publish", csrf=False).status_code == 400
    assert agent.get(f"/desk/kb/{article.id}/publish").status_code == 405
    assert agent.post("/desk/kb/9999/publish").status_code == 404


def test_desk_list_shows_drafts_votes_and_status(world, category, article, make_client):
    make_article(category, "live", "Live guide", "x", published=True)
    db.session.commit()
    page = make_client(world.agent).get("/desk/kb").text
    assert "Existing guide" in page and "Live guide" in page
    assert "Draft" in page and "Published" in page
    assert page.index("Existing guide") < page.index("Live guide")  # drafts first
