"""Answers before a case: guides beside the new-case subject, what was shown and
opened, the case they became, and what staff see of it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from portal.cases.models import Case
from portal.extensions import db
from portal.kb.models import SuggestionEvent
from portal.kb.queries import suggestion_stats
from portal.timeutil import utcnow

KEY = "k" * 24


def events():
    return sorted(
        (e.draft_key, e.article_id, e.action, e.case_id) for e in db.session.scalars(select(SuggestionEvent))
    )


def draft_key_of(page: str) -> str:
    return re.search(r'name="draft_key" value="([^"]+)"', page).group(1)


def test_the_new_case_form_asks_for_suggestions_as_the_subject_is_typed(world, make_client):
    page = make_client(world.ana).get("/cases/new?kind=bug").text
    assert 'hx-get="/kb/suggest"' in page
    assert 'hx-trigger="input changed delay:300ms from:#subject"' in page
    assert 'hx-include="#subject, #draft_key"' in page and 'id="case-suggestions"' in page
    assert len(draft_key_of(page)) >= 16
    # Critical cases go straight to the hotline: no reading first.
    assert 'id="case-suggestions"' not in make_client(world.ana).get("/cases/new?kind=critical").text


def test_suggestions_are_shown_once_per_draft_and_article(shipped, world, make_client):
    ana = make_client(world.ana)
    response = ana.htmx("get", "/kb/suggest", query_string={"subject": "Gmail 421 4.7.28 deferrals", "draft_key": KEY})
    assert response.status_code == 200 and "<html" not in response.text
    assert "Guides that may answer this" in response.text
    assert f"/kb/suggested/{KEY}/{shipped['reading-bounce-and-deferral-codes'].id}" in response.text
    assert 'target="_blank" rel="noopener"' in response.text
    shown = events()
    assert shown and all(action == "shown" and case is None for _, _, action, case in shown)
    ana.htmx("get", "/kb/suggest", query_string={"subject": "Gmail 421 4.7.28 deferral", "draft_key": KEY})
    assert events() == shown  # typing on does not count them again


def test_short_or_unmatched_subjects_suggest_nothing_and_record_nothing(shipped, world, make_client):
    ana = make_client(world.ana)
    short = ana.htmx("get", "/kb/suggest", query_string={"subject": "gm", "draft_key": KEY})
    assert "appear here as you type" in short.text
    none = ana.htmx("get", "/kb/suggest", query_string={"subject": "zebra crossing", "draft_key": KEY})
    assert "No guide matches this subject" in none.text
    bad_key = ana.htmx("get", "/kb/suggest", query_string={"subject": "gmail", "draft_key": "<x>"})
    assert "Guides that may answer this" in bad_key.text and "/kb/suggested/" not in bad_key.text
    assert events() == []


def test_staff_and_strangers_get_no_suggestions(shipped, world, make_client):
    assert make_client().get("/kb/suggest?subject=gmail").status_code == 302
    agent = make_client(world.agent).htmx("get", "/kb/suggest", query_string={"subject": "gmail", "draft_key": KEY})
    assert "Guides that may answer this" not in agent.text
    assert events() == []


def test_opening_a_suggestion_is_recorded_then_the_guide_opens(shipped, world, make_client):
    ana = make_client(world.ana)
    guide = shipped["reading-bounce-and-deferral-codes"]
    ana.htmx("get", "/kb/suggest", query_string={"subject": "Gmail 421 4.7.28", "draft_key": KEY})
    response = ana.get(f"/kb/suggested/{KEY}/{guide.id}")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/kb/{guide.slug}")
    ana.get(f"/kb/suggested/{KEY}/{guide.id}")
    opened = [e for e in events() if e[2] == "opened"]
    assert opened == [(KEY, guide.id, "opened", None)]


def test_a_made_up_suggestion_link_counts_nothing(shipped, world, make_client):
    ana, bo = make_client(world.ana), make_client(world.bo)
    guide = shipped["one-click-unsubscribe"]
    ana.htmx("get", "/kb/suggest", query_string={"subject": "one-click unsubscribe", "draft_key": KEY})
    # Never shown to this draft, or shown to someone else: opens, counts nothing.
    other = shipped["spamhaus-listings"]
    assert ana.get(f"/kb/suggested/{KEY}/{other.id}").status_code == 303
    assert bo.get(f"/kb/suggested/{KEY}/{guide.id}").status_code == 303
    assert not [e for e in events() if e[2] == "opened"]
    assert ana.get(f"/kb/suggested/{KEY}/999999").status_code == 404


def test_submitting_the_case_ties_its_suggestions_to_it(shipped, world, make_client):
    ana = make_client(world.ana)
    key = draft_key_of(ana.get("/cases/new?kind=information").text)
    ana.htmx("get", "/kb/suggest", query_string={"subject": "Spamhaus listing", "draft_key": key})
    guide = shipped["spamhaus-listings"]
    ana.get(f"/kb/suggested/{key}/{guide.id}")
    response = ana.post("/cases/new?kind=information", data={
        "kind": "information", "subject": "Spamhaus listing", "description": "Listed since Monday.",
        "topic": "deliverability", "draft_key": key,
    })
    assert response.status_code == 303
    case = db.session.scalar(select(Case))
    assert {e[3] for e in events()} == {case.id}
    # A 422 keeps the same draft key, so the suggestions stay tied to it.
    page = ana.post("/cases/new?kind=information", data={"kind": "information", "subject": "", "draft_key": KEY})
    assert page.status_code == 422 and draft_key_of(page.text) == KEY


def test_staff_see_per_guide_how_often_suggested_opened_and_then_no_case(shipped, world, make, make_client):
    a, b = shipped["spamhaus-listings"], shipped["one-click-unsubscribe"]
    old = utcnow() - timedelta(hours=3)
    rows = [
        # draft 1: both shown, a opened, became a case
        ("d1", a, "shown", 1), ("d1", b, "shown", 1), ("d1", a, "opened", 1),
        # draft 2: a shown and opened, no case (avoided)
        ("d2", a, "shown", None), ("d2", a, "opened", None),
        # draft 3: a shown, not opened, no case
        ("d3", a, "shown", None),
    ]
    case = make.case(world.ana)
    for key, article, action, with_case in rows:
        db.session.add(SuggestionEvent(draft_key=key * 10, user_id=world.ana.id, article_id=article.id,
                                       action=action, case_id=case.id if with_case else None, created_at=old))
    db.session.commit()
    stats = {s.article.slug: s for s in suggestion_stats()}
    assert (stats[a.slug].suggested, stats[a.slug].opened, stats[a.slug].opened_no_case, stats[a.slug].submitted) == (3, 2, 1, 1)
    assert (stats[b.slug].suggested, stats[b.slug].opened, stats[b.slug].opened_no_case) == (1, 0, 0)
    # A draft still being written is not yet a case avoided.
    db.session.execute(update(SuggestionEvent).where(SuggestionEvent.draft_key == "d2" * 10).values(created_at=utcnow()))
    db.session.commit()
    assert {s.article.slug: s for s in suggestion_stats()}[a.slug].opened_no_case == 0
    page = make_client(world.agent).get("/desk/kb/suggestions").text
    assert a.title in page and "(67%)" in page
