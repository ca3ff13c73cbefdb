"""Mail fixtures: a real SMTP server on loopback that keeps the raw DATA of every
message, and can be stopped and started again on the same port."""

from __future__ import annotations

import socket
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from portal.extensions import limiter, mail


@dataclass
class Delivery:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)

    @property
    def header_block(self) -> bytes:
        """The header lines exactly as they came over the wire."""
        return self.raw.split(b"\r\n\r\n", 1)[0]

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()

    def html(self) -> str:
        return self.message.get_body(("html",)).get_content()


@dataclass
class LoopbackSMTP:
    """What the SMTP server received, in order. ``stop()`` and ``start()`` simulate
    an outage: while stopped the port refuses connections."""

    host: str
    port: int
    received: list[Delivery] = field(default_factory=list)
    controller: Controller | None = None
    refuse: set[str] = field(default_factory=set)  # recipients answered with 550

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Delivery(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.controller = Controller(self, hostname=self.host, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Delivery]:
        return [d for d in self.received if address in d.rcpt_tos]

    def message_ids(self) -> Counter:
        return Counter(d.message["Message-ID"] for d in self.received)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A running loopback SMTP server the app sends to (Flask-Mail copies MAIL_*
    into its state at init_app, so the state is rebuilt here)."""
    server = LoopbackSMTP("127.0.0.1", _free_port())
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


@pytest.fixture
def fresh_limits(app):
    limiter.reset()
    yield
    limiter.reset()
