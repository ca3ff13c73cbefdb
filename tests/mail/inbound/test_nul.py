"""NUL (U+0000) in mail: in headers, encoded words, the body and file names. The
raw message is kept as it came; what it says reaches the case without NUL, since
PostgreSQL refuses NUL in text (a reply must not be lost to a 451 loop)."""

from __future__ import annotations

from sqlalchemy import select

from portal.cases.models import Attachment, Case, CaseEvent, EventKind
from portal.extensions import db
from portal.mail import inbound
from portal.mail import inbound_parse as mp
from tests.mail.inbound.conftest import NOTIFY_2

REPLY_WITH_NUL = (
    b"From: =?utf-8?q?Ana=00_Acme?= <ana@acme.example>\r\n"
    b"To: support@support.example\r\n"
    b"Subject: =?utf-8?q?Re=3A_update=00?= \x00now\r\n"
    b"Message-ID: <nul\x00id@acme.example>\r\n"
    b"In-Reply-To: " + NOTIFY_2.encode() + b"\r\n"
    b"X-Mailer: Mail\x00er 1.0\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"The logs=00 are attached.\x00\r\n"
    b"--b1\r\n"
    b"Content-Type: text/pl\x00ain; name*=utf-8''mta%00.log\r\n"
    b"Content-Disposition: attachment; filename*=utf-8''mta%00.log\r\n"
    b"\r\n"
    b"line one\x00\r\n"
    b"--b1--\r\n"
)

NEW_CASE_WITH_NUL = (
    b"From: Ana Acme <ana@acme.example>\r\n"
    b"To: support@support.example\r\n"
    b"Subject: =?utf-8?b?QmxvY2tlZABieSBHbWFpbA==?=\r\n"
    b"Message-ID: <new-nul@acme.example>\r\n"
    b"\r\n"
    b"Since\x00 this morning.\r\n"
)


def _texts(mail: mp.ParsedMail) -> list[str]:
    values = [
        mail.message_id, mail.sender, mail.sender_name, mail.subject, mail.date, mail.text,
        mail.return_path or "", *mail.in_reply_to, *mail.references, *mail.to, *mail.cc,
    ]  # fmt: skip
    return values + [t for f in mail.files for t in (f.filename, f.content_type)]


def test_parsed_mail_carries_no_nul():
    mail = mp.parse(REPLY_WITH_NUL)
    assert [t for t in _texts(mail) if "\x00" in t] == []
    assert mail.subject == "Re: update now"
    assert mail.sender_name == "Ana Acme"
    assert mail.message_id == "<nulid@acme.example>"
    assert mail.text == "The logs are attached."
    [log] = mail.files
    assert log.filename == "mta.log" and log.content_type == "text/plain"
    assert log.data == b"line one\x00"  # a file's bytes are its own


def test_a_mail_reply_with_nul_reaches_the_case(mailworld):
    delivery = inbound.ingest(REPLY_WITH_NUL)
    db.session.expire_all()
    message = delivery.message
    assert message.status == inbound.PROCESSED, message.reason
    assert message.case_id == mailworld.case.id
    assert message.raw == REPLY_WITH_NUL
    assert message.subject == "Re: update now"
    reply = db.session.get(CaseEvent, message.event_id)
    assert reply.kind == EventKind.COMMENT
    assert reply.body.startswith("The logs are attached.")
    names = db.session.scalars(select(Attachment.filename).where(Attachment.event_id == reply.id))
    assert sorted(names) == ["mta.log", "original-message.eml"]


def test_a_new_mail_with_nul_opens_a_case(mailworld):
    message = inbound.ingest(NEW_CASE_WITH_NUL).message
    db.session.expire_all()
    assert message.status == inbound.PROCESSED, message.reason
    case = db.session.get(Case, message.case_id)
    assert case.subject == "Blockedby Gmail"


def test_an_unknown_sender_with_nul_is_quarantined_not_refused(mailworld):
    raw = b"From: sam\x00@prospect.example\r\nSubject: hi\x00\r\n\r\nhello\r\n"
    message = inbound.ingest(raw).message
    db.session.expire_all()
    assert message.status == inbound.QUARANTINED
    assert message.reason.startswith(inbound.UNKNOWN_SENDER)


def test_released_from_quarantine_with_nul(mailworld, make_client):
    raw = NEW_CASE_WITH_NUL.replace(b"ana@acme.example", b"sam@prospect.example")
    message = inbound.ingest(raw).message
    db.session.commit()
    agent = make_client(mailworld.agent)
    response = agent.post(
        f"/desk/quarantine/{message.id}/new-case", data={"requester": "ana@acme.example\x00"}
    )
    assert response.status_code == 303, response.text
    assert agent.get(f"/desk/quarantine/{message.id}").status_code == 200
    db.session.expire_all()
    assert db.session.get(Case, message.case_id).subject == "Blockedby Gmail"


def test_inbound_ingest_with_nul(mailworld, runner):
    db.session.commit()
    result = runner.invoke(args=["inbound-ingest", "-"], input=REPLY_WITH_NUL)
    assert result.exit_code == 0, result.output
    assert f"processed on {mailworld.case.reference}" in result.output

