import re
from html import unescape

from portal.extensions import db
from portal.mail import outbox


def field_errors(html: str, field_id: str) -> list[str]:
    """The messages shown beside one field."""
    found = re.findall(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return [unescape(message) for message in found]


def without_csrf_tokens(html: str) -> str:
    """CSRF tokens carry a timestamp: two otherwise equal pages differ there."""
    html = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1TOKEN", html)
    return re.sub(r'(name="csrf_token" type="hidden" value=")[^"]+', r"\1TOKEN", html)


def deliver(smtp_server):
    """What the worker does each minute: send the outbox's due mail. Returns the
    server, to read what arrived. The test's own transaction ends first, so the
    worker's read sees what the requests committed."""
    db.session.commit()
    outbox.send_due()
    return smtp_server
