"""The knowledge base in headless Chromium: hostile Markdown stays inert where a
browser would run it, search answers as a person types, guides appear beside a
new case's subject, votes swap in place, the editor previews live. Then the
pages, photographed at 1280 and 375 px into test-artifacts/screenshots/."""

from __future__ import annotations

import os
import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from sqlalchemy import select

from portal.cases import services
from portal.extensions import db
from portal.kb.models import ArticleVote, SearchQuery, SuggestionEvent
from portal.markdown import render_markdown
from tests.browser.test_live_case import sign_in
from tests.kb.conftest import load_shipped, make_article, make_category
from tests.kb.hostile import PAYLOADS

pytestmark = pytest.mark.browser


@pytest.fixture
def shipped(app):
    """The guides of content/kb (tests/kb/conftest.py), for this directory's tests."""
    return load_shipped()


@pytest.fixture
def category(app):
    return make_category()

# Run after each payload: anything that executed has left a trace.
TRACES = """() => ({
  pwned: window.__pwned === 1 || (window.parent && window.parent.__pwned === 1),
  handlers: [...document.querySelectorAll('*')].flatMap(el =>
      [...el.attributes].filter(a => a.name.startsWith('on')).map(a => el.tagName + ' ' + a.name)),
  links: [...document.querySelectorAll('a[href]')].map(a => a.protocol)
      .filter(p => !['http:', 'https:', 'mailto:', 'about:'].includes(p)),
  frames: document.querySelectorAll('iframe, object, embed, frame').length,
  scripts: document.querySelectorAll('script').length,
})"""


def watch_dialogs(page) -> list[str]:
    dialogs: list[str] = []

    def on_dialog(dialog):
        dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


def test_hostile_markdown_is_inert_in_a_page_without_any_other_defence(new_page):
    """The sanitised HTML on its own, in a page with no Content-Security-Policy:
    only the sanitiser stands between a payload and the browser."""
    page = new_page("sanitiser")
    dialogs = watch_dialogs(page)
    for payload in [*PAYLOADS, "\n\n".join(PAYLOADS)]:
        rendered = str(render_markdown(payload))
        page.set_content(f"<!doctype html><html><body><article>{rendered}</article></body></html>")
        page.wait_for_timeout(30)  # an onerror or onload would have fired by now
        for link in page.locator("a[href]").all()[:5]:
            link.hover()
        traces = page.evaluate(TRACES)
        assert traces == {"pwned": False, "handlers": [], "links": [], "frames": 0, "scripts": 0}, payload
    assert dialogs == []


def test_hostile_article_and_reply_are_inert_on_the_portal(world, category, make, new_page, problems):
    body = "\n\n".join(PAYLOADS)
    make_article(category, "hostile", "Hostile payloads", body)
    case = make.case(world.ana, subject="Hostile reply")
    services.reply(case, world.ana, body)
    db.session.commit()
    page = new_page("customer")
    dialogs = watch_dialogs(page)
    sign_in(page, world.ana)
    for url in ["/kb/hostile", f"/cases/{case.reference}"]:
        page.goto(url)
        expect(page.get_by_text("alert(1)").first).to_be_visible()  # shown as text
        page.wait_for_timeout(200)
        traces = page.evaluate(TRACES)
        assert not traces["pwned"] and traces["handlers"] == [] and traces["links"] == [], url
        assert traces["frames"] == 0, url
    assert dialogs == []
    # A payload that survived would have run into the Content-Security-Policy and
    # been reported; none did.
    assert problems.items == []


