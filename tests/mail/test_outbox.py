"""The outbox against a real SMTP server on loopback: outages, retries with
back-off, two workers, a crash between send and record, and header injection
(asserted on the raw DATA the server received)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.cases import services
from portal.cases.models import CaseEvent, EventKind
from portal.extensions import db
from portal.mail import outbox
from portal.mail.models import OutboundMessage
from portal.timeutil import utcnow

MINUTE = timedelta(minutes=1)


def all_rows() -> list[OutboundMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))


def queue(n: int, case=None, to="ana@acme.example", **kw) -> list[OutboundMessage]:
    made = [
        outbox.queue_message(
            to=to, subject=f"Message {i}", body_text=f"Body {i}", case=case, automatic=False, **kw
        )
        for i in range(n)
    ]
    db.session.commit()
    return made


def test_a_hundred_replies_wait_out_an_outage_and_arrive_once(app, world, make, make_client, smtp_server):
    case = make.case(world.ana)
    agent = make_client(world.agent)
    smtp_server.stop()

    statuses = [
        agent.post(f"/cases/{case.reference}/replies", data={"body": f"Update {i}"}).status_code
        for i in range(100)
    ]
    assert statuses == [303] * 100  # every request answered; none waited on SMTP
    assert agent.get(f"/desk/cases/{case.reference}").status_code == 200
    waiting = all_rows()
    assert len(waiting) == 100 and {r.status for r in waiting} == {"pending"}
    assert {r.to_address for r in waiting} == {"ana@acme.example"}

    now = utcnow()
    down = outbox.send_due(now=now)  # round 1: the server is down
    assert down.sent == [] and len(down.retrying) == 100
    rows = all_rows()
    assert {r.attempts for r in rows} == {1} and {r.status for r in rows} == {"pending"}
    assert all("refused" in r.last_error.lower() for r in rows), rows[0].last_error
    assert {r.next_attempt_at for r in rows} == {now + MINUTE}
    assert outbox.send_due(now=now + MINUTE / 2).sent == []  # not due yet: nothing tried

    smtp_server.start()
    up = outbox.send_due(now=now + MINUTE)  # round 2
    assert len(up.sent) == 100
    counted = smtp_server.message_ids()
    assert len(counted) == 100 and set(counted.values()) == {1}  # all arrived, none twice
    assert set(counted) == {r.message_id for r in waiting}
    assert outbox.send_due(now=now + 10 * MINUTE).sent == []
    assert {r.status for r in all_rows()} == {"sent"}


def test_two_workers_never_send_the_same_message_twice(app, world, make, smtp_server):
    case = make.case(world.ana)
    queue(60, case)
    start = threading.Barrier(2)
    rounds = []

    def worker():
        with app.app_context():
            start.wait()
            rounds.append(outbox.send_due())
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sum(len(r.sent) for r in rounds) == 60
    counted = smtp_server.message_ids()
    assert len(counted) == 60 and set(counted.values()) == {1}


def test_retries_back_off_then_fail_and_staff_retry_starts_over(app, world, make, smtp_server):
    app.config.update(
        OUTBOX_MAX_ATTEMPTS=4, OUTBOX_RETRY_BASE_SECONDS=60, OUTBOX_RETRY_MAX_SECONDS=180
    )
    [row] = queue(1)
    smtp_server.stop()
    now = utcnow()
    waits = []
    for _ in range(3):
        assert outbox.send_due(now=now).retrying == [row.message_id]
        db.session.refresh(row)
        waits.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    assert waits == [MINUTE, 2 * MINUTE, 3 * MINUTE]  # doubling, capped at the maximum
    assert outbox.send_due(now=now).failed == [row.message_id]
    db.session.refresh(row)
    assert row.status == "failed" and row.attempts == 4 and row.last_error
    assert outbox.send_due(now=now + timedelta(days=1)).failed == []  # failed rows wait for staff

    smtp_server.start()
    outbox.retry(row, now)
    db.session.commit()
    assert outbox.send_due(now=now).sent == [row.message_id]
    db.session.refresh(row)
    assert row.status == "sent" and row.attempts == 1


def test_a_permanent_refusal_fails_at_once_without_stopping_the_rest(app, smtp_server):
    smtp_server.refuse.add("gone@acme.example")
    [bad] = queue(1, to="gone@acme.example")
    good = queue(2)
    done = outbox.send_due()
    assert done.failed == [bad.message_id]
    assert sorted(done.sent) == sorted(r.message_id for r in good)
    db.session.refresh(bad)
    assert bad.status == "failed" and bad.attempts == 1
    assert "550" in bad.last_error and "No such user" in bad.last_error


def test_a_crash_after_claiming_resends_with_the_same_message_id(app, world, make, smtp_server):
    """The worker died between sending and recording: the row stays pending under
    its lease, and once the lease ends it goes out again with the same Message-ID,
    so the recipient's client (and our inbound side) sees one message."""
    [row] = queue(1)
    now = utcnow()
    assert outbox._claim(row.id, 0, now)
    connection = outbox._open(app.extensions["mail"])
    connection.send(outbox.build_message(db.session.get(OutboundMessage, row.id)))
    outbox._drop(connection)
    # ...and the worker is gone before _record.
    lease = timedelta(seconds=app.config["OUTBOX_LEASE_SECONDS"])
    assert outbox.send_due(now=now + lease - MINUTE).sent == []  # still someone else's
    assert outbox.send_due(now=now + lease).sent == [row.message_id]
    assert [d.message["Message-ID"] for d in smtp_server.received] == [row.message_id] * 2


