"""The demo data: loads twice without change, covers every kind and status with
timelines that read forward in time, shows a saved warm-up plan, a planning request
with the TAM and Tier 1 remediation, signs in, stays inside its accounts, and
publishes a knowledge base that renders safely."""

from __future__ import annotations

import ipaddress
from datetime import date, datetime, timedelta
from itertools import product

import pytest
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from portal.accounts.models import Account, User
from portal.cases.forms import RemediationForm
from portal.cases.models import Attachment, Case, CaseEvent, EventKind, Kind, Status
from portal.cases.remediation import parse_smtp_responses
from portal.cases.services import CUSTOMER_KINDS
from portal.demo.data import CATEGORIES, load_demo, parse_front_matter, read_articles
from portal.extensions import db
from portal.kb.models import Article, Category
from portal.planner.models import WarmupPlan
from portal.planner.services import plan_of
from portal.timeutil import utcnow

MODELS = (Account, User, Case, CaseEvent, Attachment, Category, Article, WarmupPlan)
FIRST_RESPONSES = {
    EventKind.COMMENT,
    EventKind.INFORMATION_REQUESTED,
    EventKind.RESOLUTION_PROPOSED,
    EventKind.CALLBACK_MADE,  # on a critical case the callback is support's first answer
    EventKind.UPDATE_POSTED,
}


def counts() -> dict[str, int]:
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in MODELS
    }


def snapshot() -> dict:
    """What a person would notice changing: the rows by their natural keys."""
    return {
        "counts": counts(),
        "cases": sorted(db.session.execute(
            select(Case.id, Case.subject, Case.status, Case.assignee_id, Case.last_activity_at)
        ).all()),
        "users": sorted(db.session.execute(
            select(User.email, User.role, User.account_id, User.password_hash)
        ).all()),
        "articles": sorted(db.session.execute(
            select(Article.slug, Article.title, Article.body_html, Article.updated_at)
        ).all()),
        "plans": sorted(
            (p.id, p.account_id, p.created_by_id, p.name, sorted(p.inputs.items(), key=str), p.created_at)
            for p in db.session.scalars(select(WarmupPlan))
        ),
        "details": sorted((c.id, sorted(c.details.items(), key=str)) for c in db.session.scalars(select(Case))),
    }


@pytest.fixture
def demo(app):
    load_demo()
    db.session.expire_all()


def cases_of(account_name: str) -> list[Case]:
    return list(
        db.session.scalars(select(Case).join(Account).where(Account.name == account_name))
    )


def test_loading_twice_through_the_cli_changes_nothing(runner):
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    after_first = snapshot()
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output

    assert snapshot() == after_first
    assert after_first["counts"]["Account"] == 2
    assert 18 <= after_first["counts"]["Case"] <= 25
    assert after_first["counts"]["Article"] >= 6
    assert after_first["counts"]["WarmupPlan"] == 1
    assert "cases (0 new)" in second.output and "1 warm-up plan (0 new)" in second.output
    for login in ("ana@acme.example", "bo@globex.example", "agent@support.example",
                  "tam@support.example", "admin@support.example"):
        assert login in second.output
    assert "password: demo" in second.output


def test_accounts_have_hours_and_the_tam(demo):
    tam = db.session.scalar(select(User).where(User.email == "tam@support.example"))
    acme = db.session.scalar(select(Account).where(Account.name == "Acme Mail"))
    globex = db.session.scalar(select(Account).where(Account.name == "Globex Retail"))

    assert (acme.timezone, globex.timezone) == ("Europe/Amsterdam", "Asia/Jakarta")
    assert acme.tam == tam and globex.tam == tam and tam.phone
    assert acme.business_hours["mon"] and globex.business_hours["fri"]
    ana = db.session.scalar(select(User).where(User.email == "ana@acme.example"))
    bo = db.session.scalar(select(User).where(User.email == "bo@globex.example"))
    assert (ana.name, ana.account, ana.timezone) == ("Ana Alvarez", acme, "Europe/Amsterdam")
    assert (bo.name, bo.account, bo.timezone) == ("Bo Hartono", globex, "Asia/Jakarta")
    assert len(acme.users) >= 2 and len(globex.users) >= 2


