"""The clock sweep as a periodic job of the worker (``flask worker``), every minute.

Several workers may run it at once: each warning still goes out once (see
``portal.clocks.sweep``)."""

from __future__ import annotations

from flask import current_app

from portal.clocks.sweep import run_sweep
from portal.tasks import periodic


@periodic(name="clocks.sweep")
def sweep_clocks() -> int:
    sent = run_sweep()
    if sent:
        current_app.logger.info("clock sweep: %d warning(s) sent", len(sent))
    return len(sent)
