"""The rendered timeline of a case page, and the rows of the case list, kept for a
minute (the rows: see ``case_row``).

Loading and rendering fifty events is most of what a case page costs, and a case's
events never change once written: a timeline only grows. So the rendered entries are
kept, per worker process, under a key that changes whenever what the viewer would
see could change:

- the newest event the viewer can see (a new reply, note or state change: a new key;
  a customer's key ignores internal notes, which they never see);
- who is looking and how they read it (their id, role and time zone: "You", the role
  pills, local times, internal notes for staff);
- the account's time zone and TAM (the second time on hover, the "Your TAM" pill);
- the current minute, because entries say "5 min ago".

A name changed in the admin pages shows within the minute. The cache is bounded
(``PORTAL_TIMELINE_CACHE_SIZE`` timelines, least recently used first out; 0 turns it
off) and thread-safe; a miss costs one render, as without it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from threading import Lock

from flask import current_app, request
from markupsafe import Markup
from sqlalchemy import bindparam, func, select

from portal.accounts.models import User
from portal.cases.models import Case, CaseEvent
from portal.extensions import db
from portal.timeutil import utcnow


class RenderCache:
    """Rendered markup by key: bounded, least recently used first out, thread-safe."""

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[tuple, Markup] = OrderedDict()
        self._lock = Lock()
        self.hits = self.misses = 0

    def get_or_render(self, key: tuple, render: Callable[[], str]) -> Markup:
        if self.size <= 0:
            return Markup(render())
        with self._lock:
            html = self._entries.get(key)
            if html is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return html
            self.misses += 1
        html = Markup(render())
        with self._lock:
            self._entries[key] = html
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return html

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


def _app_cache(name: str, size_setting: str) -> RenderCache:
    """One of the app's caches (one per app, so a test's app never sees another's)."""
    cache = current_app.extensions.get(name)
    if cache is None:
        cache = current_app.extensions.setdefault(
            name, RenderCache(current_app.config[size_setting])
        )
    return cache


def timeline_cache() -> RenderCache:
    return _app_cache("timeline_cache", "TIMELINE_CACHE_SIZE")


def row_cache() -> RenderCache:
    """Rendered case-list rows (see ``case_row``)."""
    return _app_cache("case_row_cache", "CASE_ROW_CACHE_SIZE")


def case_row(case, endpoint: str = "cases.detail") -> Markup:
    """One row of a case list (``case`` a ``CaseRow``), drawn by the ``case_row`` macro
    of templates/cases/_rows.html and kept like the timeline. A row was 21 us of
    template work, 25 times a page. Its key is everything the row shows (the case's
    id, subject, kind, status and last activity), where it links, the viewer's time
    zone and the minute ("5 min ago"): any change to the case makes a new key."""
    from portal.templating import viewer_clock

    zone, _, now = viewer_clock()
    key = (
        request.script_root,
        endpoint,
        case.id,
        case.subject,
        str(case.kind),
        str(case.status),
        case.last_activity_at,
        zone,
        int(now.timestamp() // 60),
    )
    return row_cache().get_or_render(key, lambda: _row_macro()(case, endpoint))


def _row_macro():
    return current_app.jinja_env.get_template("cases/_rows.html").module.case_row


_NEWEST = select(func.max(CaseEvent.id)).where(CaseEvent.case_id == bindparam("case_id"))
_NEWEST_PUBLIC = _NEWEST.where(CaseEvent.internal.is_(False))


def newest_visible_event(case: Case, viewer: User) -> int | None:
    statement = _NEWEST if viewer.is_staff else _NEWEST_PUBLIC
    return db.session.scalar(statement, {"case_id": case.id})


def timeline_key(case: Case, viewer: User, newest: int) -> tuple:
    return (
        case.id,
        newest,
        viewer.id,
        str(viewer.role),
        viewer.timezone,
        case.account.timezone,
        case.account.tam_id,
        int(utcnow().timestamp() // 60),
    )
