"""Mail fixtures (the SMTP server is ``smtp_server``, from tests/smtp_support.py)."""

from __future__ import annotations

import pytest

from portal.extensions import limiter


@pytest.fixture
def fresh_limits(app):
    limiter.reset()
    yield
    limiter.reset()
