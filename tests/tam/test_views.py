"""The customer's TAM page, and planning requests that go to the TAM."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.cases.models import Case, CaseEvent, EventKind, Kind
from portal.clocks.models import BusinessSchedule
from portal.extensions import db
from portal.tam.services import reachability, weekly_hours

ALL_DAY = {day: [["00:00", "00:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def test_page_says_who_the_tam_is_and_what_they_do(world, client):
    client.login(world.ana)
    page = client.get("/tam").text
    assert "<h1>Your Technical Account Manager</h1>" in page
    assert "Tess TAM" in page
    assert 'href="tel:+31205550101"' in page and "+31 20 555 0101" in page
    assert 'href="mailto:tam@support.example"' in page
    for service in ("Migration planning", "Escalation", "Capacity and feature planning", "Education"):
        assert f"<dt>{service}</dt>" in page
    assert "Mon–Fri 09:00–17:00" in page and "Europe/Amsterdam" in page
    for topic in ("migration", "capacity", "feature"):
        assert f'href="/cases/new?kind=planning&amp;topic={topic}"' in page
    assert "Severity 1 hotline" in page  # the TAM is not the 24/7 path


def test_reachable_now_in_the_viewers_zone_with_the_accounts_beside(world, client):
    world.acme.business_hours = ALL_DAY
    world.ana.timezone = "Asia/Jakarta"
    db.session.commit()
    client.login(world.ana)
    page = client.get("/tam").text
    assert "reach-open" in page and "<strong>Reachable now</strong>" in page
    # Open until midnight in Amsterdam: 06:00 or 07:00 in Jakarta (CET or CEST).
    reach = re.search(r"until <time[^>]*>(\d\d:\d\d)</time> your time \((\d\d:\d\d) \w+ in Europe/Amsterdam\)", page)
    assert reach and reach.group(2) == "00:00" and reach.group(1) in ("06:00", "05:00")
    assert "Your time (Asia/Jakarta)" in page


def test_not_reachable_says_when_they_are_back(world, client):
    world.acme.business_hours = {"mon": [["09:00", "17:00"]]}
    db.session.commit()
    client.login(world.ana)
    page = client.get("/tam").text
    now = datetime.now(UTC)
    if reachability(world.acme, now).reachable:  # it is Monday office hours in Amsterdam
        pytest.skip("the test needs the TAM out of hours")
    assert "reach-closed" in page and "<strong>Not reachable now.</strong> Back" in page
    assert re.search(r"Back <time[^>]*>Monday \d\d \w{3} 0[78]:00</time> your time", page)


def test_no_hours_and_no_tam(world, client):
    world.globex.business_hours = {}
    db.session.commit()
    client.login(world.bo)
    page = client.get("/tam").text
    assert "No TAM assigned yet" in page and "No business hours are set" in page
    assert 'href="/cases/new?kind=planning&amp;topic=migration"' in page  # still possible


def test_staff_are_sent_to_the_desk_and_anonymous_to_login(world, client):
    assert "/login" in client.get("/tam").headers["Location"]
    client.login(world.tam)
    assert client.get("/tam").headers["Location"].endswith("/desk")


def test_reachability_by_the_accounts_hours(world):
    acme = world.acme  # Europe/Amsterdam, Mon-Fri 09:00-17:00
    wednesday_10 = datetime(2027, 3, 3, 9, 0, tzinfo=UTC)  # 10:00 CET
    reach = reachability(acme, wednesday_10)
    assert reach.reachable and reach.until == datetime(2027, 3, 3, 16, 0, tzinfo=UTC)
    saturday = datetime(2027, 3, 6, 12, 0, tzinfo=UTC)
    reach = reachability(acme, saturday)
    assert not reach.reachable and reach.until == datetime(2027, 3, 8, 8, 0, tzinfo=UTC)
    assert len(reach.upcoming) == 5 and reach.upcoming[0][0] == reach.until
    # Across the change to summer time: 09:00 CEST is 07:00 UTC.
    after_dst = reachability(acme, datetime(2027, 3, 28, 12, 0, tzinfo=UTC))
    assert after_dst.until == datetime(2027, 3, 29, 7, 0, tzinfo=UTC)


def test_holidays_and_closed_days_of_the_hours_in_force_count(world):
    acme = world.acme
    db.session.add(
        BusinessSchedule(
            account_id=acme.id,
            effective_from=datetime(2027, 1, 1),
            timezone="Europe/Amsterdam",
            hours={"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
                   "thu": [["09:00", "17:00"]], "fri": [["08:00", "12:00"]]},
            closed_dates=["2027-03-04"],
        )
    )  # fmt: skip
    db.session.commit()
    wednesday_evening = datetime(2027, 3, 3, 19, 0, tzinfo=UTC)
    reach = reachability(acme, wednesday_evening)
    assert not reach.reachable and reach.until == datetime(2027, 3, 5, 7, 0, tzinfo=UTC)  # Fri 08:00 CET
    assert weekly_hours(reach.hours) == [("Mon–Thu", "09:00–17:00"), ("Fri", "08:00–12:00")]


def test_weekly_hours_join_runs_of_days():
    hours = {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "wed": [["09:00", "17:00"]],
             "thu": [["10:00", "18:00"]], "fri": [["10:00", "18:00"]], "sun": [["09:00", "17:00"]]}  # fmt: skip
    assert weekly_hours(hours) == [("Mon–Wed", "09:00–17:00"), ("Thu–Fri", "10:00–18:00"), ("Sun", "09:00–17:00")]
    assert weekly_hours({}) == []


# --- planning requests ---------------------------------------------------------------


def planning(**overrides) -> dict:
    data = {
        "kind": "planning",
        "subject": "Move our receipts stream from our old provider",
        "description": "About 2M a day of receipts; we would like to start in January.",
        "topic": "migration",
        "needed_by": "",
        "volumes": "2M a day today",
        "warmup_plan": "",
    }
    data.update(overrides)
    return data


def assigned_events(case: Case) -> list[CaseEvent]:
    return list(
        db.session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.ASSIGNED)
        )
    )


def test_a_planning_request_goes_to_the_tam(world, client):
    client.login(world.ana)
    response = client.post("/cases/new?kind=planning", data=planning())
    assert response.status_code == 303, response.text
    case = db.session.scalar(select(Case))
    assert case.kind == Kind.PLANNING and case.assignee_id == world.tam.id
    assert case.details["topic"] == "migration"
    [event] = assigned_events(case)
    assert event.author_id is None and event.data["assignee_name"] == "Tess TAM"
    assert "Assigned to <strong>Tess TAM</strong>" in client.get(f"/cases/{case.reference}").text
    tam_page = client.get("/tam").text
    assert case.reference in tam_page and "with Tess TAM" in tam_page


def test_planning_assignment_happens_in_the_service_too(world, make):
    case = make.case(world.ana, Kind.PLANNING, subject="Capacity for Black Friday", topic="capacity")
    assert case.assignee_id == world.tam.id


def test_without_a_tam_the_request_stays_with_support(world, make):
    case = make.case(world.bo, Kind.PLANNING, subject="Capacity", topic="capacity")
    assert case.assignee_id is None and assigned_events(case) == []
    world.tam.active = False
    db.session.commit()
    case = make.case(world.ana, Kind.PLANNING, subject="Capacity", topic="capacity")
    assert case.assignee_id is None


def test_other_kinds_are_not_assigned_to_the_tam(world, make):
    for kind in (Kind.BUG, Kind.CONFIGURATION, Kind.INFORMATION, Kind.REMEDIATION):
        assert make.case(world.ana, kind).assignee_id is None


def test_topic_and_plan_preselected_from_the_link(world, client):
    client.login(world.ana)
    plan_response = client.post(
        "/planner",
        data={"volume": "2M", "ips": "3", "start": (date.today() + timedelta(days=2)).isoformat(),
              "gmail": "50", "microsoft": "50", "name": "January move"},
    )  # fmt: skip
    plan_id = plan_response.headers["Location"].rsplit("/", 1)[1]
    page = client.get(f"/cases/new?kind=planning&topic=capacity&plan={plan_id}").text
    assert re.search(r'value="capacity"[^>]*checked|checked[^>]*value="capacity"', page)
    assert re.search(rf'<option selected value="{plan_id}">January move</option>|<option value="{plan_id}" selected>', page)
    assert "Tess TAM" in page  # who gets it, beside the form
    client.post("/cases/new?kind=planning", data=planning(warmup_plan=plan_id))
    case = db.session.scalar(select(Case))
    assert case.details["warmup_plan"] == f"January move (plan {plan_id})"
    assert case.details["warmup_plan_id"] == int(plan_id)


def test_planning_request_bad_input(world, make_client):
    ana = make_client(world.ana)
    response = ana.post("/cases/new?kind=planning", data=planning(topic="", needed_by="2020-01-01"))
    assert response.status_code == 422
    assert "Choose what you want to plan." in response.text
    assert "That date has passed" in response.text
    assert "Move our receipts stream" in response.text  # kept
    # Another account's plan is not a choice.
    bo = make_client(world.bo)
    bo_plan = bo.post(
        "/planner",
        data={"volume": "1M", "ips": "2", "start": (date.today() + timedelta(days=2)).isoformat(), "gmail": "100"},
    ).headers["Location"].rsplit("/", 1)[1]
    response = ana.post("/cases/new?kind=planning", data=planning(warmup_plan=bo_plan))
    assert response.status_code == 422 and "Not a valid choice" in response.text
    assert db.session.scalar(select(Case)) is None
