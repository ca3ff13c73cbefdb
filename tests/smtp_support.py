"""The SMTP fixture for every test directory (a pytest plugin of tests/conftest.py):
a real aiosmtpd server on loopback that the app sends its mail to. It keeps the
raw DATA of every message, can refuse recipients, and can be stopped and started
again on the same port to simulate an outage."""

from __future__ import annotations

import re
import socket
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from functools import cached_property
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from portal.extensions import mail


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @cached_property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def header_block(self) -> bytes:
        """The header lines exactly as they came over the wire."""
        return self.raw.split(b"\r\n\r\n", 1)[0]

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()

    @property
    def link(self) -> str:
        """The first link of the plain text."""
        return re.search(r"https?://\S+", self.text).group(0)

    @property
    def link_path(self) -> str:
        return urlsplit(self.link).path


@dataclass
class SMTPServer:
    """What the server received, in order. While stopped, the port refuses connections."""

    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550
    controller: Controller | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.received if address in m.rcpt_tos]

    def only(self) -> ReceivedMail:
        assert len(self.received) == 1, [m.rcpt_tos for m in self.received]
        return self.received[0]

    def message_ids(self) -> Counter:
        return Counter(m.message["Message-ID"] for m in self.received)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A running loopback SMTP server the app sends to. Flask-Mail copies MAIL_*
    into its state when ``init_app`` runs, so changing app.config alone would not
    redirect anything: the state is rebuilt here, and again afterwards."""
    server = SMTPServer("127.0.0.1", free_port())
    server.start()
    previous = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port)
    mail.init_app(app)
    try:
        yield server
    finally:
        server.stop()
        app.config.update(previous)
        mail.init_app(app)
