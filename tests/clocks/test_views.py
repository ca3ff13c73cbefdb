"""The clocks as people meet them: who may log intake, callback and updates; the
live panel and its fragment contract; bad input; hours, notifications, report."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.accounts.models import Role
from portal.cases import services as cases
from portal.cases.models import CaseEvent, EventKind, Kind
from portal.clocks import services
from portal.clocks.models import BusinessSchedule, Notification
from portal.clocks.sweep import run_sweep
from portal.extensions import db
from tests.clocks.conftest import utc

AMS = "Europe/Amsterdam"
MON_0900 = utc("2026-03-02 09:00", AMS)

INTAKE = {
    "company": "Acme Mail",
    "contact_name": "Ana Acme",
    "contact_phone": "+31 20 555 0199",
    "contact_email": "ana@acme.example",
    "description": "Every API call answers 500",
}


@pytest.fixture
def critical(world, open_at, clock_at):
    clock_at(MON_0900 + timedelta(minutes=2))
    return open_at(world.ana, MON_0900, Kind.CRITICAL, subject="All API sends fail with 500")


def clock_urls(ref):
    return {
        "intake": (f"/cases/{ref}/clocks/intake", INTAKE),
        "callback": (f"/cases/{ref}/clocks/callback", {"interval_minutes": "30"}),
        "cadence": (f"/cases/{ref}/clocks/cadence", {"interval_minutes": "45"}),
        "updates": (f"/cases/{ref}/clocks/updates", {"body": "Still on it"}),
    }


def event_count(case, kind=None) -> int:
    query = select(func.count(CaseEvent.id)).where(CaseEvent.case_id == case.id)
    if kind:
        query = query.where(CaseEvent.kind == kind)
    return db.session.scalar(query)


# --- Access ---------------------------------------------------------------------------


def test_customers_cannot_log_clock_actions(world, make_client, critical):
    before = event_count(critical)
    own, other = make_client(world.ana), make_client(world.bo)
    for name, (url, data) in clock_urls(critical.reference).items():
        assert own.post(url, data=data).status_code == 403, name
        assert other.post(url, data=data).status_code == 404, name
    assert event_count(critical) == before


def test_other_accounts_and_anonymous_never_see_the_panel(world, make_client, client, critical):
    url = f"/cases/{critical.reference}/clocks"
    assert make_client(world.bo).htmx("get", url).status_code == 404
    response = client.htmx("get", url)
    assert response.status_code in (302, 401) or "/login" in response.headers.get("Location", "")
    for url in ["/desk/notifications", "/desk/reports/service", f"/desk/accounts/{world.acme.id}/hours"]:
        assert make_client(world.ana).get(url).status_code == 404, url


def test_staff_logs_the_whole_critical_path(world, make_client, critical, clock_at):
    agent = make_client(world.agent)
    ref = critical.reference
    response = agent.post(f"/cases/{ref}/clocks/intake", data=INTAKE)
    assert response.status_code == 303
    db.session.refresh(critical)
    assert critical.callback_due_at == MON_0900 + timedelta(minutes=17)
    clock_at(MON_0900 + timedelta(minutes=12))
    response = agent.htmx("post", f"/cases/{ref}/clocks/callback", data={"interval_minutes": "30", "note": "Agreed 30"})
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "case-changed"
    assert 'id="staff-actions"' in response.text and "Post an update" in response.text
    db.session.refresh(critical)
    assert critical.next_update_due_at == MON_0900 + timedelta(minutes=42)
    clock_at(MON_0900 + timedelta(minutes=40))
    assert agent.post(f"/cases/{ref}/clocks/updates", data={"body": "Engineers restart the API workers"}).status_code == 303
    assert agent.post(f"/cases/{ref}/clocks/cadence", data={"interval_minutes": "60"}).status_code == 303
    db.session.refresh(critical)
    assert critical.next_update_due_at == MON_0900 + timedelta(minutes=100)
    kinds = [e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == critical.id).order_by(CaseEvent.id))]
    assert kinds[-5:] == ["callback_made", "cadence_agreed", "status_changed", "update_posted", "cadence_agreed"]


def test_the_timeline_tells_the_customer_about_the_call(world, make_client, critical, clock_at):
    services.log_hotline_intake(critical, world.agent, **{
        "company": "Acme Mail", "contact_name": "Ana Acme", "phone": "+31 20 555 0199",
        "email": "ana@acme.example", "description": "API down",
    }, now=MON_0900 + timedelta(minutes=2))
    services.log_callback(critical, world.agent, interval_minutes=30, now=MON_0900 + timedelta(minutes=9))
    db.session.commit()
    page = make_client(world.ana).get(f"/cases/{critical.reference}").text
    assert "Hotline call taken" in page and "Called back" in page and "every <strong>30 minutes</strong>" in page


# --- Bad input ---------------------------------------------------------------------------


def test_bad_intake_is_422_with_the_message_and_what_was_typed(world, make_client, critical):
    agent = make_client(world.agent)
    data = dict(INTAKE, contact_phone="", contact_email="not-an-address", company="Acme Mail B.V.")
    for response in (
        agent.post(f"/cases/{critical.reference}/clocks/intake", data=data),
        agent.htmx("post", f"/cases/{critical.reference}/clocks/intake", data=data),
    ):
        assert response.status_code == 422
        assert "Write the number to call back." in response.text
        assert "That is not an email address." in response.text
        assert 'value="not-an-address"' in response.text and 'value="Acme Mail B.V."' in response.text
    assert event_count(critical, EventKind.HOTLINE_INTAKE) == 0


@pytest.mark.parametrize("interval", ["", "abc", "0", "-5", "100000", "12.5"])
def test_bad_interval_is_422_and_keeps_it(world, make_client, critical, interval):
    services.log_hotline_intake(critical, world.agent, "A", "B", "1", "b@x.example", "d", now=MON_0900)
    db.session.commit()
    response = make_client(world.agent).htmx(
        "post", f"/cases/{critical.reference}/clocks/callback", data={"interval_minutes": interval, "note": "kept note"}
    )
    assert response.status_code == 422
    assert "whole minutes" in response.text
    assert "kept note" in response.text
    if interval:
        assert f'value="{interval}"' in response.text


def test_empty_update_is_422(world, make_client, critical):
    services.log_hotline_intake(critical, world.agent, "A", "B", "1", "b@x.example", "d", now=MON_0900)
    services.log_callback(critical, world.agent, now=MON_0900 + timedelta(minutes=5))
    db.session.commit()
    response = make_client(world.agent).post(f"/cases/{critical.reference}/clocks/updates", data={"body": "  "})
    assert response.status_code == 422 and "Write the update before posting it." in response.text


def test_refused_transition_is_409_not_500(world, make_client, critical):
    agent = make_client(world.agent)
    response = agent.post(f"/cases/{critical.reference}/clocks/callback", data={"interval_minutes": "60"})
    assert response.status_code == 409 and "Log the hotline intake first" in response.text


# --- The live panel -------------------------------------------------------------------------


def test_desk_case_page_prefills_the_intake(world, make_client, critical):
    page = make_client(world.agent).get(f"/desk/cases/{critical.reference}").text
    assert "Log the hotline intake" in page
    assert 'value="+31 20 555 0199"' in page and 'value="ana@acme.example"' in page
    assert "Hotline intake not logged yet" in page


def test_panel_counts_down_and_stops_polling_when_resolved(world, make_client, critical, clock_at):
    services.log_hotline_intake(critical, world.agent, "A", "B", "1", "b@x.example", "d", now=MON_0900 + timedelta(minutes=2))
    db.session.commit()
    customer = make_client(world.ana)
    clock_at(MON_0900 + timedelta(minutes=10))
    url = f"/cases/{critical.reference}/clocks"
    response = customer.htmx("get", url)
    assert response.status_code == 200 and "HX-Request" in response.headers["Vary"]
    assert "We call you back by" in response.text and "in 7 min" in response.text
    assert "hx-get" in response.text and "<html" not in response.text
    page = customer.get(f"/cases/{critical.reference}").text  # without JavaScript: static text
    assert "in 7 min" in page
    assert customer.get(url).status_code == 302  # a full page lives at the case's own URL
    cases.propose_resolution(critical, world.agent, "Fixed", "fix")
    cases.accept_resolution(critical, world.ana)
    db.session.commit()
    assert customer.htmx("get", url).status_code == 286


def test_panel_polls_on_a_timer_only_while_a_clock_runs(world, make_client, open_at, clock_at):
    clock_at(MON_0900 + timedelta(hours=1))
    case = open_at(world.ana, MON_0900)
    customer = make_client(world.ana)
    url = f"/cases/{case.reference}/clocks"
    assert 'hx-trigger="every 15s, case-changed from:body"' in customer.htmx("get", url).text
    cases.reply(case, world.agent, "Answered")
    db.session.commit()
    panel = customer.htmx("get", url).text
    assert 'hx-trigger="case-changed from:body"' in panel and "Answered" in panel


def test_customer_sees_expected_response_in_both_zones(world, make, make_client, open_at, clock_at):
    jakarta_user = make.user(Role.CUSTOMER, world.acme, name="Jaka", timezone="Asia/Jakarta")
    db.session.commit()
    clock_at(MON_0900 + timedelta(hours=1))
    case = open_at(world.ana, MON_0900)
    page = make_client(jakarta_user).get(f"/cases/{case.reference}").text
    assert "Expected response by" in page
    assert "Mon 02 Mar, 23:00 WIB" in page and "17:00 CET account time" in page


# --- Queue, notifications ---------------------------------------------------------------------


def test_queue_shows_time_left_and_sorts_by_it(world, make_client, open_at, clock_at):
    clock_at(MON_0900 + timedelta(hours=2))
    later = open_at(world.ana, MON_0900 + timedelta(hours=1), subject="Due later")
    sooner = open_at(world.bo, utc("2026-03-02 09:00", "Asia/Jakarta"), subject="Due sooner")
    page = make_client(world.agent).get("/desk").text
    assert "Due in" in page
    assert page.index("Due sooner") < page.index("Due later")
    assert sooner.first_response_due_at < later.first_response_due_at
    assert "First response: " in page


def test_notifications_list_and_mark_read(world, make, make_client, open_at):
    world.agent.on_duty = True
    db.session.commit()
    open_at(world.ana, MON_0900)
    run_sweep(utc("2026-03-02 17:30", AMS))
    agent = make_client(world.agent)
    page = agent.get("/desk").text
    assert "First response overdue" in page
    fragment = agent.htmx("get", "/desk/notifications?panel=1")
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert agent.get("/desk/notifications").text.count('class="notification unread"') == 1
    assert agent.post("/desk/notifications/read").status_code == 303
    unread = db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None)))
    assert unread == 2  # the TAM's and the admin's stay theirs
    assert make_client(world.admin).get("/desk/notifications").text.count("unread") >= 1


# --- Business hours page -----------------------------------------------------------------------


HOURS = {
    "timezone": "Europe/Amsterdam",
    "mon": "08:00-12:00, 13:00-18:00", "tue": "08:00-18:00", "wed": "08:00-18:00",
    "thu": "08:00-18:00", "fri": "08:00-16:00", "sat": "", "sun": "",
    "holiday_country": "nl", "closed_dates": "2026-12-24\n2026-12-31",
    "response_target_hours": "6", "note": "Longer hours from March",
}


def test_tam_changes_hours_and_the_history_keeps_the_old(world, make_client):
    tam = make_client(world.tam)
    url = f"/desk/accounts/{world.acme.id}/hours"
    assert "Save the new hours" in tam.get(url).text
    response = tam.post(url, data=HOURS)
    assert response.status_code == 303
    rows = db.session.scalars(select(BusinessSchedule).order_by(BusinessSchedule.id)).all()
    assert len(rows) == 2 and rows[1].holiday_country == "NL"
    assert rows[1].hours["mon"] == [["08:00", "12:00"], ["13:00", "18:00"]]
    assert rows[1].closed_dates == ["2026-12-24", "2026-12-31"]
    page = tam.get(url + "?saved=1").text
    assert "Longer hours from March" in page and "Mon–Fri 09:00–17:00" in page


def test_hours_with_nothing_optional_filled_in(world, make_client):
    data = dict(HOURS, holiday_country="", closed_dates="", sat="", sun="")
    assert make_client(world.tam).post(f"/desk/accounts/{world.acme.id}/hours", data=data).status_code == 303
    row = db.session.scalars(select(BusinessSchedule).order_by(BusinessSchedule.id.desc())).first()
    assert row.closed_dates == [] and row.holiday_country is None


def test_hours_page_access(world, make, make_client):
    url = f"/desk/accounts/{world.acme.id}/hours"
    agent = make_client(world.agent)
    page = agent.get(url)
    assert page.status_code == 200 and "Save the new hours" not in page.text
    assert agent.post(url, data=HOURS).status_code == 403
    other_tam = make_client(make.user(Role.TAM))
    assert other_tam.get(url).status_code == 404
    assert make_client(world.admin).post(url, data=HOURS).status_code == 303
    assert make_client(world.agent).get("/desk/accounts/99999/hours").status_code == 404


@pytest.mark.parametrize(
    "change, message",
    [
        ({"mon": "9-5"}, "is not a time"),
        ({"tue": "08:00"}, "needs a start and an end"),
        ({"timezone": "Europe/Atlantis"}, "is not a time zone"),
        ({"holiday_country": "XX"}, "not a supported country"),
        ({"closed_dates": "24/12/2026"}, "is not a date"),
        ({"response_target_hours": "eight"}, "whole business hours"),
        ({"note": ""}, "Say what changed and why"),
    ],
)
def test_bad_hours_are_422_and_keep_what_was_typed(world, make_client, change, message):
    data = dict(HOURS, **change)
    response = make_client(world.tam).post(f"/desk/accounts/{world.acme.id}/hours", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert "08:00-12:00, 13:00-18:00" in response.text or "mon" in change
    assert db.session.scalar(select(func.count(BusinessSchedule.id))) == 0


# --- Service report -------------------------------------------------------------------------


def test_service_report_and_csv(world, make_client, open_at, clock_at):
    clock_at(utc("2026-03-31 12:00", AMS))
    bug = open_at(world.ana, MON_0900)
    cases.reply(bug, world.agent, "On it")  # answered at the real time: far too late
    critical = open_at(world.ana, MON_0900, Kind.CRITICAL)
    services.log_hotline_intake(critical, world.agent, "A", "B", "1", "b@x.example", "d", now=MON_0900)
    services.log_callback(critical, world.agent, now=MON_0900 + timedelta(minutes=12))
    services.post_update(critical, world.agent, "Update", now=MON_0900 + timedelta(minutes=50))
    db.session.commit()
    agent = make_client(world.agent)
    page = agent.get(f"/desk/reports/service?account={world.acme.id}&month=2026-03")
    assert page.status_code == 200
    assert "Callbacks within 15 minutes" in page.text and "12 min 00 s" in page.text
    response = agent.get(f"/desk/reports/service.csv?account={world.acme.id}&month=2026-03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(response.text))}
    assert rows["Cases opened"] == "2"
    assert rows["Callbacks within 15 minutes (share)"] == "100.0%"
    assert rows["First responses missed"] == "1"
    assert rows["Updates on time"] == "1"


def test_service_report_bad_input_and_access(world, make, make_client):
    agent = make_client(world.agent)
    response = agent.get(f"/desk/reports/service?account={world.acme.id}&month=March")
    assert response.status_code == 422 and "is not a month" in response.text and 'value="March"' in response.text
    other_tam = make_client(make.user(Role.TAM))
    assert other_tam.get(f"/desk/reports/service?account={world.acme.id}&month=2026-03").status_code == 422
    assert make_client(world.tam).get(f"/desk/reports/service?account={world.acme.id}&month=2026-03").status_code == 200


@pytest.mark.parametrize(
    "query",
    ["account=abc&month=2026-03", "month=2026-03", "account=1&month=2026-13", "account=1&month=", "account=99999&month=2026-03",
     "account=1&month=" + "9" * 500],
)
def test_garbage_report_queries_are_422_never_500(world, make_client, query):
    assert make_client(world.agent).get(f"/desk/reports/service?{query}").status_code == 422
    assert make_client(world.agent).get(f"/desk/reports/service.csv?{query}").status_code == 422


def test_garbage_clock_posts_are_never_500(world, make_client, critical):
    agent = make_client(world.agent)
    ref = critical.reference
    huge = "x" * 30_000
    assert agent.post(f"/cases/{ref}/clocks/intake", data=dict(INTAKE, company=huge)).status_code == 422
    assert agent.post(f"/cases/{ref}/clocks/intake", data={}).status_code == 422
    assert agent.post(f"/cases/{ref}/clocks/updates", data={"body": huge}).status_code == 422
    assert agent.post("/cases/CS-abc/clocks/intake", data=INTAKE).status_code == 404
    assert agent.post(f"/cases/{ref}/clocks/intake", data=INTAKE, csrf=False).status_code in (400, 422)
    assert agent.post(f"/desk/accounts/{world.acme.id}/hours", data={"mon": huge}).status_code in (403, 422)
