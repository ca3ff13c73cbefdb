"""Filters and globals that templates use to show times and states."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_login import current_user
from markupsafe import Markup, escape

from portal.markdown import render_markdown, render_message
from portal.timeutil import utcnow


def viewer_zone() -> ZoneInfo:
    if current_user and current_user.is_authenticated:
        return current_user.zone
    return ZoneInfo("UTC")


def as_aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


TIME_FORMAT = "%a %d %b %Y %H:%M %Z"


def local_time(moment: datetime | None, zone: ZoneInfo | str | None = None, fmt: str = TIME_FORMAT) -> str:
    if moment is None:
        return ""
    if isinstance(zone, str):
        zone = ZoneInfo(zone)
    return as_aware(moment).astimezone(zone or viewer_zone()).strftime(fmt)


def relative(moment: datetime | None, now: datetime | None = None) -> str:
    """'in 7 min', '2 h ago', '3 d ago'."""
    if moment is None:
        return ""
    now = now or utcnow()
    seconds = (as_aware(moment) - as_aware(now)).total_seconds()
    future, seconds = seconds > 0, abs(seconds)
    if seconds < 60:
        return "just now" if not future else "in under a minute"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            amount = int(seconds // size)
            return f"in {amount} {unit}" if future else f"{amount} {unit} ago"
    return ""


DAY_NAMES = {"mon": "Mon", "tue": "Tue", "wed": "Wed", "thu": "Thu", "fri": "Fri", "sat": "Sat", "sun": "Sun"}


def hours_summary(hours: dict) -> str:
    """{"mon": [["09:00","17:00"]], ...} -> "Mon–Fri 09:00–17:00; Sat 10:00–14:00"."""
    groups: list[tuple[list[str], str]] = []
    for day in DAY_NAMES:
        spans = ", ".join(f"{start}–{end}" for start, end in hours.get(day, []))
        if not spans:
            continue
        if groups and groups[-1][1] == spans and _follows(groups[-1][0][-1], day):
            groups[-1][0].append(day)
        else:
            groups.append(([day], spans))
    parts = []
    for days, spans in groups:
        label = DAY_NAMES[days[0]] if len(days) == 1 else f"{DAY_NAMES[days[0]]}–{DAY_NAMES[days[-1]]}"
        parts.append(f"{label} {spans}")
    return "; ".join(parts) or "No business hours set"


def _follows(previous: str, day: str) -> bool:
    order = list(DAY_NAMES)
    return order.index(day) == order.index(previous) + 1


def iso(moment: datetime | None) -> str:
    return as_aware(moment).isoformat() if moment else ""


# Small pieces of markup that lists and timelines repeat on every row are Python
# rather than Jinja macros: a macro call costs several times a function call, and
# a 50-event case page makes over a hundred of them.



def when(moment: datetime | None, zone: str | None = None) -> Markup:
    """A relative time ("2 h ago") with the full local time on hover; when the
    account's zone differs from the viewer's, the hover shows both."""
    if not moment:
        return Markup("")
    moment = as_aware(moment)
    mine, my_zone, now = viewer_clock()
    title = moment.astimezone(my_zone).strftime(TIME_FORMAT)
    if zone and zone != mine:
        title = f"{title} · {moment.astimezone(ZoneInfo(zone)).strftime(TIME_FORMAT)}"
    # f-strings with escape(): Markup.format is several times slower. relative()
    # writes only digits and its own words, so it needs no escaping.
    return Markup(
        f'<time datetime="{moment.isoformat()}" title="{escape(title)}">'
        f"{relative(moment, now)}</time>"
    )


def viewer_clock() -> tuple[str | None, ZoneInfo, datetime]:
    """(the viewer's time zone name, its ZoneInfo, now), read once per request: one
    page's times are all relative to the same moment."""
    if has_request_context():
        cached = g.get("_viewer_zone")
        if cached is not None:
            return cached
    user = current_user._get_current_object() if has_request_context() else None
    now = as_aware(utcnow())
    if user is not None and user.is_authenticated:
        viewer = (user.timezone, user.zone, now)
    else:
        viewer = (None, ZoneInfo("UTC"), now)
    if has_request_context():
        g._viewer_zone = viewer
    return viewer


def case_url(reference: str, endpoint: str = "cases.detail") -> str:
    """``url_for(endpoint, reference=reference)`` for lists: werkzeug builds the route
    once per request and each row puts its reference in (building it 25 times was a
    fifth of a list page)."""
    patterns = g.setdefault("_case_url_patterns", {})
    pattern = patterns.get(endpoint)
    if pattern is None:
        pattern = patterns[endpoint] = url_for(endpoint, reference=_SLOT)
    return pattern.replace(_SLOT, reference)


_SLOT = "__reference__"


def link(endpoint: str, **values: str) -> str:
    """``url_for`` for the links every page repeats (the navigation, stylesheets and
    scripts): the same on every request, so built once per app and script root. A
    page has a dozen of them, and werkzeug builds each afresh."""
    built = current_app.extensions.setdefault("portal_links", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = built.get(key)
    if url is None:
        url = built[key] = url_for(endpoint, **values)
    return url


def status_badge(case) -> Markup:
    return Markup(f'<span class="badge status-{escape(case.status)}">{escape(case.status_label)}</span>')


def kind_badge(case) -> Markup:
    return Markup(f'<span class="badge kind-{escape(case.kind)}">{escape(case.kind_label)}</span>')


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(
        localtime=local_time,
        relative=relative,
        iso=iso,
        markdown=render_markdown,
        message=render_message,
        hours_summary=hours_summary,
    )
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    # The UI macros are globals rather than per-template imports: a fragment rendered
    # from a single block never runs the template's top-level imports.
    app.jinja_env.globals["current_user"] = current_user
    macros = app.jinja_env.get_template("_macros/ui.html").module
    for name in ("field", "pager"):
        app.jinja_env.globals[name] = getattr(macros, name)
    app.jinja_env.globals.update(
        when=when, status_badge=status_badge, kind_badge=kind_badge, case_url=case_url, link=link
    )
    from portal.cases.fragments import case_row

    app.jinja_env.globals["case_row"] = case_row

    @app.context_processor
    def globals_():
        return {
            "hotline_number": current_app.config["HOTLINE_NUMBER"],
            "now": utcnow(),
        }