def test_every_customer_kind_appears_and_the_first_four_in_every_status(demo):
    seen = set(db.session.execute(select(Case.kind, Case.status)).all())
    assert {str(k) for k in CUSTOMER_KINDS} <= {kind for kind, _ in seen}
    played = [k for k in CUSTOMER_KINDS if k not in (Kind.REMEDIATION, Kind.PLANNING)]
    assert {(str(k), str(s)) for k, s in product(played, Status)} <= seen
    assert {("remediation", "in_progress"), ("remediation", "resolved"), ("planning", "in_progress")} <= seen


def acme_plan() -> WarmupPlan:
    return db.session.scalar(select(WarmupPlan))


def test_acmes_warm_up_plan_is_saved_by_ana_and_plans_a_migration(demo):
    saved = acme_plan()
    ana = db.session.scalar(select(User).where(User.email == "ana@acme.example"))
    assert saved.account_id == ana.account_id and ana.account.name == "Acme Mail"
    assert saved.created_by_id == ana.id and saved.created_at < utcnow()

    plan = plan_of(saved)
    assert (plan.inputs.volume, plan.inputs.ips, plan.inputs.current_volume) == (1_500_000, 3, 1_500_000)
    assert sum(plan.inputs.shares.values()) == 100
    # Starts on a Monday ahead, ramps to all traffic on day 17 (500,000 per IP).
    today = datetime.now(ana.account.zone).date()
    assert plan.inputs.start.weekday() == 0 and today < plan.inputs.start <= today + timedelta(days=14)
    assert plan.cutover_day.number == 17 and plan.last_day.per_ip == [500_000] * 3
    assert (plan.days[0].total, plan.days[0].old_provider) == (600, 1_499_400)
    assert plan.days[13].total == 750_000


def test_the_planning_request_refers_to_the_plan_and_belongs_to_the_tam(demo):
    tam = db.session.scalar(select(User).where(User.email == "tam@support.example"))
    case = db.session.scalar(select(Case).where(Case.kind == Kind.PLANNING))
    saved = acme_plan()

    assert case.account.name == "Acme Mail" and case.assignee == tam
    assert case.details["warmup_plan_id"] == saved.id
    assert case.details["warmup_plan"] == f"{saved.name} (plan {saved.id})"
    assert case.details["topic"] == "migration"
    assert date.fromisoformat(case.details["needed_by"]) > plan_of(saved).cutover_day.date
    events = list(db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)))
    # Assigned by the portal (portal.tam) as it opened, not by a person.
    assert events[1].kind == EventKind.ASSIGNED and events[1].author is None
    authors = {e.author.email for e in events if e.kind == EventKind.COMMENT}
    assert authors == {"tam@support.example", "ana@acme.example", "marek@acme.example"}


def remediation_cases() -> dict[str, Case]:
    cases = db.session.scalars(select(Case).where(Case.kind == Kind.REMEDIATION))
    return {case.details["provider"]: case for case in cases}


def test_globex_has_a_microsoft_block_in_progress_and_a_resolved_comcast_one(demo):
    cases = remediation_cases()
    microsoft, comcast = cases["microsoft"], cases["comcast"]
    assert {c.account.name for c in cases.values()} == {"Globex Retail"}

    assert microsoft.status == Status.IN_PROGRESS and microsoft.assignee.is_staff
    assert microsoft.details["smtp_codes"] == ["550 5.7.1 (S3140)"] * 2
    assert ipaddress.ip_network(microsoft.details["ips"]).prefixlen == 29
    last = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == microsoft.id, CaseEvent.internal.is_(False))
        .order_by(CaseEvent.id.desc())
    ).first()
    assert last.kind == EventKind.COMMENT and last.author.is_staff

    assert comcast.status == Status.RESOLVED and comcast.details["smtp_codes"] == ["554 5.7.1 (BL000000)"]
    accepted = db.session.scalar(
        select(CaseEvent).where(CaseEvent.case_id == comcast.id, CaseEvent.kind == EventKind.RESOLUTION_ACCEPTED)
    )
    assert accepted.author.is_customer


