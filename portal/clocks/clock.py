"""Where the clocks read the time. Everything in ``portal.clocks`` calls
``clock.now()`` through this module, so a test sets the time with
``monkeypatch.setattr(clock, "now", lambda: moment)`` and nothing ever sleeps."""

from datetime import datetime

from portal.timeutil import utcnow


def now() -> datetime:
    """Naive UTC, like every DateTime column."""
    return utcnow()
