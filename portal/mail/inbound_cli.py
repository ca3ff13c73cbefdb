"""The ways mail reaches the support address: an SMTP receiver (``flask inbound-smtp``)
and a pipe for an MTA (``flask inbound-ingest FILE.eml``, ``-`` for stdin).

Both answer only after the message is stored: SMTP says 250 once the row is
committed and 451 (try again later) if it could not be, and ``inbound-ingest``
exits with 75 (EX_TEMPFAIL) in that case, which MTAs treat the same way. So a
message is either stored or still with the sender, never lost in between.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from portal.cases.models import format_reference
from portal.mail import inbound

log = logging.getLogger(__name__)
EX_TEMPFAIL = 75


class InboundHandler:
    """aiosmtpd handler: accept the support address, store and process each message
    in a worker thread (the event loop keeps talking SMTP meanwhile)."""

    def __init__(self, app: Flask):
        self.app = app
        with app.app_context():
            self.addresses = inbound.inbound_addresses()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() not in self.addresses:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        # As a final delivery agent does: the envelope sender becomes Return-Path,
        # and "<>" tells a bounce from a person.
        raw = f"Return-Path: <{envelope.mail_from or ''}>\r\n".encode() + content
        loop = asyncio.get_running_loop()
        try:
            delivery = await loop.run_in_executor(None, self._ingest, raw)
        except Exception:
            log.exception("inbound-smtp: could not store a message")
            return "451 4.3.0 Could not store the message; try again later"
        return f"250 2.0.0 Stored as #{delivery.message.id}"

    def _ingest(self, raw: bytes) -> inbound.Delivery:
        with self.app.app_context():
            delivery = inbound.ingest(raw)
            delivery.message.id  # noqa: B018 (load it before the session closes)
            return delivery


def make_controller(app: Flask, host: str = "127.0.0.1", port: int = 2525):
    # Imported here: the app must build on machines without the receiver installed.
    from aiosmtpd.controller import Controller

    return Controller(
        InboundHandler(app),
        hostname=host,
        port=port,
        data_size_limit=app.config.get("INBOUND_MAX_BYTES", 32 * 1024 * 1024),
    )


@click.command("inbound-smtp")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=2525, show_default=True, type=int, help="Port to listen on.")
@with_appcontext
def inbound_smtp(host: str, port: int) -> None:
    """Receive mail for the support address over SMTP until interrupted."""
    app = current_app._get_current_object()
    controller = make_controller(app, host, port)
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    controller.start()
    addresses = ", ".join(sorted(inbound.inbound_addresses()))
    click.echo(f"inbound-smtp: listening on {host}:{port} for {addresses}; Ctrl+C stops")
    try:
        while not stop.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()
        signal.signal(signal.SIGTERM, previous)
        click.echo("inbound-smtp: stopped")


@click.command("inbound-ingest")
@click.argument("source", type=click.File("rb"))
@with_appcontext
def inbound_ingest(source) -> None:
    """Store and process one message from FILE.eml (or - for stdin)."""
    raw = source.read()
    try:
        delivery = inbound.ingest(raw)
    except Exception as error:
        click.echo(f"inbound-ingest: could not store the message: {error}", err=True)
        raise SystemExit(EX_TEMPFAIL) from error
    message = delivery.message
    if not delivery.created:
        click.echo(f"#{message.id} {message.message_id}: delivered before, nothing new")
        return
    case = f" on {format_reference(message.case_id)}" if message.case_id else ""
    reason = f": {message.reason}" if message.reason else ""
    click.echo(f"#{message.id} {message.message_id}: {message.status}{case}{reason}")
