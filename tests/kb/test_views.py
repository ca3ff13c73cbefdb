from portal.extensions import db
from portal.kb.models import Article, Category
from portal.markdown import render_markdown


def article(category, slug, title, body, published=True):
    a = Article(slug=slug, title=title, body_md=body, body_html=str(render_markdown(body)),
                category=category, published=published)
    db.session.add(a)
    return a


def test_kb_lists_published_articles_by_category_and_renders_them(client, app):
    warmup = Category(slug="warm-up", name="IP warm-up and migration")
    article(warmup, "warm-up-schedule", "The warm-up schedule", "Day 1: **200** messages per IP.")
    article(warmup, "draft-one", "Unfinished draft", "tbd", published=False)
    db.session.commit()
    page = client.get("/kb").text
    assert "IP warm-up and migration" in page and "The warm-up schedule" in page
    assert "Unfinished draft" not in page
    body = client.get("/kb/warm-up-schedule").text
    assert "<strong>200</strong>" in body
    assert client.get("/kb/draft-one").status_code == 404
    assert client.get("/kb/nope").status_code == 404


def test_kb_search_finds_words_and_says_so_when_nothing_matches(client, world):
    auth = Category(slug="auth", name="Authentication")
    article(auth, "dmarc", "DMARC alignment", "Publish p=none first, aligned with SPF or DKIM.")
    article(auth, "spf", "SPF records", "Keep under ten DNS lookups.")
    db.session.commit()
    page = client.get("/kb?q=aligned dkim").text
    assert 'href="/kb/dmarc"' in page and 'href="/kb/spf"' not in page
    client.login(world.ana)
    empty = client.get("/kb?q=zebra").text
    assert "No guide matches" in empty and "ask us in a case" in empty
    assert client.get("/kb?q=%25").status_code == 200


def test_article_markdown_is_inert(client):
    c = Category(slug="x", name="X")
    article(c, "hostile", "Hostile", '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>')
    db.session.commit()
    body = client.get("/kb/hostile").text
    article_html = body.split('<article', 1)[1]
    assert "<script>alert" not in article_html
    assert 'href="javascript' not in article_html
    assert "<img" not in article_html
    assert "&lt;script&gt;" in article_html  # shown as text, not run


def test_table_alignment_survives_as_a_class_not_a_style():
    html = str(render_markdown("| Day | Volume |\n|---|---:|\n| 1 | 200 |"))
    assert '<td class="align-right">200</td>' in html
    assert "style=" not in html
    assert "<td" not in str(render_markdown('<td class="align-right" onclick="x">'))
