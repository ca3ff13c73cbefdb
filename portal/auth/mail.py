"""The two mails that carry a password link: reset and invitation.

Both are written to the outbox in the caller's transaction (flush only) and sent
by the worker (portal.mail.outbox), never inside the request: a request then does
the same work whether or not the address belongs to someone, and an SMTP outage
costs the page nothing. The link is minted when the row is written, so its
lifetime counts from the request, and it stops working once a password is set
(see portal.auth.passwords)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, url_for

from portal.accounts.models import User
from portal.auth.passwords import make_token
from portal.mail import outbox
from portal.mail.models import OutboundMessage
from portal.timeutil import utcnow

RESET_SUBJECT = "Reset your support portal password"
INVITATION_SUBJECT = "You are invited to the support portal"


def link_to(endpoint: str, **values) -> str:
    """An absolute link for a mail. With ``PUBLIC_URL`` configured the host comes from
    there, not from the request's Host header, which whoever asks for a reset controls."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)


def describe_duration(delta: timedelta) -> str:
    """'1 hour', '7 days', '30 minutes': how long a link stays valid, in words."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            amount = seconds // size
            return f"{amount} {unit}{'s' if amount != 1 else ''}"
    minutes = max(1, seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _link_body(user: User, template: str, endpoint: str, purpose: str, valid_for: timedelta) -> str:
    url = link_to(endpoint, token=make_token(user, purpose))
    return render_template(
        f"email/{template}.txt", user=user, url=url, valid_for=describe_duration(valid_for)
    )


def queue_password_reset(user: User | None, address: str) -> OutboundMessage | None:
    """Queue the reset mail for an active ``user``; for anyone else (no such address,
    a deactivated user) do the same work, token, body and rate-limit read included,
    and write nothing, so the answer takes as long either way.

    The mail counts as automatic: whoever knows an address can ask, so the hourly
    per-recipient limit of automatic mail also keeps a flood of resets out of a
    mailbox."""
    now = utcnow()
    valid_for = current_app.config["PASSWORD_RESET_MAX_AGE"]
    if user is None or not user.active:
        # Never added to the session: a stand-in with the shape of a user without a password.
        stand_in = User(id=0, name="", email=address.strip(), password_hash=None)
        _link_body(stand_in, "password_reset", "auth.reset_confirm", "reset", valid_for)
        outbox.automatic_sent_recently(stand_in.email, now)
        return None
    body = _link_body(user, "password_reset", "auth.reset_confirm", "reset", valid_for)
    # The address alone: the name is free text and stays in the body.
    return outbox.queue_message(
        to=user.email, subject=RESET_SUBJECT, body_text=body, recipient=user, now=now
    )


def queue_invitation(user: User) -> OutboundMessage | None:
    """None when nothing was queued (the address is one of the portal's own).

    Not automatic: an administrator asked for it, so it is never held back by the
    hourly limit."""
    body = _link_body(
        user, "invitation", "auth.accept_invite", "invite", current_app.config["INVITE_MAX_AGE"]
    )
    return outbox.queue_message(
        to=user.email, subject=INVITATION_SUBJECT, body_text=body, recipient=user, automatic=False
    )
