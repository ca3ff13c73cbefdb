"""Text from outside, made fit for the database where it comes in.

NUL (U+0000) means nothing in text a person types or a mail carries. SQLite
stores it, but PostgreSQL refuses it in text, both in a column and as a query
parameter, so a stray one (pasted from a binary log, sent by a scanner) turned
a reply or a search into a 500. It is dropped, never refused: nobody can see it
to remove it, and the rest of what they typed is kept. Forms drop it through
``portal.forms.PortalForm``, requests (query string and form data) through
``PortalRequest``, inbound mail in ``portal.mail.inbound_parse.parse``.
"""

from __future__ import annotations

from typing import Any

from flask import request
from htmx_flask.requests import HtmxAwareRequest
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter

NUL = "\x00"


def drop_nul(value: Any) -> Any:
    """``value`` without NUL when it is text; anything else as it is."""
    if isinstance(value, str) and NUL in value:
        return value.replace(NUL, "")
    return value


class NulFreeMultiDict(ImmutableMultiDict):
    """``request.args`` and ``request.form`` (files keep their own names; see
    ``portal.cases.attachments.clean_filename``)."""

    def __init__(self, mapping=None):
        pairs = MultiDict(mapping).items(multi=True)
        super().__init__([(drop_nul(key), drop_nul(value)) for key, value in pairs])


class PortalRequest(HtmxAwareRequest):
    """htmx-flask's request (``request.htmx``), its parameters without NUL."""

    parameter_storage_class = NulFreeMultiDict


# Numbers from a URL, within what a database integer holds: beyond it SQLite raises
# OverflowError (a 500) where the person should get a 404 or the default.
DB_INT_MAX = 2**63 - 1


def db_int(value: str) -> int:
    """``int`` for ``request.args.get(name, default, type=db_int)``: a number no
    database integer holds is a ValueError, so the default is used instead."""
    number = int(value)
    if not -DB_INT_MAX <= number <= DB_INT_MAX:
        raise ValueError(f"{value!r} is out of range")
    return number


class DbIntConverter(IntegerConverter):
    """``<int:...>`` in routes: a number beyond a database integer does not match (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", DB_INT_MAX)
        super().__init__(map, *args, **kwargs)


# The last page a list will show: a larger number reaches the database as an
# OFFSET no integer holds.
MAX_PAGE = 1_000_000


def page_arg() -> int:
    """The ``page`` query argument of a list, between 1 and MAX_PAGE (garbage is 1)."""
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
