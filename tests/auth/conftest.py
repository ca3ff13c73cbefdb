"""A real SMTP server on loopback that collects what the portal sends, and rate
limits that start from zero in every test."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller

from portal.extensions import limiter, mail


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return self.message["Subject"]

    @property
    def body(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    @property
    def link(self) -> str:
        return re.search(r"https?://\S+", self.body).group(0)

    @property
    def link_path(self) -> str:
        return urlsplit(self.link).path


@dataclass
class Mailbox:
    host: str
    port: int
    received: list[ReceivedMail] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            ReceivedMail(
                envelope.mail_from,
                list(envelope.rcpt_tos),
                message_from_bytes(envelope.original_content, policy=policy.default),
            )
        )
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        return [m for m in self.received if address in m.rcpt_tos]

    def only(self) -> ReceivedMail:
        assert len(self.received) == 1, [m.rcpt_tos for m in self.received]
        return self.received[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """An aiosmtpd server on 127.0.0.1 that the app sends its mail to.

    Flask-Mail copies MAIL_* into its state when ``init_app`` runs, so changing
    app.config alone would not redirect anything: the state is rebuilt here."""
    mailbox = Mailbox("127.0.0.1", free_port())
    controller = Controller(mailbox, hostname=mailbox.host, port=mailbox.port)
    controller.start()
    previous = {k: app.config[k] for k in ("MAIL_SERVER", "MAIL_PORT")}
    app.config.update(MAIL_SERVER=mailbox.host, MAIL_PORT=mailbox.port)
    mail.init_app(app)
    try:
        yield mailbox
    finally:
        controller.stop()
        app.config.update(previous)
        mail.init_app(app)


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    limiter.reset()
    yield
    limiter.reset()
