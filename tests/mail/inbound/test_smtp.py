"""The receiver over real SMTP on loopback: aiosmtpd in the test, smtplib to send."""

from __future__ import annotations

import smtplib
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from portal.cases.models import CaseEvent, EventKind
from portal.extensions import db
from portal.mail import inbound
from portal.mail.inbound_cli import make_controller
from portal.mail.models import InboundMessage
from tests.mail.inbound.test_nul import NEW_CASE_WITH_NUL
from tests.smtp_support import free_port


@pytest.fixture
def receiver(app, mailworld):
    controller = make_controller(app, "127.0.0.1", free_port())
    controller.start()
    db.session.commit()  # the receiver's threads must see the world
    yield controller
    controller.stop()


def send(
    controller, raw: bytes, mail_from: str = "ana@acme.example", to: str = "support@support.example"
):
    with smtplib.SMTP(controller.hostname, controller.port, timeout=30) as client:
        return client.sendmail(mail_from, [to], raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def stored(**where) -> list[InboundMessage]:
    db.session.rollback()  # a fresh snapshot: the receiver wrote from other threads
    query = select(InboundMessage).filter_by(**where).order_by(InboundMessage.id)
    return list(db.session.scalars(query))


def test_mail_over_smtp_is_stored_raw_then_processed(mailworld, receiver):
    send(receiver, mailworld.corpus("gmail_reply.eml"))
    send(receiver, mailworld.corpus("new_case_plain.eml"))
    send(receiver, mailworld.corpus("unknown_sender_new.eml"), mail_from="sam@prospect.example")

    _fixture_row, reply, new, unknown = stored()
    assert reply.status == inbound.PROCESSED and reply.case_id == mailworld.case.id
    assert new.status == inbound.PROCESSED and new.case_id not in (None, mailworld.case.id)
    assert unknown.status == inbound.QUARANTINED
    assert unknown.reason.startswith(inbound.UNKNOWN_SENDER)
    # The envelope sender is recorded as a final delivery agent records it.
    assert unknown.raw.startswith(b"Return-Path: <sam@prospect.example>\r\n")


def test_a_bounce_is_told_by_its_null_envelope_sender(mailworld, receiver):
    raw = mailworld.corpus("bounce_null_sender.eml").split(b"\n", 1)[1]  # no Return-Path header
    assert b"Return-Path" not in raw
    send(receiver, raw, mail_from="")
    (bounce,) = stored(sender="mailer-daemon@mx.oldisp.example")
    assert bounce.status == inbound.QUARANTINED
    assert bounce.reason.startswith(inbound.mp.DELIVERY_REPORT)


def test_the_same_message_sent_twice_is_stored_once(mailworld, receiver):
    raw = mailworld.corpus("gmail_reply.eml")
    send(receiver, raw)
    send(receiver, raw)
    assert len(stored(sender="ana@acme.example")) == 2  # the fixture's own, and this one
    comments = db.session.scalar(
        select(func.count(CaseEvent.id)).where(CaseEvent.kind == EventKind.COMMENT)
    )
    assert comments == 1


def test_twenty_replies_at_once_all_land(mailworld, receiver):
    reference = mailworld.case.reference

    def reply(i: int):
        raw = (
            f"From: Ana Acme <ana@acme.example>\r\nTo: support@support.example\r\n"
            f"Subject: Re: [{reference}] update {i}\r\n"
            f"Message-ID: <burst-{i}@acme.example>\r\n"
            f"In-Reply-To: <a7c3e5f1b9d24e6c8a0f2b4d6e8c1a3f@support.example>\r\n\r\n"
            f"Update number {i}.\r\n"
        ).encode()
        return send(receiver, raw)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(reply, range(20))) == [{}] * 20
    burst = [m for m in stored(status=inbound.PROCESSED) if m.message_id.startswith("<burst-")]
    assert len(burst) == 20
    assert {m.case_id for m in burst} == {mailworld.case.id}


def test_only_the_support_address_is_accepted(mailworld, receiver):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(receiver, mailworld.corpus("new_case_plain.eml"), to="someone@support.example")
    assert refused.value.recipients["someone@support.example"][0] == 550
    assert stored(sender="ana@acme.example") == stored(sender="ana@acme.example")[:1]


def test_when_storing_fails_the_sender_is_told_to_try_again(mailworld, receiver, monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(inbound, "store", database_down)
    with pytest.raises(smtplib.SMTPDataError) as error:
        send(receiver, mailworld.corpus("new_case_plain.eml"))
    assert error.value.smtp_code == 451


def test_nul_in_a_message_is_no_reason_to_refuse_it(mailworld, receiver):
    send(receiver, NEW_CASE_WITH_NUL)
    new = stored()[-1]
    assert new.status == inbound.PROCESSED, new.reason
    assert new.subject == "Blockedby Gmail"
