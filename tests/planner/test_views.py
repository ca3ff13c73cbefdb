"""The planner as customers and staff meet it: making a plan, reading it, its CSVs,
bad input kept with a message beside the field, and who may see which plan."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.planner.models import WarmupPlan


def tomorrow() -> date:
    return datetime.now().date() + timedelta(days=2)  # clear of any time zone's today


def good(**overrides) -> dict:
    data = {
        "volume": "3,000,000",
        "ips": "3",
        "start": tomorrow().isoformat(),
        "gmail": "40",
        "microsoft": "33.3",
        "yahoo": "16.7",
        "others": "10",
        "current_volume": "",
        "name": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def ana(world, client):
    client.login(world.ana)
    return client


def make_plan(client, **overrides) -> int:
    response = client.post("/planner", data=good(**overrides))
    assert response.status_code == 303, response.text
    return int(re.search(r"/planner/(\d+)$", response.headers["Location"]).group(1))


def error_of(page: str, field_id: str) -> str:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', page)
    assert match, f"no error beside {field_id}"
    return match.group(1)


def test_empty_planner_teaches(ana):
    page = ana.get("/planner")
    assert page.status_code == 200
    assert "No plans yet" in page.text
    assert 'name="volume"' in page.text and 'hx-get="/planner/suggestion"' in page.text
    assert f'value="{datetime.now().date().isoformat()}"' in page.text or "start" in page.text


def test_customer_makes_a_plan_and_reads_it_day_by_day(world, ana):
    plan_id = make_plan(ana)
    saved = db.session.get(WarmupPlan, plan_id)
    assert saved.account_id == world.acme.id and saved.created_by_id == world.ana.id
    assert saved.name == f"Warm-up: 3,000,000 a day on 3 IPs from {tomorrow():%d %b %Y}"
    assert saved.inputs["shares"] == {"gmail": "40", "microsoft": "33.3", "yahoo": "16.7", "others": "10"}
    page = ana.get(f"/planner/{plan_id}").text
    # Day 1: 3 x 200; day 20: 3 x 1,000,000, the target (1M per IP).
    assert re.search(r'<th scope="row">1</th>.*?<strong>600</strong>', page, re.S)
    assert re.search(r'<th scope="row">20</th>.*?<strong>3,000,000</strong>', page, re.S)
    assert '<th scope="row">21</th>' not in page
    assert "Day 20" in page
    assert "Weeks 3-4: only recipients who opened or clicked in the last 60 days" in page
    assert "421 4.7.28" in page and "RP-001" in page and "TS01" in page
    assert "Complaint rate over 0.1%" in page and "Bounce rate over 5%" in page
    # The chart: inline SVG with a title, a description and the table as fallback.
    assert '<svg class="ramp"' in page and 'role="img"' in page
    assert '<title id="ramp-title">' in page and '<desc id="ramp-desc">' in page
    assert page.count("<rect ") >= 20 * 4
    assert "<script" not in page.split("</head>")[1]
    assert ana.get("/planner").text.count(f'href="/planner/{plan_id}"') == 1


def test_htmx_submission_redirects_and_errors_come_back_as_the_form_fragment(ana):
    ok = ana.htmx("post", "/planner", data=good())
    assert ok.status_code == 204 and ok.headers["HX-Redirect"].startswith("/planner/")
    bad = ana.htmx("post", "/planner", data=good(ips=""))
    assert bad.status_code == 422
    assert "<html" not in bad.text and bad.text.lstrip().startswith('<section id="planner-form"')
    assert "HX-Request" in bad.headers["Vary"]


@pytest.mark.parametrize(
    "overrides, field_id, message",
    [
        ({"ips": ""}, "ips", "Enter how many new IPs you will warm up. For 3,000,000 a day we suggest 4."),
        ({"ips": "0"}, "ips", "Enter at least one new IP."),
        ({"ips": "-2"}, "ips", "This cannot be negative."),
        ({"ips": "three"}, "ips", "Enter a whole number, e.g. 2500000."),
        ({"volume": "-5000"}, "volume", "This cannot be negative."),
        ({"volume": "0"}, "volume", "Enter a daily volume above zero."),
        ({"volume": ""}, "volume", "Enter the daily volume you will send once warm, e.g. 2,500,000."),
        ({"volume": "lots"}, "volume", "Enter a whole number, e.g. 2500000 or 2.5M."),
        ({"volume": "2.5"}, "volume", "Enter a whole number of messages."),
        ({"volume": "45,000,000", "ips": "4"}, "ips", "4 IPs would each carry more than 10,000,000 a day"),
        ({"start": (date.today() - timedelta(days=3)).isoformat()}, "start", "The start date is in the past"),
        ({"start": "31/12/2026"}, "start", "Enter the start date as YYYY-MM-DD"),
        ({"start": "2999-01-01"}, "start", "Start within the next two years."),
        ({"start": ""}, "start", "Enter the day the warm-up starts."),
        ({"gmail": "abc"}, "gmail", "Enter a percentage such as 40 or 33.5."),
        ({"gmail": "140"}, "gmail", "Enter a percentage from 0 to 100."),
        ({"current_volume": "-1"}, "current_volume", "This cannot be negative."),
        ({"current_volume": "0"}, "current_volume", "Enter the current daily volume above zero"),
    ],
)
def test_bad_input_is_422_with_the_message_beside_the_field_and_the_form_kept(ana, overrides, field_id, message):
    data = good(**overrides)
    response = ana.post("/planner", data=data)
    assert response.status_code == 422
    assert error_of(response.text, field_id).startswith(message.replace("'", "&#39;"))
    assert f'aria-describedby="{field_id}-error"' in response.text or f"{field_id}-error" in response.text
    for name in ("volume", "ips", "gmail", "microsoft", "current_volume"):
        typed = data[name]
        assert re.search(rf'name="{name}"[^>]*value="{re.escape(typed)}"', response.text) or (
            typed == "" and not re.search(rf'name="{name}"[^>]*value="[^"]', response.text)
        ), name
    assert db.session.scalar(select(func.count(WarmupPlan.id))) == 0


def test_shares_must_add_up_to_100(ana):
    response = ana.post("/planner", data=good(gmail="30", microsoft="30", yahoo="20", others=""))
    assert response.status_code == 422
    assert '<p class="error" id="shares-error">The shares add up to 80%; they must add up to 100%.</p>' in response.text
    assert re.search(r'name="others"[^>]*value=""', response.text) or 'name="others" type="text" value=""' in response.text
    assert re.search(r'name="gmail"[^>]*value="30"', response.text)
    # Decimals add up exactly: no float error lets 33.33 x 3 through.
    thirds = good(gmail="33.33", microsoft="33.33", yahoo="33.33", others="")
    assert ana.post("/planner", data=thirds).status_code == 422
    assert ana.post("/planner", data={**thirds, "others": "0.01"}).status_code == 303


def test_numbers_as_people_write_them(ana):
    plan_id = make_plan(ana, volume="2.5M", ips=" 3 ", gmail="50%", microsoft="25,5", yahoo="14.5", others="10")
    saved = db.session.get(WarmupPlan, plan_id)
    assert saved.inputs["volume"] == 2_500_000
    assert saved.inputs["shares"]["microsoft"] == "25.5"


def test_ip_suggestion_follows_the_volume(ana):
    fragment = ana.htmx("get", "/planner/suggestion?volume=1.6M")
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<p id="ip-suggestion"')
    assert "<strong>3 IPs</strong>" in fragment.text and "SendGrid" in fragment.text
    assert "Enter the target volume" in ana.htmx("get", "/planner/suggestion?volume=junk").text
    assert ana.get("/planner/suggestion?volume=5M").status_code == 302  # a page, not a fragment
    # After a submission the suggestion is there without JavaScript.
    page = ana.post("/planner", data=good(volume="80,000,000", ips="")).text
    assert "<strong>20 IPs</strong>" in page


def test_migration_plan_shows_the_split_and_the_cutover(ana):
    plan_id = make_plan(ana, volume="4,000,000", ips="4", current_volume="4M")
    page = ana.get(f"/planner/{plan_id}").text
    assert "Current provider" in page and "This service carries all of it from day 20" in page
    assert re.search(r'<th scope="row">1</th>.*?<strong>800</strong>.*?3,999,200', page, re.S)
    assert 'class="cutover"' in page


def test_day_by_day_csv(ana):
    plan_id = make_plan(ana, volume="4,000,000", ips="4", current_volume="4,000,000")
    response = ana.get(f"/planner/{plan_id}/plan.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 20
    assert rows[0]["day"] == "1" and rows[0]["this_service"] == "800"
    assert rows[0]["current_provider"] == "3999200" and rows[0]["all_traffic"] == "4000000"
    assert rows[0]["engagement_window"] == "Engaged in last 30 days"
    assert rows[19]["this_service"] == "4000000" and rows[19]["current_provider"] == "0"
    for row in rows:
        assert sum(int(row[k]) for k in ("gmail", "microsoft", "yahoo", "others")) == int(row["this_service"])
        assert int(row["schedule_per_ip"]) * 4 >= int(row["this_service"])


def test_per_ip_csv(ana):
    plan_id = make_plan(ana, volume="1,000,001", ips="3")
    rows = list(csv.DictReader(io.StringIO(ana.get(f"/planner/{plan_id}/per-ip.csv").text)))
    last_day = [r for r in rows if r["day"] == rows[-1]["day"]]
    assert [r["ip"] for r in last_day] == ["IP 1", "IP 2", "IP 3"]
    assert [int(r["total"]) for r in last_day] == [333_334, 333_334, 333_333]
    for row in rows:
        assert sum(int(row[k]) for k in ("gmail", "microsoft", "yahoo", "others")) == int(row["total"])


# --- access --------------------------------------------------------------------------


def plan_urls(plan_id: int) -> list[str]:
    return [f"/planner/{plan_id}", f"/planner/{plan_id}/plan.csv", f"/planner/{plan_id}/per-ip.csv", f"/planner?from={plan_id}"]


def test_anonymous_is_sent_to_login(client):
    for url in ["/planner", "/planner/1", "/planner/1/plan.csv"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_globex_cannot_see_acmes_plans(world, make_client):
    plan_id = make_plan(make_client(world.ana), name="Acme secret plan")
    bo = make_client(world.bo)
    for url in plan_urls(plan_id):
        assert bo.get(url).status_code == 404, url
        assert bo.htmx("get", url).status_code == 404, url
    assert bo.post(f"/planner/{plan_id}/delete").status_code == 404
    assert "Acme secret plan" not in bo.get("/planner").text
    assert db.session.get(WarmupPlan, plan_id) is not None
    assert bo.get("/planner/999999").status_code == 404


def test_the_tam_and_staff_see_the_accounts_plans(world, make, make_client):
    plan_id = make_plan(make_client(world.ana), name="Acme migration")
    for person in (world.tam, world.agent, world.admin):
        staff = make_client(person)
        assert staff.get(f"/planner/{plan_id}").status_code == 200
        assert "Acme migration" in staff.get("/planner").text
        assert staff.get(f"/planner/{plan_id}/plan.csv").status_code == 200
    other_tam = make.user("tam", name="Other TAM")
    db.session.commit()
    assert make_client(other_tam).get(f"/planner/{plan_id}").status_code == 404


def test_a_tam_plans_only_for_their_own_accounts(world, make_client):
    tam = make_client(world.tam)
    page = tam.get("/planner").text
    assert "Acme Mail" in page and "Globex Retail" not in page
    response = tam.post("/planner", data=good(account_id=str(world.acme.id)))
    assert response.status_code == 303
    assert db.session.scalar(select(WarmupPlan.account_id)) == world.acme.id
    refused = tam.post("/planner", data=good(account_id=str(world.globex.id)))
    assert refused.status_code == 422
    assert db.session.scalar(select(func.count(WarmupPlan.id))) == 1


def test_customer_removes_a_plan(world, make_client):
    ana = make_client(world.ana)
    plan_id = make_plan(ana)
    response = ana.post(f"/planner/{plan_id}/delete")
    assert response.status_code == 303
    assert db.session.get(WarmupPlan, plan_id) is None
    assert "Removed the plan" in ana.get("/planner").text


def test_removal_needs_the_csrf_token(world, make_client):
    ana = make_client(world.ana)
    plan_id = make_plan(ana)
    assert ana.post(f"/planner/{plan_id}/delete", csrf=False).status_code == 400
    assert db.session.get(WarmupPlan, plan_id) is not None


def test_start_from_a_plan_prefills_the_form(world, make_client):
    ana = make_client(world.ana)
    plan_id = make_plan(ana, volume="4,000,000", ips="4", current_volume="2,000,000")
    page = ana.get(f"/planner?from={plan_id}").text
    assert re.search(r'name="volume"[^>]*value="4,000,000"', page)
    assert re.search(r'name="current_volume"[^>]*value="2,000,000"', page)
    assert re.search(r'name="microsoft"[^>]*value="33.3"', page)


def test_a_saved_plan_whose_start_has_passed_still_renders(world, make_client):
    ana = make_client(world.ana)
    plan_id = make_plan(ana)
    saved = db.session.get(WarmupPlan, plan_id)
    saved.inputs = {**saved.inputs, "start": "2020-01-01"}
    db.session.commit()
    assert ana.get(f"/planner/{plan_id}").status_code == 200
    page = ana.get(f"/planner?from={plan_id}").text  # the copy starts today, not in 2020
    start = re.search(r'name="start"[^>]*value="([^"]+)"', page).group(1)
    assert date.fromisoformat(start) >= date.today() - timedelta(days=1)
