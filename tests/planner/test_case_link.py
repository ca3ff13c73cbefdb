"""A planning request names the warm-up plan it was opened with; the case page links
the name to the plan in the planner for whoever may see that plan."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from portal.extensions import db
from portal.planner import services
from portal.planner.models import WarmupPlan


def save_plan(client, name: str) -> int:
    response = client.post(
        "/planner",
        data={"volume": "2M", "ips": "3", "start": (date.today() + timedelta(days=2)).isoformat(),
              "gmail": "50", "microsoft": "50", "name": name},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    return int(re.search(r"/planner/(\d+)$", response.headers["Location"]).group(1))


def open_planning_case(client, plan_id: int | str = "") -> str:
    response = client.post(
        "/cases/new?kind=planning",
        data={"kind": "planning", "subject": "Review our January move", "topic": "migration",
              "description": "About 2M a day of receipts.", "warmup_plan": str(plan_id)},
    )  # fmt: skip
    assert response.status_code == 303, response.text
    return response.headers["Location"].rsplit("/", 1)[1]


def side_panel(page: str) -> str:
    return re.search(r'<aside class="case-side card">.*?</aside>', page, re.S).group(0)


@pytest.fixture
def planning_case(world, make_client):
    """Ana's planning request with the plan "January move"; (reference, plan id)."""
    ana = make_client(world.ana)
    plan_id = save_plan(ana, "January move")
    return open_planning_case(ana, plan_id), plan_id


def test_the_customer_of_the_account_follows_the_link_to_the_plan(
    world, make_client, planning_case
):
    reference, plan_id = planning_case
    ana = make_client(world.ana)
    page = ana.get(f"/cases/{reference}")
    assert page.status_code == 200
    link = f'<a href="/planner/{plan_id}">January move (plan {plan_id})</a>'
    assert f"<dt>Warm-up plan</dt><dd>{link}</dd>" in side_panel(page.text)
    assert ana.get(f"/planner/{plan_id}").status_code == 200


@pytest.mark.parametrize("person", ["agent", "admin", "tam"])
def test_staff_on_the_desk_follow_the_link_to_the_plan(world, make_client, planning_case, person):
    reference, plan_id = planning_case
    staff = make_client(getattr(world, person))
    page = staff.get(f"/desk/cases/{reference}")
    assert page.status_code == 200
    link = f'<a href="/planner/{plan_id}">January move (plan {plan_id})</a>'
    assert link in side_panel(page.text)
    assert staff.get(f"/planner/{plan_id}").status_code == 200


def test_another_accounts_customer_sees_neither_the_case_nor_the_link(
    world, make_client, planning_case
):
    reference, plan_id = planning_case
    bo = make_client(world.bo)
    for url in (f"/cases/{reference}", f"/desk/cases/{reference}", f"/planner/{plan_id}"):
        response = bo.get(url)
        assert response.status_code == 404, url
        assert f"/planner/{plan_id}" not in response.text and "January move" not in response.text


def test_a_removed_plan_keeps_its_name_without_a_link(world, make_client, planning_case):
    reference, plan_id = planning_case
    ana = make_client(world.ana)
    assert ana.post(f"/planner/{plan_id}/delete").status_code == 303
    agent = make_client(world.agent)
    for client, url in ((ana, f"/cases/{reference}"), (agent, f"/desk/cases/{reference}")):
        panel = side_panel(client.get(url).text)
        assert f"<dt>Warm-up plan</dt><dd>January move (plan {plan_id})</dd>" in panel
        assert f"/planner/{plan_id}" not in panel


def test_a_request_without_a_plan_shows_no_plan_row(world, make_client):
    ana = make_client(world.ana)
    reference = open_planning_case(ana)
    assert "Warm-up plan" not in side_panel(ana.get(f"/cases/{reference}").text)


def test_only_those_who_may_see_the_plan_get_its_id(world, make, make_client):
    plan_id = save_plan(make_client(world.ana), "January move")
    acme = world.acme.id
    for person in (world.ana, world.tam, world.agent, world.admin):
        assert services.visible_plan_id(person, acme, plan_id) == plan_id, person.name
    other_tam = make.user("tam", name="Other TAM")
    db.session.commit()
    for person in (world.bo, other_tam):
        assert services.visible_plan_id(person, acme, plan_id) is None, person.name
    # The plan must be the case's account's, and the id one a database can hold.
    assert services.visible_plan_id(world.agent, world.globex.id, plan_id) is None
    for bogus in (str(plan_id), float(plan_id), True, None, 2**70, -plan_id):
        assert services.visible_plan_id(world.agent, acme, bogus) is None, bogus
    db.session.delete(db.session.get(WarmupPlan, plan_id))
    db.session.commit()
    assert services.visible_plan_id(world.ana, acme, plan_id) is None
