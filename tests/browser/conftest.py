"""The browser tests run once, on SQLite; their fixtures live in tests/browser_support.py."""

from __future__ import annotations

import pytest

from tests.browser_support import (  # noqa: F401  (names other test modules import from here)
    CHROMIUM,
    CHROMIUM_ARGS,
    NARROW,
    SCREENSHOTS,
    WIDE,
    _unavailable,
)


@pytest.fixture(autouse=True)
def _sqlite_only(request):
    """The browser tests run once, on SQLite: the PostgreSQL run of the suite checks
    the same views through the test client. Skipping here, before any other fixture,
    spares setting up the PostgreSQL world only to skip."""
    callspec = getattr(request.node, "callspec", None)
    backend = callspec.params.get("database", "sqlite") if callspec else "sqlite"
    if backend != "sqlite":
        pytest.skip("the browser tests run on the SQLite database only")


