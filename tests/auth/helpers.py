import re
from html import unescape


def field_errors(html: str, field_id: str) -> list[str]:
    """The messages shown beside one field."""
    found = re.findall(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return [unescape(message) for message in found]


def without_csrf_tokens(html: str) -> str:
    """CSRF tokens carry a timestamp: two otherwise equal pages differ there."""
    html = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1TOKEN", html)
    return re.sub(r'(name="csrf_token" type="hidden" value=")[^"]+', r"\1TOKEN", html)
