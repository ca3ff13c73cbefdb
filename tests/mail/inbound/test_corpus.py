"""Every message of the corpus, and what must happen to it. One row per file; the
test fails if a file in corpus/ has no row."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from portal.cases.models import Case, CaseEvent, EventKind
from portal.extensions import db
from portal.mail import inbound
from portal.mail.models import InboundMessage, OutboundMessage
from tests.mail.inbound.conftest import CORPUS

ORIGINAL = inbound.ORIGINAL_NAME


@dataclass
class Joins:
    """A reply on a case (``case`` or ``resolved``), written by ``author``."""

    author: str = "ana"
    case: str = "case"
    has: tuple = ()
    lacks: tuple = ()
    files: tuple = (ORIGINAL,)


@dataclass
class NewCase:
    requester: str = "ana"
    subject: str | None = None
    has: tuple = ()
    lacks: tuple = ()
    files: tuple = (ORIGINAL,)


@dataclass
class Quarantined:
    reason: str  # the phrase the reason starts with
    machine: bool = False  # written by a machine: no automatic answer, ever
    suggests: str | None = None  # the case staff are pointed to


@dataclass
class AutoNoted:
    """An automatic reply, noted for staff on the case; nothing else happens."""

    case: str = "case"


@dataclass
class Duplicate:
    of: str  # the same message, delivered before: nothing new happens


@dataclass
class Flagged:
    after: str  # a different message with the same Message-ID, delivered before


CORPUS_TABLE = {
    # Replies, as the common clients write them
    "gmail_reply.eml": Joins(
        has=("duplicates stopped at 10:40", "Thanks,\nAna"),
        lacks=("Could you disable", "wrote:", "Reply above this line"),
    ),
    "gmail_reply_signature.eml": Joins(
        has=("about 3% of batches",), lacks=("Deliverability lead", "eu-west endpoint affected")
    ),
    "gmail_reply_references_only.eml": Joins(has=("Carl confirms",), lacks=("looks clean",)),
    "gmail_reply_german.eml": Joins(has=("Vielen Dank!",), lacks=("schrieb", "deployed a fix")),
    "outlook_reply_thread_index.eml": Joins(
        has=("turned it off for all tenants", "Kind regards"),
        lacks=("From: Support", "Could you disable", "____"),
    ),
    "outlook_reply_no_references.eml": Joins(
        has=("never from the single-message API",), lacks=("Original Message", "Could you disable")
    ),
    "outlook_reply_tag_only.eml": Joins(
        has=("strips the threading headers",), lacks=("deployed a fix",)
    ),
    "outlook_original_message.eml": Joins(
        has=("- 0 duplicates since Tuesday",), lacks=("Original Message", "deployed a fix")
    ),
    "outlook_web_html_only.eml": Joins(
        has=(
            "- Monday: 14 duplicates",
            "our incident page (https://status.acme.example/incidents/4411)",
        ),
        lacks=("From:", "deployed a fix", "<div", "margin-top"),
    ),
    "apple_mail_reply.eml": Joins(
        has=("I’ll keep watching it until Friday.",), lacks=("wrote:", "deployed")
    ),
    "apple_iphone_reply.eml": Joins(
        has=("On the train",), lacks=("Sent from my iPhone", "deployed")
    ),
    "thunderbird_reply.eml": Joins(
        has=("median webhook latency 1.8 s.",), lacks=("Support wrote:", "deployed")
    ),
    "thunderbird_reply_colleague.eml": Joins(
        author="carl", has=("consumer logs agree",), lacks=("Platform team", "deployed")
    ),
    "reply_all_cc.eml": Joins(has=("Copying Carl",), lacks=("deployed",)),
    "reply_from_cc_colleague.eml": Joins(
        author="carl", has=("webhook.retry.max = 0",), lacks=("Since Monday",)
    ),
    "staff_reply_by_mail.eml": Joins(
        author="agent", has=("keep the case open until Friday",), lacks=("Overnight numbers",)
    ),
    "encoded_subject_reply.eml": Joins(has=("Tout est résolu de notre côté",), lacks=("a écrit",)),
    "latin1_labelled_cp1252.eml": Joins(
        has=("sends “ISO-8859-1” but writes Windows quotes – the € sign",)
    ),
    "smime_signed_reply.eml": Joins(has=("Friday's numbers are clean",)),
    "forward_into_case.eml": Joins(
        has=("our webhook vendor's answer", "Forwarded message", "than 2 seconds")
    ),
    # Files
    "reply_with_attachments.eml": Joins(
        has=("delivery log and a screenshot",),
        lacks=("for Monday?",),
        files=("bounce-log.csv", "dashboard screenshot.png", ORIGINAL),
    ),
    "reply_inline_image.eml": Joins(
        has=("It spikes at every full hour.",), files=("latency-graph.png", ORIGINAL)
    ),
    "reply_oversize_attachment.eml": Joins(
        has=(
            "packet capture",
            "Not attached here",
            "consumer-capture.pcap",
            "the original message itself",
        ),
        files=(),
    ),
    "reply_too_many_attachments.eml": Joins(
        has=("Logs from all seven MTAs", "mta-06.log (more than 5 files)", "mta-07.log"),
        files=("mta-01.log", "mta-02.log", "mta-03.log", "mta-04.log", "mta-05.log", ORIGINAL),
    ),
    # New cases
    "new_case_plain.eml": NewCase(
        subject="How do we rotate our DKIM keys without downtime?",
        has=("2048-bit DKIM keys", "Thanks,\nAna"),
        lacks=("Deliverability lead",),
    ),
    "new_case_html_only.eml": NewCase(
        subject="Questions about the new IP pool",
        has=("1. Which IPs are in the pool?", '"sending schedule" & volumes', "reverse DNS"),
        lacks=("<p>", "alert(1)", "margin"),
    ),
    "new_case_pdf_attachment.eml": NewCase(
        requester="carl", has=("SPF failures",), files=("dmarc-summary-2024-06-09.pdf", ORIGINAL)
    ),
    "forward_gmail.eml": NewCase(
        subject="Fwd: Undelivered Mail Returned to Sender",
        has=("Is it on your side?", "Forwarded message", "blocked using"),
    ),
    "forward_outlook.eml": NewCase(
        subject="FW: Your sending to hotmail is being throttled",
        has=("FYI", "From: Monitoring", "Sent: Monday", "RP-001"),
    ),
    "forward_as_attachment.eml": NewCase(
        requester="bo", has=("went out twice",), files=("Your order has shipped.eml", ORIGINAL)
    ),
    "latin1_body.eml": NewCase(
        has=("Grüße aus München!", "café-müller.example", "Straße"),
    ),
    "windows1252_body.eml": NewCase(
        has=("“overage”", "May’s invoice: €1.240", "messages – is", "rate…?")
    ),
    "iso2022jp_body.eml": NewCase(
        requester="kenji",
        subject="配信遅延について",
        has=("docomo.ne.jp 宛のメールが30分以上遅延",),
    ),
    "encoded_subject_new.eml": NewCase(
        subject="Délivrabilité : taux de rebond élevé chez Orange 📉", has=("orange.fr",)
    ),
    "no_message_id.eml": NewCase(subject="Nightly export failed to send", has=("mailbox full",)),
    "uppercase_sender.eml": NewCase(has=("TLS 1.1",)),
    # Written by machines
    "out_of_office.eml": AutoNoted(),
    "out_of_office_exchange.eml": AutoNoted(),
    "out_of_office_unknown.eml": Quarantined(inbound.mp.AUTO_REPLY, machine=True),
    "bounce_dsn.eml": Quarantined(inbound.mp.DELIVERY_REPORT, machine=True, suggests="case"),
    "bounce_null_sender.eml": Quarantined(inbound.mp.DELIVERY_REPORT, machine=True),
    "read_receipt.eml": Quarantined(inbound.mp.DELIVERY_REPORT, machine=True, suggests="case"),
    "mailing_list.eml": Quarantined(inbound.mp.MAILING_LIST, machine=True),
    "newsletter_bulk.eml": Quarantined(inbound.mp.BULK, machine=True),
    "own_address_loop.eml": Quarantined(inbound.mp.OWN_ADDRESS, machine=True, suggests="case"),
    # Nothing wrong gets in
    "spoofed_reply_unknown_sender.eml": Quarantined(inbound.UNKNOWN_SENDER, suggests="case"),
    "spoofed_reply_other_account.eml": Quarantined(inbound.NOT_ON_CASE, suggests="case"),
    "spoofed_tag_other_account.eml": Quarantined(inbound.NOT_ON_CASE, suggests="case"),
    "tag_only_non_participant.eml": Quarantined(inbound.NOT_ON_CASE, suggests="case"),
    "spoofed_from_inactive_user.eml": Quarantined(inbound.UNKNOWN_SENDER),
    "unknown_sender_new.eml": Quarantined(inbound.UNKNOWN_SENDER),
    "tag_unknown_case.eml": Quarantined(inbound.UNKNOWN_CASE),
    "reply_to_resolved_case.eml": Quarantined(inbound.CASE_RESOLVED, suggests="resolved"),
    "staff_new_message.eml": Quarantined(inbound.NO_CASE),
    # The same Message-ID again
    "duplicate_redelivery.eml": Duplicate(of="gmail_reply.eml"),
    "reused_message_id.eml": Flagged(after="gmail_reply.eml"),
}


def test_the_corpus_is_large_and_every_file_has_a_row():
    files = sorted(p.name for p in CORPUS.glob("*.eml"))
    assert len(files) >= 40
    assert sorted(CORPUS_TABLE) == files


def _counts():
    return (
        db.session.scalar(select(func.count(Case.id))),
        db.session.scalar(select(func.count(CaseEvent.id)).where(CaseEvent.internal.is_(False))),
        db.session.scalar(select(func.count(CaseEvent.id))),
    )


def _outbox() -> int:
    return db.session.scalar(select(func.count(OutboundMessage.id)))


@pytest.mark.parametrize("name", sorted(CORPUS_TABLE))
def test_corpus_message(mailworld, name):
    expected = CORPUS_TABLE[name]
    if isinstance(expected, Duplicate | Flagged):
        first = mailworld.ingest(expected.of if isinstance(expected, Duplicate) else expected.after)
        assert first.message.status == inbound.PROCESSED
    cases, public_events, all_events = _counts()
    outbox = _outbox()

    delivery = mailworld.ingest(name)
    db.session.expire_all()
    message = db.session.get(InboundMessage, delivery.message.id)

    assert message.raw == mailworld.corpus(name) or isinstance(expected, Duplicate)
    assert inbound.may_auto_reply(message) is _person_writes(expected)
    if not isinstance(expected, Joins | NewCase):
        assert _outbox() == outbox  # nothing answers it, nobody is notified
    if isinstance(expected, Joins):
        _assert_joined(mailworld, message, expected)
    elif isinstance(expected, NewCase):
        _assert_new_case(mailworld, message, expected, cases)
    elif isinstance(expected, AutoNoted):
        assert message.status == inbound.PROCESSED
        event = db.session.get(CaseEvent, message.event_id)
        assert event.case_id == getattr(mailworld, expected.case).id
        assert (event.kind, event.internal) == (EventKind.MAIL_RECEIVED, True)
        assert "out of the office" in event.body.lower() or "holiday" in event.body
        assert _counts() == (cases, public_events, all_events + 1)
    elif isinstance(expected, Duplicate):
        assert delivery.created is False
        assert _counts() == (cases, public_events, all_events)
        assert (
            db.session.scalar(
                select(func.count(InboundMessage.id)).where(
                    InboundMessage.message_id == message.message_id
                )
            )
            == 1
        )
    else:
        reason = expected.reason if isinstance(expected, Quarantined) else inbound.REUSED_ID
        assert message.status == inbound.QUARANTINED, message.reason
        assert message.reason.startswith(reason), message.reason
        assert message.case_id is None and message.event_id is None
        assert message.flagged is isinstance(expected, Flagged)
        assert _counts() == (cases, public_events, all_events)  # nothing reached a case
        if isinstance(expected, Quarantined) and expected.suggests:
            assert inbound.suggested_case(message) == getattr(mailworld, expected.suggests)


def _person_writes(expected) -> bool:
    if isinstance(expected, AutoNoted):
        return False
    return not (isinstance(expected, Quarantined) and expected.machine)


def _files(event: CaseEvent) -> tuple:
    return tuple(a.filename for a in event.attachments)


def _assert_body(event: CaseEvent, expected) -> None:
    for text in expected.has:
        assert text in event.body, f"{text!r} missing from:\n{event.body}"
    for text in expected.lacks:
        assert text not in event.body, f"{text!r} left in:\n{event.body}"


def _assert_joined(w, message: InboundMessage, expected: Joins) -> None:
    assert message.status == inbound.PROCESSED, message.reason
    case = getattr(w, expected.case)
    event = db.session.get(CaseEvent, message.event_id)
    assert (message.case_id, event.case_id) == (case.id, case.id)
    assert event.kind == EventKind.COMMENT and not event.internal
    assert event.author_id == getattr(w, expected.author).id
    assert event.data["via"] == "email" and event.data["inbound_message_id"] == message.id
    _assert_body(event, expected)
    assert _files(event) == expected.files


def _assert_new_case(w, message: InboundMessage, expected: NewCase, cases_before: int) -> None:
    assert message.status == inbound.PROCESSED, message.reason
    case = db.session.get(Case, message.case_id)
    assert db.session.scalar(select(func.count(Case.id))) == cases_before + 1
    assert case.requester_id == getattr(w, expected.requester).id
    assert case.kind == "information"
    if expected.subject is not None:
        assert case.subject == expected.subject
    event = db.session.get(CaseEvent, message.event_id)
    assert event.kind == EventKind.CREATED and event.case_id == case.id
    _assert_body(event, expected)
    assert _files(event) == expected.files
