"""The inbound world: a case of Ana's with notifications the portal sent about it
(fixed Message-IDs the corpus answers), an earlier message of Ana's received on
it, a resolved case, and the people the corpus writes as."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.accounts.models import Role
from portal.cases import services
from portal.extensions import db
from portal.mail import inbound
from portal.mail.models import InboundMessage, OutboundMessage

CORPUS = Path(__file__).parent / "corpus"

NOTIFY_1 = "<5b1f0c3e9a7d4c21b8e6f0a2d4c6e8f1@support.example>"
NOTIFY_2 = "<a7c3e5f1b9d24e6c8a0f2b4d6e8c1a3f@support.example>"
NOTIFY_RESOLVED = "<e2d4f6a8c0b24d1e9f3a5c7e9b1d3f5a@support.example>"
ANA_FIRST = "<CAHx7Qk0aBcD3eFgH5iJkL7mNoP9qRsT1uVwX3yZ@mail.gmail.com>"
ATTACHMENT_LIMIT = 20_000


def _sent(case, message_id: str, to: str) -> OutboundMessage:
    row = OutboundMessage(
        case_id=case.id,
        to_address=to,
        subject=f"[{case.reference}] {case.subject}",
        body_text="-- Reply above this line to answer on the case --",
        message_id=message_id,
        status="sent",
    )
    db.session.add(row)
    return row


class MailWorld:
    def corpus(self, name: str) -> bytes:
        """A corpus file with the references of this world's cases filled in."""
        raw = (CORPUS / name).read_bytes()
        return raw.replace(b"{{CASE_REF}}", self.case.reference.encode()).replace(
            b"{{RESOLVED_REF}}", self.resolved.reference.encode()
        )

    def ingest(self, name: str) -> inbound.Delivery:
        return inbound.ingest(self.corpus(name))


@pytest.fixture
def mailworld(app, world, make):
    app.config.update(ATTACHMENT_MAX_BYTES=ATTACHMENT_LIMIT, ATTACHMENT_MAX_COUNT=5)
    w = MailWorld()
    w.__dict__.update(world.__dict__)
    w.carl = make.user(Role.CUSTOMER, world.acme, name="Carl Acme", email="carl@acme.example")
    w.dave = make.user(
        Role.CUSTOMER, world.acme, name="Dave Former", email="dave@acme.example", active=False
    )
    w.kenji = make.user(
        Role.CUSTOMER, world.globex, name="Kenji Sato", email="kenji@globex.example"
    )
    w.case = make.case(world.ana, subject="Webhook batches arrive twice")
    w.resolved = make.case(world.ana, subject="SPF record for the new range")
    services.propose_resolution(w.resolved, world.agent, "Publish the new include.")
    services.accept_resolution(w.resolved, world.ana)
    _sent(w.case, NOTIFY_1, world.ana.email)
    _sent(w.case, NOTIFY_2, world.ana.email)
    _sent(w.resolved, NOTIFY_RESOLVED, world.ana.email)
    db.session.add(
        InboundMessage(
            message_id=ANA_FIRST,
            body_digest="0" * 64,
            raw=b"Subject: Webhook batches arrive twice\r\n\r\nSince Monday every batch arrives twice.\r\n",
            sender=world.ana.email,
            subject="Webhook batches arrive twice",
            status=inbound.PROCESSED,
            case_id=w.case.id,
        )
    )
    db.session.commit()
    return w