def test_remediation_details_are_what_the_form_stores(app, demo):
    """Each demo request, typed into the remediation form, passes its checks and is
    stored the same: the provider checklist answered, responses parsed. The one
    exception is on purpose: like the rest of the demo, the IPs are documentation
    addresses (RFC 5737), which the form refuses as not public."""
    for case in remediation_cases().values():
        typed = {k: str(v) for k, v in case.details.items() if k != "smtp_codes"}
        typed["first_seen"] = typed["first_seen"][:16]
        typed["last_seen"] = typed["last_seen"][:16]
        with app.test_request_context(method="POST"):
            form = RemediationForm(
                formdata=MultiDict({**typed, "subject": case.subject, "description": "x"}),
                meta={"csrf": False},
            )
            assert not form.validate()
            assert list(form.errors) == ["ips"], form.errors
            assert "private or reserved" in form.errors["ips"][0]
            form.ips.errors = []
            stored = form.details()
        assert {k: v for k, v in stored.items() if k != "ips"} == {
            k: v for k, v in case.details.items() if k != "ips"
        }
        parsed = parse_smtp_responses(case.details["smtp_responses"])
        assert case.details["smtp_codes"] == [r.summary for r in parsed]


@pytest.mark.parametrize(("email", "sees_plan"), [("ana@acme.example", True), ("bo@globex.example", False)])
def test_the_plan_and_its_case_are_seen_by_acme_only(demo, make_client, email, sees_plan):
    client = make_client()
    assert client.post("/login", data={"email": email, "password": "demo"}).status_code == 303
    saved = acme_plan()
    case = db.session.scalar(select(Case).where(Case.kind == Kind.PLANNING))
    assert (str(escape(saved.name)) in client.get("/planner").text) is sees_plan
    assert client.get(f"/planner/{saved.id}").status_code == (200 if sees_plan else 404)
    assert client.get(f"/cases/{case.reference}").status_code == (200 if sees_plan else 404)


