"""Reading raw mail: ids, charsets, headers that try to be two headers, and the
signs that a machine wrote a message."""

import pytest

from portal.mail import inbound_parse as mp


def message(headers: str, body: str = "Hello.\n", charset: str = "utf-8") -> bytes:
    head = "From: Ana <ana@acme.example>\nTo: support@support.example\nSubject: Hi\n" + headers
    return (head.rstrip("\n") + "\n\n").encode() + body.encode(charset)


def test_ids_are_read_with_or_without_angle_brackets_and_around_comments():
    mail = mp.parse(
        message(
            "Message-ID: <a@x.example>\n"
            "In-Reply-To: <b@x.example> (Support's message of Monday)\n"
            "References: <r1@x.example>\n <r2@x.example>\t<b@x.example>\n"
        )
    )
    assert mail.message_id == "<a@x.example>"
    assert mail.in_reply_to == ["<b@x.example>"]
    # In-Reply-To first, then References newest first, each once.
    assert mail.thread_ids == ["<b@x.example>", "<r2@x.example>", "<r1@x.example>"]
    assert mp.parse_ids("bare@x.example") == ["<bare@x.example>"]
    assert mp.parse_ids("no id at all") == []


def test_a_message_without_message_id_gets_the_same_made_up_id_on_every_delivery():
    first = message("Date: Tue, 11 Jun 2024 10:00:00 +0000\n")
    relayed = b"Received: from relay.example by mx.example; Tue, 11 Jun 2024\n" + first
    assert mp.parse(first).message_id == mp.parse(relayed).message_id
    assert mp.parse(first).message_id.endswith("@inbound.invalid>")
    other = message("Date: Tue, 11 Jun 2024 10:00:00 +0000\n", body="Another text.\n")
    assert mp.parse(other).message_id != mp.parse(first).message_id


def test_the_body_digest_ignores_headers_and_line_endings():
    raw = message("Message-ID: <a@x.example>\n", body="line one\nline two\n")
    over_smtp = b"Received: by mx\r\n" + raw.replace(b"\n", b"\r\n")
    assert mp.body_digest(raw) == mp.body_digest(over_smtp)
    assert mp.body_digest(raw) != mp.body_digest(raw.replace(b"line two", b"line 2"))


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        ("iso-8859-1", "Grüße".encode("latin-1"), "Grüße"),
        ("iso-8859-1", b"\x93quoted\x94 \x80", "“quoted” €"),  # Windows bytes, Latin-1 label
        ("us-ascii", "naïve".encode(), "naïve"),  # UTF-8 that says ASCII
        ("x-unknown-charset", "déjà".encode(), "déjà"),
        ("utf-8", b"caf\xe9", "caf\ufffd"),  # broken UTF-8: kept, marked
        (None, b"plain", "plain"),
        ("iso-2022-jp", "日本".encode("iso-2022-jp"), "日本"),
    ],
)
def test_decode_text(charset, data, text):
    assert mp.decode_text(data, charset) == text


def test_an_encoded_subject_with_a_line_break_stays_one_line():
    # =?utf-8?q?...=0D=0A...?= decodes to CR LF: it must not become a second header.
    mail = mp.parse(
        message("Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@x.example?=\n").replace(
            b"Subject: Hi\n", b""
        )
    )
    assert mail.subject == "Hello Bcc: victim@x.example"
    assert "\n" not in mail.subject and "\r" not in mail.subject


def test_a_malformed_from_still_yields_an_address():
    mail = mp.parse(b"From: Ana Acme ana@acme.example <ana@acme.example>\nSubject: x\n\nbody\n")
    assert mail.sender == "ana@acme.example"


def test_format_flowed_lines_are_joined():
    raw = message(
        "Content-Type: text/plain; charset=utf-8; format=flowed; delsp=yes\n",
        body="A long line that was wra \npped by the client.\n-- \nsig\n",
    )
    assert mp.parse(raw).text == "A long line that was wrapped by the client.\n-- \nsig"


MACHINES = [
    ("Auto-Submitted: auto-replied\n", mp.AUTO_REPLY),
    ("Auto-Submitted: auto-generated; owner-email=x@y.example\n", mp.AUTO_REPLY),
    ("Auto-Submitted: no\n", None),
    ("X-Autoreply: yes\n", mp.AUTO_REPLY),
    ("Precedence: bulk\n", mp.BULK),
    ("Precedence: junk\n", mp.BULK),
    ("Precedence: list\n", mp.MAILING_LIST),
    ("List-Id: <ops.lists.example>\n", mp.MAILING_LIST),
    ("Return-Path: <>\n", mp.DELIVERY_REPORT),
    ("Return-Path: <ana@acme.example>\n", None),
    (
        "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n",
        mp.DELIVERY_REPORT,
    ),
    ("", None),
]


@pytest.mark.parametrize(("headers", "reason"), MACHINES)
def test_automatic_reason(headers, reason):
    assert mp.parse(message(headers)).automatic == reason


def test_a_message_that_is_all_attachments_has_no_text_and_keeps_its_files():
    raw = (
        b"From: ana@acme.example\nSubject: logs\nMIME-Version: 1.0\n"
        b"Content-Type: multipart/mixed; boundary=b\n\n"
        b"--b\nContent-Type: application/zip\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.zip\n"
        b"Content-Transfer-Encoding: base64\n\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\n--b--\n"
    )
    mail = mp.parse(raw)
    assert mail.text == ""
    assert [(f.filename, f.content_type) for f in mail.files] == [("résumé.zip", "application/zip")]


def test_garbage_still_parses_to_something():
    mail = mp.parse(b"\x00\xff not a mail at all \r\n\r\n\x00")
    assert mail.sender == "" and mail.message_id.endswith("@inbound.invalid>")
