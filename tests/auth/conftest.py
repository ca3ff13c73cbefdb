"""Rate limits that start from zero in every test (the SMTP server is
``smtp_server``, from tests/smtp_support.py)."""

from __future__ import annotations

import smtplib

import pytest

from portal.extensions import limiter


@pytest.fixture(autouse=True)
def fresh_rate_limits(app):
    limiter.reset()
    yield
    limiter.reset()


@pytest.fixture
def smtp_connections(monkeypatch) -> list[tuple[str, int]]:
    """Every SMTP connection this process opens, to any server, while the test runs."""
    opened: list[tuple[str, int]] = []
    connect = smtplib.SMTP.connect

    def recording_connect(self, host="localhost", port=0, source_address=None):
        opened.append((host, port))
        return connect(self, host, port, source_address)

    monkeypatch.setattr(smtplib.SMTP, "connect", recording_connect)
    return opened
