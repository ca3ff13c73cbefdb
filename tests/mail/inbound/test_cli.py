"""``flask inbound-ingest`` as an MTA pipes into it, and ``flask inbound-smtp`` as a
process of its own, stopped by its pid."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time

from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from portal.config import ROOT
from portal.extensions import db
from portal.mail import inbound
from portal.mail.models import InboundMessage
from tests.smtp_support import free_port


def test_ingest_a_file(mailworld, runner, tmp_path):
    path = tmp_path / "reply.eml"
    path.write_bytes(mailworld.corpus("gmail_reply.eml"))
    db.session.commit()
    result = runner.invoke(args=["inbound-ingest", str(path)])
    assert result.exit_code == 0, result.output
    assert f"processed on {mailworld.case.reference}" in result.output

    again = runner.invoke(args=["inbound-ingest", str(path)])
    assert again.exit_code == 0 and "delivered before, nothing new" in again.output


def test_ingest_from_stdin_says_why_mail_is_quarantined(mailworld, runner):
    db.session.commit()
    result = runner.invoke(
        args=["inbound-ingest", "-"], input=mailworld.corpus("unknown_sender_new.eml")
    )
    assert result.exit_code == 0
    assert (
        "quarantined: unknown sender: sam@prospect.example is not a portal user." in result.output
    )


def test_ingest_exits_75_when_the_message_cannot_be_stored(mailworld, runner, monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("INSERT", {}, Exception("database is down"))

    monkeypatch.setattr(inbound, "store", database_down)
    result = runner.invoke(args=["inbound-ingest", "-"], input=b"Subject: x\r\n\r\ny\r\n")
    assert result.exit_code == 75  # EX_TEMPFAIL: the MTA keeps it and tries again
    assert "could not store the message" in result.output


def test_the_inbound_smtp_command_receives_until_it_is_stopped(app, mailworld, tmp_path):
    db.session.commit()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        PORTAL_INSTANCE_DIR=str(tmp_path),
        PORTAL_UPLOAD_DIR=str(tmp_path / "attachments"),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "app", "inbound-smtp", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert f"listening on 127.0.0.1:{port}" in process.stdout.readline()
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail(
                "ana@acme.example",
                ["support@support.example"],
                mailworld.corpus("new_case_plain.eml").replace(b"\n", b"\r\n"),
            )
        deadline = time.monotonic() + 10
        message = None
        while message is None and time.monotonic() < deadline:
            time.sleep(0.05)
            db.session.rollback()
            message = db.session.scalar(
                select(InboundMessage).where(InboundMessage.subject.like("How do we rotate%"))
            )
        assert message is not None and message.status == inbound.PROCESSED
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "inbound-smtp: stopped" in output
