"""Who hears what, and what arrives: notifications written with their event, sent
through a real SMTP server on loopback and read back from the raw DATA."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import Role
from portal.cases import services
from portal.cases.models import Kind
from portal.extensions import db
from portal.mail import outbox
from portal.mail.models import OutboundMessage
from portal.mail.notify import muted
from portal.timeutil import utcnow


def rows(**filters) -> list[OutboundMessage]:
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for name, value in filters.items():
        query = query.where(getattr(OutboundMessage, name) == value)
    return list(db.session.scalars(query))


def recipients() -> list[str]:
    return [r.to_address for r in rows()]


def send(now=None):
    db.session.commit()
    return outbox.send_due(now=now)


@pytest.fixture
def case(world, make):
    """Ana's case, owned by the agent; creating it mails nobody (it is not critical)."""
    case = make.case(world.ana)
    services.assign(case, world.admin, world.agent)
    db.session.commit()
    db.session.execute(OutboundMessage.__table__.delete())
    db.session.commit()
    return case


def test_an_agent_reply_reaches_the_requester_with_thread_and_reply_to(app, world, case, smtp_server):
    services.reply(case, world.agent, "We found the **duplicate** webhook.")
    db.session.commit()
    [row] = rows()
    assert row.to_address == "ana@acme.example" and row.recipient_id == world.ana.id
    assert row.case_id == case.id and row.status == "pending"
    assert row.message_id.startswith("<") and row.message_id.endswith("@support.example>")

    assert outbox.send_due().sent == [row.message_id]
    [delivery] = smtp_server.received
    message = delivery.message
    assert delivery.rcpt_tos == ["ana@acme.example"]
    assert message["Subject"] == f"[{case.reference}] Webhook batches arrive twice"
    assert message["Message-ID"] == row.message_id
    assert message["Reply-To"] == "support@support.example"
    assert message["From"] == "Support <support@support.example>"
    assert message["Auto-Submitted"] == "auto-generated"
    text = delivery.text
    assert "Aidan Agent (Support) replied" in text
    assert "We found the **duplicate** webhook." in text
    assert f"http://localhost/cases/{case.reference}" in text
    assert "<strong>duplicate</strong>" in delivery.html
    db.session.refresh(row)
    assert row.status == "sent" and row.sent_at is not None and row.attempts == 1


def test_a_case_threads_in_the_mail_client(app, world, case, smtp_server):
    for text in ("First answer", "Second answer", "Third answer"):
        services.reply(case, world.agent, text)
        db.session.commit()
    services.reply(case, world.ana, "Thanks, still broken")
    db.session.commit()
    send()
    first, second, third = (d.message for d in smtp_server.to("ana@acme.example"))
    root = first["Message-ID"]
    assert first["In-Reply-To"] is None and first["References"] is None
    assert second["In-Reply-To"] == root and second["References"] == root
    assert third["In-Reply-To"] == second["Message-ID"]
    assert third["References"].split() == [root, second["Message-ID"]]
    # Staff mail of the same case hangs off the same root.
    to_agent = smtp_server.to("agent@support.example")[0].message
    assert to_agent["In-Reply-To"] == root and to_agent["References"] == root
    assert len({d.message["Subject"] for d in smtp_server.received}) == 1


def test_html_bodies_are_escaped_and_sanitised(app, world, case, smtp_server):
    services.reply(case, world.agent, "See <script>alert(1)</script> and [x](javascript:alert(1))")
    send()
    html = smtp_server.received[0].html
    assert "<script>" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html


def test_customer_reply_goes_to_assignee_and_tam_never_to_the_author(app, world, case):
    services.reply(case, world.ana, "Here are the logs.")
    db.session.commit()
    assert sorted(recipients()) == ["agent@support.example", "tam@support.example"]


def test_internal_notes_never_mail_anyone(app, world, case):
    services.add_internal_note(case, world.agent, "Customer is on the old relay.")
    db.session.commit()
    assert rows() == []


def test_one_action_is_one_mail_even_when_it_moves_the_status(app, world, make):
    case = make.case(world.ana)
    services.request_information(case, world.agent, "Which IP sends these?")
    db.session.commit()
    [row] = rows()
    assert row.to_address == "ana@acme.example"
    assert "needs more information" in row.body_text
    assert row.automatic is False  # relays what the agent wrote


def test_status_change_alone_is_mailed_and_automatic(app, world, make, case):
    services._set_status(case, "in_progress", world.agent)
    db.session.commit()
    [row] = rows()
    assert row.to_address == "ana@acme.example"
    assert "changed from New to In progress" in row.body_text
    assert row.automatic is True


def test_a_new_critical_case_alerts_on_duty_agents_and_the_tam_at_once(app, world, make):
    on_duty = make.user(Role.AGENT, name="Night Shift", email="night@support.example", on_duty=True)
    make.user(Role.AGENT, name="Off Duty", email="off@support.example", on_duty=False)
    db.session.commit()
    case = make.case(world.ana, Kind.CRITICAL, subject="Nothing is delivered")
    assert sorted(recipients()) == [on_duty.email, "tam@support.example"]
    assert all("CRITICAL (Severity 1)" in r.body_text for r in rows())
    assert all(r.case_id == case.id for r in rows())


