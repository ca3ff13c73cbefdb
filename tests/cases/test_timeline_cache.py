"""The cache of rendered timelines (``portal.cases.fragments``): a page served from it
reads exactly as a freshly rendered one, for whoever is looking, and never hides
anything newer."""

import re
from datetime import timedelta

import pytest

from portal import templating
from portal.cases import fragments, services
from portal.cases.fragments import RenderCache
from portal.cases.models import Kind
from portal.extensions import db
from portal.timeutil import utcnow
from tests.cases.test_query_counts import count_queries


@pytest.fixture
def acme_case(world, make):
    case = make.case(world.ana, Kind.BUG, subject="Soft bounces at Outlook")
    services.reply(case, world.agent, "Which sending IP do you see it on?")
    db.session.commit()
    return case


def timeline_of(html: str) -> str:
    return html.split('id="case-timeline"', 1)[1].split("</ol>", 1)[0]


def event_selects(statements) -> list[str]:
    return [s for s in statements if "case_event.body" in s]  # the timeline's own query


def test_second_view_is_served_from_the_cache_and_reads_the_same(world, make_client, acme_case):
    ana, url = make_client(world.ana), f"/cases/{acme_case.reference}"
    first = ana.get(url).text
    with count_queries() as statements:
        second = ana.get(url).text
    assert timeline_of(second) == timeline_of(first)
    assert "Which sending IP" in timeline_of(second)
    assert event_selects(statements) == []  # no events loaded: the rendered timeline was kept


def test_a_new_reply_shows_on_the_next_view(world, make_client, acme_case):
    ana, url = make_client(world.ana), f"/cases/{acme_case.reference}"
    ana.get(url)
    services.reply(acme_case, world.agent, "Found it: a stale MX record.")
    db.session.commit()
    page = ana.get(url).text
    assert "Found it: a stale MX record." in timeline_of(page)
    newest = re.search(r'data-after="(\d+)"', page).group(1)
    assert f"event-{newest}" in page


def test_each_viewer_gets_their_own_reading(world, make_client, acme_case):
    services.add_internal_note(acme_case, world.agent, "Customer's SPF is fine")
    db.session.commit()
    agent, ana = make_client(world.agent), make_client(world.ana)
    url = f"/cases/{acme_case.reference}"
    staff_page = agent.get(f"/desk/cases/{acme_case.reference}").text
    assert "Customer's SPF is fine" in timeline_of(staff_page)
    assert "<strong>You</strong>" in timeline_of(staff_page)  # the agent wrote the reply
    for _ in range(2):  # a miss, then a hit
        customer_page = ana.get(url).text
        assert "Customer's SPF is fine" not in customer_page
        assert world.agent.name in timeline_of(customer_page)


def test_an_internal_note_keeps_the_customers_cached_timeline(world, app, make_client, acme_case):
    ana, url = make_client(world.ana), f"/cases/{acme_case.reference}"
    ana.get(url)
    cache = app.extensions["timeline_cache"]
    misses = cache.misses
    services.add_internal_note(acme_case, world.agent, "escalating to the MTA team")
    db.session.commit()
    page = ana.get(url).text
    assert cache.misses == misses  # same key: nothing the customer can see changed
    assert "escalating" not in page


def test_times_move_on_with_the_minute(world, make_client, acme_case, monkeypatch):
    ana, url = make_client(world.ana), f"/cases/{acme_case.reference}"
    assert "just now" in timeline_of(ana.get(url).text)
    later = utcnow() + timedelta(minutes=7)
    monkeypatch.setattr(fragments, "utcnow", lambda: later)
    monkeypatch.setattr(templating, "utcnow", lambda: later)
    moved = timeline_of(ana.get(url).text)
    assert "7 min ago" in moved and "just now" not in moved


def test_an_event_written_while_rendering_waits_for_the_poll(world, make_client, acme_case, monkeypatch):
    """The timeline is keyed on the newest event seen first; a later one is left to
    the poll, so it never shows twice."""
    ana, url = make_client(world.ana), f"/cases/{acme_case.reference}"
    seen = fragments.newest_visible_event
    services.reply(acme_case, world.agent, "Written a moment later")
    db.session.commit()
    monkeypatch.setattr(
        "portal.cases.views.newest_visible_event", lambda case, viewer: seen(case, viewer) - 1
    )
    page = ana.get(url).text
    assert "Written a moment later" not in page
    after = int(re.search(r'data-after="(\d+)"', page).group(1))
    news = ana.htmx("get", f"/cases/{acme_case.reference}/timeline?after={after}")
    assert news.status_code == 200 and "Written a moment later" in news.text


def test_the_cache_is_bounded_least_recently_used_first():
    cache = RenderCache(size=2)
    renders = []

    def render(name):
        return lambda: renders.append(name) or f"<li>{name}</li>"

    cache.get_or_render(("a",), render("a"))
    cache.get_or_render(("b",), render("b"))
    cache.get_or_render(("a",), render("a"))  # a is now the most recent
    cache.get_or_render(("c",), render("c"))  # b goes
    cache.get_or_render(("a",), render("a"))
    cache.get_or_render(("b",), render("b"))
    assert renders == ["a", "b", "c", "b"]
    assert (cache.hits, cache.misses) == (2, 4)


def test_size_zero_turns_it_off():
    cache = RenderCache(size=0)
    renders = []
    for _ in range(3):
        cache.get_or_render(("a",), lambda: renders.append(1) or "<li></li>")
    assert len(renders) == 3