def test_timelines_run_forward_in_the_past(demo):
    now = utcnow()
    for case in db.session.scalars(select(Case)):
        events = list(
            db.session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
        times = [e.created_at for e in events]
        assert times == sorted(times) and len(set(times)) == len(times), case.subject
        assert events[0].kind == EventKind.CREATED and times[0] == case.created_at
        assert times[-1] < now
        public = [e for e in events if not e.internal]
        # A step's events are a second apart; the clock holds the step's moment.
        assert timedelta(0) <= public[-1].created_at - case.last_activity_at < timedelta(seconds=5)
        responses = [
            e.created_at for e in events
            if e.author is not None and e.author.is_staff and e.kind in FIRST_RESPONSES
        ]
        assert case.first_response_at == (responses[0] if responses else None), case.subject
        if case.status == Status.RESOLVED:
            accepted = [e for e in events if e.kind == EventKind.RESOLUTION_ACCEPTED]
            assert case.resolved_at == accepted[0].created_at
        else:
            assert case.resolved_at is None
    for attachment in db.session.scalars(select(Attachment)):
        assert attachment.created_at == attachment.event.created_at


def test_cases_span_days_and_one_is_long_enough_for_screenshots(demo):
    oldest = db.session.scalar(select(func.min(Case.created_at)))
    assert utcnow() - oldest > timedelta(days=7)
    per_case = db.session.execute(
        select(CaseEvent.case_id, func.count()).group_by(CaseEvent.case_id)
    ).all()
    assert max(n for _, n in per_case) >= 45


@pytest.mark.parametrize(
    "email",
    ["ana@acme.example", "bo@globex.example", "agent@support.example",
     "tam@support.example", "admin@support.example"],
)
def test_demo_logins_use_the_password_demo(demo, make_client, email):
    client = make_client()
    response = client.post("/login", data={"email": email, "password": "demo"})
    assert response.status_code == 303, response.text
    wrong = make_client().post("/login", data={"email": email, "password": "not-demo"})
    assert wrong.status_code == 422


@pytest.mark.parametrize(
    ("email", "own", "other"),
    [("ana@acme.example", "Acme Mail", "Globex Retail"),
     ("bo@globex.example", "Globex Retail", "Acme Mail")],
)
def test_customers_see_only_their_accounts_cases(demo, client, email, own, other):
    assert client.post("/login", data={"email": email, "password": "demo"}).status_code == 303
    page = client.get("/cases?status=").text

    for case in cases_of(own):
        assert str(escape(case.subject)) in page
    foreign = cases_of(other)
    assert foreign
    for case in foreign:
        assert str(escape(case.subject)) not in page
    assert client.get(f"/cases/{foreign[0].reference}").status_code == 404


def test_internal_notes_stay_off_the_customers_case_page(demo, client):
    note = db.session.scalar(
        select(CaseEvent).where(CaseEvent.internal.is_(True)).join(Case).join(Account)
        .where(Account.name == "Acme Mail").limit(1)
    )
    case = db.session.get(Case, note.case_id)
    client.post("/login", data={"email": "ana@acme.example", "password": "demo"})
    page = client.get(f"/cases/{case.reference}")
    assert page.status_code == 200
    assert str(escape(case.subject)) in page.text
    assert str(escape(note.body.splitlines()[0])) not in page.text


def test_published_articles_render_without_raw_html(demo, client):
    articles = list(db.session.scalars(select(Article)))
    published = [a for a in articles if a.published]
    assert len(published) >= 6
    assert {c.slug for c in db.session.scalars(select(Category))} == {s for s, _, _ in CATEGORIES}
    for category in db.session.scalars(select(Category)):
        assert any(a.published for a in category.articles), category.slug

    for article in published:
        page = client.get(f"/kb/{article.slug}")
        assert page.status_code == 200, article.slug
        assert str(escape(article.title)) in page.text
        assert "<script" not in article.body_html.lower()
        assert "<h2>" in article.body_html
    drafts = [a for a in articles if not a.published]
    assert drafts and client.get(f"/kb/{drafts[0].slug}").status_code == 404
    warm_up = next(a for a in published if a.slug == "ip-warm-up-schedule")
    assert "<table>" in warm_up.body_html and "10,000,000" in warm_up.body_html


def test_loading_again_restores_articles_from_their_files(demo):
    article = db.session.scalar(select(Article).where(Article.slug == "one-click-unsubscribe"))
    article.body_md = "Edited in the database"
    article.body_html = "<p>Edited in the database</p>"
    article.title = "Edited"
    db.session.commit()

    summary = load_demo()

    db.session.refresh(article)
    assert article.title == "One-click unsubscribe (RFC 8058) in practice"
    assert "List-Unsubscribe-Post" in article.body_md
    assert "List-Unsubscribe-Post" in article.body_html
    assert "1 updated" in summary


def test_front_matter_is_parsed_and_checked():
    meta, body = parse_front_matter(
        "---\ntitle: Reading codes: a guide\npublished: true\n---\n\n# Body\n", "x.md"
    )
    assert meta == {"title": "Reading codes: a guide", "published": "true"}
    assert body == "# Body\n"
    with pytest.raises(ValueError, match="x.md"):
        parse_front_matter("---\ntitle: no end\n# Body\n", "x.md")
    with pytest.raises(ValueError, match="key: value"):
        parse_front_matter("---\njust words\n---\nBody\n", "x.md")
    with pytest.raises(ValueError):
        parse_front_matter("# No front matter\n", "x.md")


def test_every_content_file_has_a_title_summary_and_body():
    articles = read_articles()
    assert len({a["slug"] for a in articles}) == len(articles)
    for article in articles:
        assert article["title"] and article["summary"], article["slug"]
        if article["published"]:
            assert len(article["body_md"]) > 1000, article["slug"]


def test_demo_story_writes_no_mail(app, runner):
    from portal.mail.models import OutboundMessage

    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    assert db.session.scalar(select(func.count(OutboundMessage.id))) == 0


def test_critical_cases_play_the_hotline_path(demo):
    critical = db.session.scalars(select(Case).where(Case.kind == Kind.CRITICAL)).all()
    kinds = {
        case.id: {e.kind for e in db.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))}
        for case in critical
    }
    assert all(EventKind.HOTLINE_INTAKE in k for k in kinds.values())
    assert sum(EventKind.CALLBACK_MADE in k for k in kinds.values()) == len(critical) - 1
    newest = max(critical, key=lambda c: c.created_at)
    assert newest.callback_at is None and newest.callback_due_at is not None  # a live countdown


def test_demo_messages_unwrap_prose_and_keep_signatures_lists_and_code():
    from portal.demo.data import _md

    text = _md("""
        Hello Ana, thank you for the detailed report. I am Aidan and I will own
        this case from here.

        - a list item that is long enough to have been wrapped by the source at
          eighty columns
        - another

        ```
        421 4.7.28 [198.51.100.22] Gmail has detected an unusual rate of mail
        from this IP
        ```

        Thanks,
        Aidan
    """)
    assert text == (
        "Hello Ana, thank you for the detailed report. I am Aidan and I will own this case from here.\n\n"
        "- a list item that is long enough to have been wrapped by the source at eighty columns\n"
        "- another\n\n"
        "```\n421 4.7.28 [198.51.100.22] Gmail has detected an unusual rate of mail\nfrom this IP\n```\n\n"
        "Thanks,\nAidan"
    )
