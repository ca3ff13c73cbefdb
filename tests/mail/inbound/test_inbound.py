"""Storing and routing: duplicates (also racing), failures kept, the lifecycle moved
by mail, releasing and discarding, and what may be answered automatically."""

from __future__ import annotations

import threading
from email import message_from_bytes, policy

import pytest
from sqlalchemy import func, select

from portal.cases import services
from portal.cases.models import Case, CaseEvent, EventKind, Status
from portal.errors import Conflict
from portal.extensions import db
from portal.mail import inbound
from portal.mail.models import InboundMessage
from tests.mail.inbound.conftest import NOTIFY_2


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def reply_to_notify(sender: str, body: str, message_id: str = "<r1@acme.example>") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@support.example\r\nSubject: Re: update\r\n"
        f"Message-ID: {message_id}\r\nIn-Reply-To: {NOTIFY_2}\r\n\r\n{body}\r\n"
    ).encode()


def test_the_same_message_delivered_twice_at_once_stores_one_row_and_one_reply(app, mailworld):
    raw = mailworld.corpus("gmail_reply.eml")
    barrier = threading.Barrier(4)
    results = []

    def deliver():
        with app.app_context():
            barrier.wait()
            results.append(inbound.ingest(raw).created)

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    db.session.rollback()  # end the snapshot taken before the deliveries
    assert sorted(results) == [False, False, False, True]
    assert (
        _count(InboundMessage, InboundMessage.sender == "ana@acme.example") == 2
    )  # + the fixture's
    replies = _count(
        CaseEvent, CaseEvent.case_id == mailworld.case.id, CaseEvent.kind == EventKind.COMMENT
    )
    assert replies == 1


def test_the_same_message_over_smtp_and_through_a_pipe_is_one_message(mailworld):
    raw = mailworld.corpus("new_case_plain.eml")
    over_smtp = b"Return-Path: <ana@acme.example>\r\n" + raw.replace(b"\n", b"\r\n")
    assert inbound.ingest(raw).created
    assert not inbound.ingest(over_smtp).created
    assert _count(Case, Case.subject.like("How do we rotate%")) == 1