def test_search_answers_as_a_person_types(shipped, world, new_page, problems, screenshot):
    page = new_page("customer")
    sign_in(page, world.ana)
    page.goto("/kb")
    page.evaluate("window.__marker = 1")
    page.get_by_label("Search the guides").press_sequentially("spamh", delay=40)
    results = page.locator("#kb-results")
    expect(results.locator("mark").first).to_have_text(re.compile("Spamh", re.I))
    expect(results.get_by_role("link", name=re.compile("Spamhaus listings explained"))).to_be_visible()
    assert page.evaluate("window.__marker") == 1, "the page reloaded"
    expect(page).to_have_url(re.compile(r"/kb\?q=spamh$"))  # back and reload keep the search
    screenshot(page, "kb-search-results")

    page.get_by_label("Search the guides").fill("quokka zebra festival")
    expect(results).to_contain_text("No guide matches “quokka zebra festival”")
    screenshot(page, "kb-search-none")

    # The home page's search box shows a short preview under it.
    page.goto("/")
    page.get_by_label("Search guides or describe your problem").press_sequentially("one-click unsub", delay=30)
    expect(page.locator("#home-results").get_by_role("link", name=re.compile("One-click unsubscribe"))).to_be_visible()
    screenshot(page, "home-search-preview")
    # Enter still goes to the full results page.
    page.get_by_label("Search guides or describe your problem").press("Enter")
    expect(page).to_have_url(re.compile(r"/kb\?q=one-click"))
    expect(page.locator("#results-h")).to_contain_text("for “one-click unsub”")
    db.session.commit()  # end the test's read snapshot, taken when it looked up ana
    assert db.session.scalar(select(SearchQuery.query).where(SearchQuery.results == 0)) == "quokka zebra festival"
    assert problems.items == []


def test_guides_appear_beside_a_new_case_and_opening_one_is_counted(shipped, world, new_page, problems, screenshot):
    page = new_page("customer")
    sign_in(page, world.ana)
    page.goto("/cases/new?kind=bug")
    page.get_by_label("Subject").press_sequentially("Gmail defers with 421 4.7.28", delay=30)
    aside = page.locator("#case-suggestions")
    link = aside.get_by_role("link", name=re.compile("Reading bounce and deferral codes"))
    expect(link).to_be_visible()
    screenshot(page, "new-case-suggestions")
    with page.context.expect_page() as opened:
        link.click()
    guide = opened.value
    guide.wait_for_load_state()
    assert guide.url.endswith("/kb/reading-bounce-and-deferral-codes")
    guide.close()
    # The form is untouched; sending it ties the suggestions to the case.
    expect(page.get_by_label("Subject")).to_have_value("Gmail defers with 421 4.7.28")
    page.get_by_label("Description", exact=True).fill("About a third of our newsletter is deferred.")
    page.get_by_role("button", name="Open the case").click()
    expect(page).to_have_url(re.compile(r"/cases/CS-\d+$"))
    db.session.commit()
    actions = db.session.execute(select(SuggestionEvent.action, SuggestionEvent.case_id)).all()
    assert ("opened", actions[0][1]) in actions and all(case_id for _, case_id in actions)
    assert problems.items == []


def test_a_vote_swaps_in_place_and_can_change(shipped, world, new_page, problems, screenshot):
    page = new_page("customer")
    sign_in(page, world.ana)
    page.goto("/kb/ip-warm-up-schedule")
    page.evaluate("window.__marker = 1")
    yes = page.get_by_role("button", name="Yes, it helped")
    yes.click()
    expect(yes).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="No").click()
    expect(page.get_by_role("button", name="No")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#article-vote")).to_contain_text("ask us in a case")
    assert page.evaluate("window.__marker") == 1
    db.session.commit()
    assert db.session.execute(select(ArticleVote.helpful)).scalars().all() == [False]
    screenshot(page, "kb-article")
    assert problems.items == []


def test_the_editor_previews_as_staff_type(world, category, new_page, problems, screenshot):
    page = new_page("agent")
    sign_in(page, world.agent)
    page.goto("/desk/kb/new")
    page.get_by_label("Title").fill("Reading SNDS colours")
    page.get_by_label("Category").select_option(label=category.name)
    page.get_by_label("Text (Markdown)").fill("## Colours\n\n**Green** is under 10% <script>alert(1)</script>")
    preview = page.locator("#article-preview")
    expect(preview.locator("h2")).to_have_text("Colours")
    expect(preview.locator("strong")).to_have_text("Green")
    expect(preview).to_contain_text("<script>alert(1)</script>")  # as text
    screenshot(page, "desk-kb-editor")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    assert problems.items == []


def test_knowledge_base_pages_at_both_widths(shipped, world, new_page, screenshot):
    page = new_page("visitor")
    page.goto("/kb")
    expect(page.get_by_role("heading", name="IP warm-up and migration")).to_be_visible()
    screenshot(page, "kb-index")
    page.goto("/kb/availability-and-downtime-budget")
    screenshot(page, "kb-article-availability")
    staff = new_page("agent")
    sign_in(staff, world.agent)
    staff.goto("/desk/kb")
    screenshot(staff, "desk-kb-articles")