def test_resolution_proposed_accepted_and_disputed_reach_the_other_side(app, world, case):
    services.propose_resolution(case, world.agent, "Deduplicate on the batch id.")
    db.session.commit()
    assert recipients() == ["ana@acme.example"]
    services.dispute_resolution(case, world.ana, "Still twice on Tuesdays.")
    db.session.commit()
    disputed = rows()[1:]
    assert sorted(r.to_address for r in disputed) == [
        "agent@support.example",
        "tam@support.example",
    ]
    assert all(
        "disputed the proposed resolution" in r.body_text and "Tuesdays" in r.body_text
        for r in disputed
    )

    services.propose_resolution(case, world.ana, "Works now, close it.")
    db.session.commit()
    proposed = rows()[3:]
    assert sorted(r.to_address for r in proposed) == [
        "agent@support.example",
        "tam@support.example",
    ]
    services.accept_resolution(case, world.agent)
    db.session.commit()
    [accepted] = rows()[5:]
    assert accepted.to_address == "ana@acme.example"
    assert "accepted the proposed resolution" in accepted.body_text


def test_assignment_by_someone_else_is_mailed_taking_it_is_not(app, world, make):
    case = make.case(world.ana)
    services.take(case, world.agent)
    db.session.commit()
    assert rows() == []
    services.assign(case, world.agent, world.admin)
    db.session.commit()
    assert recipients() == ["admin@support.example"]


def test_colleagues_who_wrote_or_follow_the_account_hear_support(app, world, make, case):
    writer = make.user(Role.CUSTOMER, world.acme, email="writer@acme.example")
    follower = make.user(Role.CUSTOMER, world.acme, email="follower@acme.example")
    make.user(Role.CUSTOMER, world.acme, email="quiet@acme.example")
    make.user(
        Role.CUSTOMER,
        world.globex,
        email="other@globex.example",
        notification_prefs={"follow_account": True},
    )
    follower.notification_prefs = {"follow_account": True}
    db.session.commit()
    services.reply(case, writer, "Same here.")
    db.session.commit()
    db.session.execute(OutboundMessage.__table__.delete())
    services.reply(case, world.agent, "Fixed for both of you.")
    db.session.commit()
    assert sorted(recipients()) == [
        "ana@acme.example",
        "follower@acme.example",
        "writer@acme.example",
    ]


def test_preferences_are_respected(app, world, case):
    world.ana.notification_prefs = {"agent_reply": False}
    world.tam.notification_prefs = {"customer_reply": False}
    db.session.commit()
    services.reply(case, world.agent, "An answer Ana chose not to get by mail")
    services.reply(case, world.ana, "A reply the TAM chose not to get")
    db.session.commit()
    assert recipients() == ["agent@support.example"]
    services.request_information(case, world.agent, "Still mailed: another topic")
    db.session.commit()
    assert recipients()[-1] == "ana@acme.example"


def test_inactive_users_and_the_portals_own_addresses_get_nothing(app, world, make, case):
    world.tam.active = False
    world.agent.email = "support@support.example"
    db.session.commit()
    services.reply(case, world.ana, "Anyone there?")
    db.session.commit()
    assert rows() == []


def test_muted_writes_no_mail(app, world, case):
    with muted():
        services.reply(case, world.agent, "Demo data")
    db.session.commit()
    assert rows() == []


def test_automatic_messages_are_limited_per_recipient_per_hour(app, world, case):
    app.config["MAIL_AUTOMATIC_PER_HOUR"] = 2
    now = utcnow()

    def automatic(at):
        return outbox.queue_message(
            to="ana@acme.example", subject="Status", body_text="x", case=case, now=at
        )

    first, second, third = (automatic(now + timedelta(minutes=i)) for i in range(3))
    assert [first.status, second.status, third.status] == ["pending", "pending", "suppressed"]
    assert "limit of 2 automatic messages" in third.last_error
    relayed = outbox.queue_message(
        to="ana@acme.example", subject="Reply", body_text="y", case=case, automatic=False, now=now
    )
    assert relayed.status == "pending"  # words a person wrote are never held back
    assert automatic(now + timedelta(minutes=61)).status == "pending"  # the first left the hour
    assert (
        outbox.queue_message(to="SUPPORT@support.example", subject="x", body_text="x", now=now)
        is None
    )
    # Suppressed rows are never sent.
    db.session.commit()
    assert third.message_id not in outbox.send_due(now=now + timedelta(minutes=62)).sent


def test_status_changes_count_against_the_limit_but_replies_do_not(app, world, case):
    app.config["MAIL_AUTOMATIC_PER_HOUR"] = 1
    for _ in range(2):
        services._set_status(case, "waiting_on_customer", world.agent)
        db.session.commit()
        services._set_status(case, "in_progress", world.agent)
        db.session.commit()
    services.reply(case, world.agent, "A real answer")
    db.session.commit()
    statuses = [(r.automatic, r.status) for r in rows()]
    assert statuses == [
        (True, "pending"),
        (True, "suppressed"),
        (True, "suppressed"),
        (True, "suppressed"),
        (False, "pending"),
    ]