def test_sent_mail_shows_on_the_staff_timeline_only(app, world, make, make_client, smtp_server):
    case = make.case(world.ana)
    services.reply(case, world.agent, "Answer")
    db.session.commit()
    outbox.send_due()
    [line] = db.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.MAIL_SENT)
    ).all()
    assert line.internal and line.author_id is None
    assert line.data["to"] == ["ana@acme.example"]
    staff_page = make_client(world.agent).get(f"/desk/cases/{case.reference}").text
    assert "Mail sent to <strong>ana@acme.example</strong>" in staff_page
    customer_page = make_client(world.ana).get(f"/cases/{case.reference}").text
    assert "Mail sent" not in customer_page
    assert outbox.send_due().sent == []
    assert (
        db.session.scalar(
            select(func.count(CaseEvent.id)).where(CaseEvent.kind == EventKind.MAIL_SENT)
        )
        == 1
    )


# Header injection ------------------------------------------------------------

INJECTED = b"Bcc: evil@attacker.example"


def header_lines(delivery) -> list[bytes]:
    return delivery.header_block.split(b"\r\n")


def test_cr_lf_in_a_case_subject_never_becomes_a_header(app, world, make, smtp_server):
    case = make.case(world.ana, subject="Help\r\nBcc: evil@attacker.example\nX-Evil: 1")
    services.reply(case, world.agent, "Answer")
    db.session.commit()
    assert len(outbox.send_due().sent) == 1
    [delivery] = smtp_server.received
    assert delivery.rcpt_tos == ["ana@acme.example"]
    lines = header_lines(delivery)
    assert not any(line.startswith((b"Bcc:", b"X-Evil:")) for line in lines)
    assert (
        delivery.message["Subject"]
        == f"[{case.reference}] Help Bcc: evil@attacker.example X-Evil: 1"
    )


def test_cr_lf_in_a_name_never_becomes_a_header(app, world, make, smtp_server):
    world.agent.name = "Aidan\r\nBcc: evil@attacker.example"
    world.ana.name = "Ana\nX-Evil: 1"
    db.session.commit()
    case = make.case(world.ana)
    services.reply(case, world.agent, "Answer")
    db.session.commit()
    outbox.send_due()
    [delivery] = smtp_server.received
    assert delivery.rcpt_tos == ["ana@acme.example"]
    assert not any(line.startswith((b"Bcc:", b"X-Evil:")) for line in header_lines(delivery))


def test_cr_lf_in_an_address_is_refused_and_shown_to_staff(app, world, make, smtp_server):
    world.ana.email = "ana@acme.example\r\nBcc: evil@attacker.example"
    db.session.commit()
    case = make.case(world.ana)
    services.reply(case, world.agent, "Answer")
    db.session.commit()
    done = outbox.send_due()
    assert len(done.failed) == 1 and done.sent == []
    assert smtp_server.received == []
    [row] = all_rows()
    assert row.status == "failed" and "CR or LF" in row.last_error


@pytest.mark.parametrize(
    "column, value",
    [
        ("subject", "Hello\r\nBcc: evil@attacker.example"),
        ("subject", "Hello\nBcc: evil@attacker.example"),
        ("to_address", "ana@acme.example\nBcc: evil@attacker.example"),
        ("in_reply_to", "<a@b>\r\nBcc: evil@attacker.example"),
        ("references", "<a@b>\nBcc: evil@attacker.example"),
        ("message_id", "<a@b>\r\nBcc: evil@attacker.example"),
    ],
)
def test_a_row_written_around_the_composer_still_cannot_inject(app, smtp_server, column, value):
    """Rows written by other code (or edited in the database) go through the same checks."""
    [row] = queue(1)
    setattr(row, column, value)
    db.session.commit()
    done = outbox.send_due()
    assert done.failed == [row.message_id]
    assert smtp_server.received == []
    for delivery in smtp_server.received:
        assert INJECTED not in delivery.header_block
