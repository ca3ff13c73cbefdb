"""The timeline poll's quick answer.

Every open case page asks ``/cases/<reference>/timeline`` every few seconds, and
nearly every answer is "nothing new". That answer is given here from the session
and one SQL statement, without loading the person through Flask-Login and the ORM.
Whenever this cannot be sure (no login id in the session, a session that fails
Flask-Login's "strong" protection, a changed password, a deactivated person, a case
the person may not see, or news to render) it answers None and the view's full path,
with ``current_user``, answers instead: the quick path only ever says 204 or 286,
and only when the full path would have said the same.
"""

from __future__ import annotations

import hmac

from flask import Response, current_app, request, session
from sqlalchemy import text
from sqlalchemy.engine import Compiled

from portal.accounts.models import login_fingerprint
from portal.cases.models import Status, parse_reference
from portal.extensions import db, login_manager

# The same scoping as ``queries.scoped_cases`` (the access tests cover both): a
# customer sees their account's cases, a TAM the cases of the accounts they manage,
# agents and admins every case; a customer does not see internal notes.
_POLL = text(
    "SELECT u.password_hash, u.active, c.status, EXISTS ("
    " SELECT 1 FROM case_event e WHERE e.case_id = c.id AND e.id > :after"
    " AND (u.role <> 'customer' OR e.internal = :public)"
    ') FROM "user" u LEFT JOIN "case" c ON c.id = :case_id AND ('
    " (u.role = 'customer' AND c.account_id = u.account_id)"
    " OR (u.role = 'tam' AND c.account_id IN (SELECT a.id FROM account a WHERE a.tam_id = u.id))"
    " OR u.role IN ('agent', 'admin'))"
    " WHERE u.id = :user_id"
)


_COMPILED: dict[str, Compiled] = {}


def _fetch_one(params: dict) -> tuple | None:
    """Run the poll's statement on a pooled DBAPI connection: no ORM session, no
    statement building per request. A single SELECT needs no transaction of its own;
    giving the connection back to the pool rolls back whatever the driver began."""
    engine = db.engine
    compiled = _COMPILED.get(engine.dialect.name)
    if compiled is None:
        compiled = _COMPILED[engine.dialect.name] = _POLL.compile(dialect=engine.dialect)
    values = compiled.construct_params(params)
    if compiled.positional:
        values = tuple(values[name] for name in compiled.positiontup)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(compiled.string, values)
            return cursor.fetchone()
        finally:
            cursor.close()
    finally:
        connection.close()


# Event ids fit in 63 bits; a larger ``after`` would overflow the database's integer.
MAX_EVENT_ID = 2**63 - 1


def after_param() -> int:
    """The poller's last event id, kept within what the database can compare."""
    return min(max(request.args.get("after", 0, type=int), 0), MAX_EVENT_ID)


def quick_poll(reference: str) -> Response | None:
    """204 (still open) or 286 (resolved: stop polling) when nothing visible is newer
    than ``after``; None when the full path must answer."""
    login_id = session.get("_user_id")
    if not isinstance(login_id, str):
        return None
    user_id, _, fingerprint = login_id.partition(".")
    if not user_id.isdigit():
        return None
    protection = current_app.config.get("SESSION_PROTECTION", login_manager.session_protection)
    if protection and session.get("_id") != login_manager._session_identifier_generator():
        return None  # Flask-Login deals with it on the full path
    case_id = parse_reference(reference)
    if case_id is None:
        return None
    row = _fetch_one(
        {"after": after_param(), "public": False, "case_id": case_id, "user_id": int(user_id)}
    )
    if row is None:
        return None  # no such person
    password_hash, active, status, news = row
    if not (active and password_hash) or not hmac.compare_digest(
        login_fingerprint(password_hash), fingerprint
    ):
        return None
    if status is None or news:
        return None  # not theirs to see (404), or something to show
    response = current_app.response_class(status=286 if status == Status.RESOLVED else 204)
    response.vary.add("HX-Request")
    return response
