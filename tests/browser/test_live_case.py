"""A customer and an agent work one case in two browsers; the customer's page
follows along live, without a reload. Then the main pages, photographed at
desktop and phone width for a person to look at."""

from __future__ import annotations

import os
import re
from datetime import timedelta

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("PORTAL_REQUIRE_BROWSER") == "1":
        raise
    pytest.skip("the playwright package is not installed", allow_module_level=True)

from portal.accounts.models import Role
from portal.cases import services
from portal.cases.models import Kind
from portal.cases.queries import timeline
from portal.extensions import db
from portal.kb.models import Article, Category
from portal.timeutil import utcnow
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

LIVE = 5_000  # ms: the page polls every second, so a few seconds is plenty


def sign_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("Email", exact=True).fill(user.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def mark(page) -> None:
    """Leave a marker in the window: it survives htmx swaps, not a navigation."""
    page.evaluate("window.__marker = 1")


def assert_not_reloaded(page) -> None:
    assert page.evaluate("window.__marker") == 1, "the page navigated or reloaded"


def assert_unique_entries(page) -> None:
    ids = page.locator("#case-timeline > li").evaluate_all("els => els.map(e => e.id)")
    assert len(ids) == len(set(ids)), f"timeline entries shown twice: {ids}"


def test_customer_follows_agent_live_to_resolution(world, new_page, problems, screenshot):
    customer = new_page("customer")
    sign_in(customer, world.ana)
    expect(customer.get_by_role("heading", name="Your open cases")).to_be_visible()

    # Choosing the kind swaps its form in; the page stays.
    customer.goto("/cases/new")
    mark(customer)
    customer.get_by_role("link", name=re.compile("Bug report")).click()
    form = customer.locator("#case-form form")
    expect(form.get_by_role("heading", name="Bug report")).to_be_visible()
    expect(customer).to_have_url(re.compile(r"/cases/new\?kind=bug$"))
    assert_not_reloaded(customer)

    # An empty submission comes back with the errors beside the fields.
    with problems.allowing("status of 422"):
        form.get_by_role("button", name="Open the case").click()
        expect(customer.locator("#case-form .error").first).to_be_visible()
    assert_not_reloaded(customer)
    expect(customer.locator("#case-form .has-error")).to_have_count(2)
    screenshot(customer, "new-case-errors")

    form = customer.locator("#case-form form")
    form.get_by_label("Subject").fill("Webhook batches arrive twice")
    form.get_by_label("Description").fill("Since Monday every webhook batch reaches us twice.")
    form.get_by_role("button", name="Open the case").click()
    customer.wait_for_url(re.compile(r"/cases/CS-\d+$"))
    reference = customer.url.rsplit("/", 1)[1]
    expect(customer.get_by_role("heading", level=1)).to_have_text("Webhook batches arrive twice")
    expect(customer.locator("#case-summary .badge", has_text="New")).to_be_visible()
    mark(customer)

    agent = new_page("agent")
    sign_in(agent, world.agent)
    agent.goto("/desk")
    agent.get_by_role("link", name=re.compile(reference)).click()
    agent.wait_for_url(re.compile(rf"/desk/cases/{reference}$"))

    reply = "Thanks, we can see the duplicates and are looking into it."
    agent.locator("#reply-form textarea[name=body]").fill(reply)
    agent.locator("#reply-form").get_by_role("button", name="Send reply").click()
    expect(agent.locator("#case-timeline")).to_contain_text(reply, timeout=LIVE)

    expect(customer.locator("#case-timeline")).to_contain_text(reply, timeout=LIVE)
    expect(customer.locator("#case-summary .badge", has_text="In progress")).to_be_visible(
        timeout=LIVE
    )
    assert_not_reloaded(customer)

    agent.get_by_text("Propose a resolution").click()
    agent.locator("#case-actions textarea[name=summary]").fill(
        "Fixed: a retry loop re-sent acknowledged batches. Deployed at 14:10."
    )
    agent.locator("#case-actions").get_by_role("button", name="Propose").click()
    expect(agent.locator("#case-summary .badge", has_text="Resolution proposed")).to_be_visible(
        timeout=LIVE
    )

    accept = customer.get_by_role("button", name="Accept the resolution")
    expect(accept).to_be_visible(timeout=LIVE)
    expect(customer.locator("#case-timeline")).to_contain_text("retry loop", timeout=LIVE)
    assert_not_reloaded(customer)
    assert_unique_entries(customer)
    screenshot(customer, "case-customer-proposal")

    accept.click()
    for page in (customer, agent):
        expect(page.locator("#case-summary .badge", has_text="Resolved")).to_be_visible(
            timeout=LIVE
        )
        expect(page.locator("#case-timeline")).to_contain_text("Resolution accepted", timeout=LIVE)
        expect(page.get_by_role("button", name="Accept the resolution")).to_have_count(0)
        # Actions no longer allowed leave both pages without a reload.
        expect(page.locator("#reply-form textarea")).to_have_count(0, timeout=LIVE)
    expect(agent.get_by_role("button", name="Take it")).to_have_count(0, timeout=LIVE)
    assert_not_reloaded(customer)
    assert_unique_entries(customer)
    assert_unique_entries(agent)
    screenshot(customer, "case-customer-resolved")
    screenshot(agent, "case-agent-resolved")

    assert problems.items == []


def _guides() -> None:
    category = Category(slug="deliverability", name="Deliverability")
    db.session.add(category)
    for slug, title in [
        ("warm-up", "Warming up a new dedicated IP"),
        ("gmail-421", "Gmail 421 4.7.28: what the deferral means and what to do"),
        ("spf-dkim", "SPF, DKIM and DMARC for your sending domain"),
    ]:
        db.session.add(
            Article(
                slug=slug,
                title=title,
                body_md="Text.",
                body_html="<p>Text.</p>",
                category=category,
                published=True,
            )
        )


def _long_case(world, make):
    """A bug report that went back and forth: 50 entries the customer sees."""
    ana, agent = world.ana, world.agent
    case = make.case(
        ana,
        Kind.BUG,
        "Bounce webhooks missing for Yahoo deferrals since the 4 March deploy",
        "Since the deploy on 4 March we no longer receive `bounce` webhooks for messages "
        "deferred by Yahoo. Example message id: "
        "`<20240304.1f9a8c7e3b2d4e5f6a7b8c9d0e1f2a3b@mail.acme.example>`.",
        channel="api",
        request_ids="req_8Hc2kQ9xZ3, req_Jd81nB02Lm, req_Qp0sV7yT5w",
        steps="1. Send to a Yahoo seed address\n2. Wait for the deferral\n3. No webhook arrives",
    )
    services.take(case, agent)
    services.add_internal_note(case, agent, "Looks like the new event router drops `deferred`.")
    for n in range(1, 40):
        if len(timeline(case, ana)) >= 50:
            break
        if n % 5 == 0:
            services.request_information(
                case, agent, f"Could you send the raw headers of message {n}?"
            )
            services.reply(
                case,
                ana,
                f"Headers of message {n} attached.",
                [services.NewFile(f"headers-{n}.eml", "message/rfc822", b"Received: from ...\r\n")],
            )
        else:
            services.reply(
                case,
                agent,
                f"Update {n}: we replayed the events of batch {n} through the router.\n\n"
                "```\nPOST /v1/webhooks/bounce 202 Accepted  x-request-id: req_"
                + "a1b2" * 10
                + "\n```",
            )
            services.reply(
                case, ana, f"Thanks. Batch {n} is still missing three deferrals on our side."
            )
    db.session.commit()
    assert len(timeline(case, ana)) >= 50
    return case


def _queue(world, make) -> None:
    """Cases in every open state, across accounts, for the home page and the queue."""
    initech = make.account("Initech Systems", tam=world.tam, timezone="America/New_York")
    peter = make.user(Role.CUSTOMER, initech, name="Peter Initech", email="peter@initech.example")
    critical = make.case(
        world.ana,
        Kind.CRITICAL,
        "SMTP injections rejected with 451 on all relays",
        "Every injection since 09:40 fails with 451 4.3.0.",
        channel="smtp",
        since=(utcnow() - timedelta(minutes=35)).isoformat(timespec="minutes"),
        errors="451 4.3.0 Temporary server error",
        contact_phone="+31 20 555 0199",
    )
    services.take(critical, world.agent)
    make.case(
        world.ana,
        Kind.CONFIGURATION,
        "Add tracking domain click.acme.example",
        "Please add the CNAME we set up yesterday.",
        area="sending_domain",
        change="Tracking domain click.acme.example",
    )
    waiting = make.case(
        peter,
        Kind.INFORMATION,
        "Daily sending limit for our new sub-account",
        "What is the limit for the marketing sub-account?",
        topic="billing",
    )
    services.request_information(waiting, world.tam, "Which sub-account id do you mean?")
    proposed = make.case(
        peter,
        Kind.BUG,
        "Suppression export CSV has a header row twice",
        "The export has the header on line 1 and line 2.",
        channel="portal",
    )
    services.propose_resolution(proposed, world.agent, "Fixed in the export service.")
    db.session.commit()


def test_pages_as_people_see_them(world, make, new_page, problems, screenshot):
    _guides()
    _queue(world, make)
    long_case = _long_case(world, make)
    reference = long_case.reference
    db.session.commit()

    customer = new_page("customer")
    sign_in(customer, world.ana)
    expect(customer.get_by_role("heading", name="Your Technical Account Manager")).to_be_visible()
    expect(customer.get_by_text("Tess TAM")).to_be_visible()
    screenshot(customer, "home-customer")

    customer.goto(f"/cases/{reference}")
    expect(customer.locator("#case-timeline > li")).to_have_count(
        len(timeline(long_case, world.ana))
    )
    screenshot(customer, "case-long-customer")
    # The side panel's values keep a readable width beside long labels ("Acme Mail",
    # not "Acm / e / Mail" a few letters a line).
    narrowest = customer.evaluate(
        "Math.min(...[...document.querySelectorAll('.case-side dd')].map(d => d.offsetWidth))"
    )
    panel = customer.evaluate("document.querySelector('.case-side dl').offsetWidth")
    assert narrowest >= panel * 0.5, (narrowest, panel)

    customer.goto("/cases")
    screenshot(customer, "cases-customer")

    empty = new_page("empty account")
    sign_in(empty, world.bo)
    expect(empty.get_by_text("No open cases")).to_be_visible()
    screenshot(empty, "home-empty-account")

    agent = new_page("agent")
    sign_in(agent, world.agent)
    expect(agent).to_have_url(re.compile(r"/desk$"))
    expect(agent.locator("table.queue tbody tr")).to_have_count(5)
    screenshot(agent, "desk-queue")

    agent.goto(f"/desk/cases/{reference}")
    expect(agent.locator("#case-timeline .internal")).to_have_count(1)
    screenshot(agent, "case-long-agent")

    assert problems.items == []