def test_a_message_that_fails_is_kept_raw_with_the_error_and_can_be_processed_again(
    mailworld, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the attachment store is full")

    monkeypatch.setattr(services, "reply", broken)
    message = mailworld.ingest("gmail_reply.eml").message
    db.session.expire_all()
    assert message.status == inbound.FAILED
    assert message.reason == "Processing failed: RuntimeError: the attachment store is full"
    assert message.raw == mailworld.corpus("gmail_reply.eml")
    assert (
        _count(
            CaseEvent, CaseEvent.case_id == mailworld.case.id, CaseEvent.kind == EventKind.COMMENT
        )
        == 0
    )

    monkeypatch.undo()
    message = inbound.retry(message, mailworld.agent)
    assert message.status == inbound.PROCESSED and message.case_id == mailworld.case.id


def test_a_message_that_does_not_parse_is_still_stored(mailworld, monkeypatch):
    def unreadable(raw):
        raise ValueError("no idea what this is")

    monkeypatch.setattr(inbound.mp, "parse", unreadable)
    delivery = inbound.ingest(b"\x00\x01garbage")
    assert delivery.created
    db.session.expire_all()
    assert delivery.message.status == inbound.FAILED
    assert "no idea what this is" in delivery.message.reason
    assert delivery.message.message_id.startswith("<unparsable.")


def test_a_mail_reply_answers_a_request_for_information(mailworld):
    case = mailworld.case
    services.request_information(case, mailworld.agent, "Which endpoint?")
    db.session.commit()
    assert case.status == Status.WAITING_ON_CUSTOMER
    inbound.ingest(reply_to_notify("Ana Acme <ana@acme.example>", "The eu-west one."))
    db.session.expire_all()
    assert case.status == Status.IN_PROGRESS
    assert case.awaiting_provider_since is not None


def test_a_mail_reply_announces_itself_as_a_web_reply_does(mailworld):
    """Through ``event_added`` the clocks and the outbox follow it like any reply."""
    heard = []

    def listener(case, event):
        heard.append((case.id, event.kind, event.author_id))

    with services.event_added.connected_to(listener):
        inbound.ingest(reply_to_notify("ana@acme.example", "Still broken."))
    assert heard == [(mailworld.case.id, EventKind.COMMENT, mailworld.ana.id)]


def test_a_reply_to_a_quarantined_message_does_not_thread_onto_its_case(mailworld):
    spoof = mailworld.ingest("spoofed_reply_unknown_sender.eml").message
    assert spoof.status == inbound.QUARANTINED
    raw = (
        "From: bo@globex.example\r\nSubject: Re: bank details\r\nMessage-ID: <x@globex.example>\r\n"
        f"In-Reply-To: {spoof.message_id}\r\n\r\nDone.\r\n"
    ).encode()
    message = inbound.ingest(raw).message
    # Not on Ana's case: a new case of Bo's own account.
    assert message.status == inbound.PROCESSED
    assert db.session.get(Case, message.case_id).account_id == mailworld.globex.id


def test_released_onto_a_case_mail_from_a_stranger_becomes_an_internal_note(mailworld):
    message = mailworld.ingest("spoofed_reply_unknown_sender.eml").message
    event = inbound.release_to_case(message, mailworld.case, mailworld.agent)
    db.session.commit()
    assert (event.kind, event.internal, event.author_id) == (
        EventKind.INTERNAL_NOTE,
        True,
        mailworld.agent.id,
    )
    assert "billing@acme-invoices.example" in event.body and "bank details" in event.body
    assert message.status == inbound.PROCESSED and message.case_id == mailworld.case.id
    assert "Released onto" in message.reason and message.reason.startswith(inbound.UNKNOWN_SENDER)
    with pytest.raises(Conflict):
        inbound.release_to_case(message, mailworld.case, mailworld.agent)


def test_released_onto_a_case_mail_from_someone_who_can_see_it_becomes_their_reply(mailworld):
    message = mailworld.ingest("tag_only_non_participant.eml").message
    assert message.status == inbound.QUARANTINED
    event = inbound.release_to_case(message, mailworld.case, mailworld.agent)
    db.session.commit()
    assert (event.kind, event.internal, event.author_id) == (
        EventKind.COMMENT,
        False,
        mailworld.carl.id,
    )
    # Carl now takes part, so his next tagged mail goes straight onto the case.
    later = mailworld.corpus("tag_only_non_participant.eml").replace(b"c2c3d4d5", b"c9c9d9d9")
    assert inbound.ingest(later).message.status == inbound.PROCESSED


def test_a_reply_to_a_resolved_case_is_released_as_a_follow_up_case(mailworld):
    message = mailworld.ingest("reply_to_resolved_case.eml").message
    assert message.reason.startswith(inbound.CASE_RESOLVED)
    with pytest.raises(Conflict):
        inbound.release_to_case(message, mailworld.resolved, mailworld.agent)
    case = inbound.release_as_new_case(message, mailworld.ana, mailworld.agent)
    db.session.commit()
    assert case.requester_id == mailworld.ana.id and case.status == Status.NEW
    assert "staging domain" in db.session.get(CaseEvent, message.event_id).body


def test_a_new_case_from_a_stranger_needs_a_customer_requester(mailworld):
    message = mailworld.ingest("unknown_sender_new.eml").message
    with pytest.raises(Conflict):
        inbound.release_as_new_case(message, mailworld.agent, mailworld.agent)
    with pytest.raises(Conflict):
        inbound.release_as_new_case(message, mailworld.dave, mailworld.agent)
    case = inbound.release_as_new_case(message, mailworld.bo, mailworld.agent)
    assert case.account_id == mailworld.globex.id


def test_discarded_mail_is_kept(mailworld):
    message = mailworld.ingest("newsletter_bulk.eml").message
    inbound.discard(message, mailworld.agent)
    db.session.commit()
    assert message.status == inbound.DISCARDED and message.raw
    assert message.reason.endswith(f"Discarded by {mailworld.agent.name}.")
    with pytest.raises(Conflict):
        inbound.discard(message, mailworld.agent)


def test_an_out_of_office_on_a_resolved_case_is_still_only_a_note(mailworld):
    raw = mailworld.corpus("out_of_office.eml").replace(
        NOTIFY_2.encode(), b"<e2d4f6a8c0b24d1e9f3a5c7e9b1d3f5a@support.example>"
    )
    message = inbound.ingest(raw).message
    event = db.session.get(CaseEvent, message.event_id)
    assert (event.case_id, event.internal) == (mailworld.resolved.id, True)
    assert mailworld.resolved.status == Status.RESOLVED


def test_may_auto_reply_takes_a_stored_message_a_parsed_one_or_bytes(mailworld):
    person = mailworld.corpus("new_case_plain.eml")
    bounce = mailworld.corpus("bounce_dsn.eml")
    assert inbound.may_auto_reply(person)
    assert inbound.may_auto_reply(message_from_bytes(person, policy=policy.default))
    assert inbound.may_auto_reply(inbound.mp.parse(person))
    assert not inbound.may_auto_reply(bounce)
    assert not inbound.may_auto_reply(inbound.ingest(bounce).message)
    assert not inbound.may_auto_reply(b"Subject: no sender\r\n\r\nhi\r\n")


def test_our_own_notification_coming_back_is_a_loop_whatever_its_from(mailworld):
    raw = (
        "From: ana@acme.example\r\nSubject: [CS-1] forwarded by a rule\r\n"
        f"Message-ID: {NOTIFY_2}\r\n\r\nAuto-forwarded.\r\n"
    ).encode()
    assert not inbound.may_auto_reply(raw)
    message = inbound.ingest(raw).message
    assert message.status == inbound.QUARANTINED
    assert message.reason.startswith(inbound.mp.OWN_ADDRESS)


def test_the_portal_addresses_come_from_the_configuration(app, mailworld):
    app.config["MAIL_OWN_ADDRESSES"] = ("noreply@support.example",)
    assert inbound.own_addresses() == {"support@support.example", "noreply@support.example"}
    raw = b"From: noreply@support.example\r\nSubject: hi\r\n\r\nhi\r\n"
    assert inbound.ingest(raw).message.reason.startswith(inbound.mp.OWN_ADDRESS)
