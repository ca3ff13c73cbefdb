"""Helpful or not: one vote per person and article, changeable, by htmx or a plain form."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.kb import services
from portal.kb.models import ArticleVote
from tests.kb.conftest import make_article


@pytest.fixture
def guide(category):
    a = make_article(category, "guide", "A guide", "Some **help**.")
    db.session.commit()
    return a


def votes():
    return sorted(db.session.execute(select(ArticleVote.user_id, ArticleVote.helpful)).all())


def test_one_vote_per_person_and_it_can_change(world, guide, make_client):
    ana = make_client(world.ana)
    assert ana.post("/kb/guide/vote", data={"helpful": "yes"}).status_code == 303
    assert ana.post("/kb/guide/vote", data={"helpful": "yes"}).status_code == 303
    assert votes() == [(world.ana.id, True)]
    ana.post("/kb/guide/vote", data={"helpful": "no"})
    assert votes() == [(world.ana.id, False)]
    make_client(world.bo).post("/kb/guide/vote", data={"helpful": "yes"})
    assert votes() == sorted([(world.ana.id, False), (world.bo.id, True)])
    assert services.vote_counts(guide) == (1, 1)


def test_without_javascript_the_vote_redirects_back_to_the_widget(world, guide, make_client):
    ana = make_client(world.ana)
    response = ana.post("/kb/guide/vote", data={"helpful": "yes"})
    assert response.headers["Location"].endswith("/kb/guide#article-vote")
    page = ana.get("/kb/guide").text
    assert 'aria-pressed="true"' in page and "You can change your answer" in page


def test_htmx_vote_swaps_only_the_widget(world, guide, make_client):
    ana = make_client(world.ana)
    page = ana.get("/kb/guide").text
    assert 'hx-post="/kb/guide/vote"' in page and 'hx-target="#article-vote"' in page
    response = ana.htmx("post", "/kb/guide/vote", data={"helpful": "no"})
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    body = response.text.strip()
    assert body.startswith('<section id="article-vote"') and "<html" not in body
    assert 'value="no" aria-pressed="true"' in body and "ask us in a case" in body


def test_bad_votes_are_refused(world, guide, category, make_client):
    ana = make_client(world.ana)
    assert ana.post("/kb/guide/vote", data={"helpful": "maybe"}).status_code == 422
    assert ana.post("/kb/guide/vote", data={}).status_code == 422
    assert ana.post("/kb/guide/vote", data={"helpful": "yes"}, csrf=False).status_code == 400
    assert ana.get("/kb/guide/vote").status_code == 405
    assert ana.post("/kb/nope/vote", data={"helpful": "yes"}).status_code == 404
    make_article(category, "draft", "Draft", "x", published=False)
    db.session.commit()
    assert ana.post("/kb/draft/vote", data={"helpful": "yes"}).status_code == 404
    assert votes() == []


def test_anonymous_people_are_asked_to_sign_in_and_staff_see_the_tally(world, guide, make_client):
    anonymous = make_client()
    assert "Sign in</a> to tell us whether it helped" in anonymous.get("/kb/guide").text
    response = anonymous.post("/kb/guide/vote", data={"helpful": "yes"})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    make_client(world.ana).post("/kb/guide/vote", data={"helpful": "yes"})
    agent = make_client(world.agent)
    assert "1 found it helpful, 0 did not." in agent.get("/kb/guide").text
    assert agent.post("/kb/guide/vote", data={"helpful": "no"}).status_code == 403
    assert votes() == [(world.ana.id, True)]
    assert "1 yes · 0 no" in agent.get("/desk/kb").text
