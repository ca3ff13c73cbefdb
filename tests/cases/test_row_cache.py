"""The cache of rendered case-list rows (``portal.cases.fragments.case_row``): a list
served from it reads exactly as a freshly rendered one, and any change to what a
row shows (status, last activity, the viewer's zone, the minute) shows at once."""

import re
from datetime import timedelta

import pytest

from portal import templating
from portal.accounts.models import Role
from portal.cases import services
from portal.cases.models import Kind
from portal.extensions import db
from portal.timeutil import utcnow


@pytest.fixture
def acme_cases(world, make):
    cases = [make.case(world.ana, Kind.BUG, subject=f"Soft bounces at provider {n}") for n in range(3)]
    db.session.commit()
    return cases


def rows_of(html: str) -> list[str]:
    table = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row.strip() for row in re.findall(r"<tr>.*?</tr>", table, re.S)]


def row_for(html: str, case) -> str:
    return next(row for row in rows_of(html) if case.reference in row)


def test_a_second_view_is_served_from_the_cache_and_reads_the_same(world, app, make_client, acme_cases):
    ana = make_client(world.ana)
    first = ana.get("/cases").text
    cache = app.extensions["case_row_cache"]
    hits = cache.hits
    second = ana.get("/cases").text
    assert rows_of(second) == rows_of(first)
    assert len(rows_of(second)) == 3
    assert cache.hits == hits + 3


def test_what_a_cached_row_shows_is_what_a_fresh_render_shows(world, app, make_client, acme_cases):
    ana = make_client(world.ana)
    cached = ana.get("/cases").text
    app.extensions["case_row_cache"].clear()
    app.extensions["case_row_cache"].size = 0
    fresh = ana.get("/cases").text
    assert rows_of(cached) == rows_of(fresh)
    row = row_for(fresh, acme_cases[0])
    assert f'href="/cases/{acme_cases[0].reference}"' in row
    assert "Bug report" in row and "New" in row and "just now" in row


def test_a_change_of_status_shows_on_the_next_view(world, make_client, acme_cases):
    ana = make_client(world.ana)
    case = acme_cases[1]
    assert "status-new" in row_for(ana.get("/cases").text, case)
    services.reply(case, world.agent, "Looking at it now.")  # the first answer: in progress
    db.session.commit()
    row = row_for(ana.get("/cases").text, case)
    assert "status-in_progress" in row and "status-new" not in row


def test_each_time_zone_reads_its_own_time(world, make, make_client, acme_cases):
    tokyo = make.user(Role.CUSTOMER, account=world.acme, timezone="Asia/Tokyo")
    db.session.commit()
    ana_row = row_for(make_client(world.ana).get("/cases").text, acme_cases[0])
    tokyo_row = row_for(make_client(tokyo).get("/cases").text, acme_cases[0])
    assert "JST" in tokyo_row and "JST" not in ana_row


def test_times_move_on_with_the_minute(world, make_client, acme_cases, monkeypatch):
    ana = make_client(world.ana)
    assert "just now" in row_for(ana.get("/cases").text, acme_cases[0])
    later = utcnow() + timedelta(minutes=7)
    monkeypatch.setattr(templating, "utcnow", lambda: later)
    row = row_for(ana.get("/cases").text, acme_cases[0])
    assert "7 min ago" in row and "just now" not in row


def test_a_hostile_subject_is_escaped_when_rendered_and_when_kept(world, make, make_client):
    case = make.case(world.ana, Kind.BUG, subject='<img src=x onerror="alert(1)">')
    db.session.commit()
    ana = make_client(world.ana)
    for _ in range(2):  # a miss, then a hit
        row = row_for(ana.get("/cases").text, case)
        assert "<img" not in row and "&lt;img src=x" in row


@pytest.mark.parametrize(
    "column, value, shown",
    [("status", "waiting_on_customer", "status-waiting_on_customer"), ("subject", "Renamed by an agent", "Renamed by an agent")],
)
def test_every_column_a_row_shows_is_in_its_key(world, make_client, acme_cases, column, value, shown):
    """Even a change that leaves the last activity as it was shows at once."""
    ana, case = make_client(world.ana), acme_cases[2]
    ana.get("/cases")
    before = case.last_activity_at
    setattr(case, column, value)
    db.session.commit()
    assert case.last_activity_at == before
    assert shown in row_for(ana.get("/cases?status=").text, case)
