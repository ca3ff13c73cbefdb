"""The two mails that carry a password link: reset and invitation.

Sent synchronously through Flask-Mail's ``send`` (which refuses CR/LF in headers)
and only after the caller has committed, so a link never names a row that a
rollback took away."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, url_for
from flask_mail import BadHeaderError, Message

from portal.accounts.models import User
from portal.auth.passwords import make_token
from portal.extensions import mail


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


def send_link_mail(user: User, subject: str, template: str, url: str, valid_for: timedelta) -> bool:
    """True when the SMTP server took the message; failures are logged, not raised."""
    message = Message(
        subject=subject,
        # The address alone: the name is free text and stays in the body.
        recipients=[user.email],
        body=render_template(
            f"email/{template}.txt", user=user, url=url, valid_for=describe_duration(valid_for)
        ),
    )
    try:
        mail.send(message)
    except (OSError, BadHeaderError):  # smtplib's errors are OSErrors
        current_app.logger.exception("could not send %s mail to user %s", template, user.id)
        return False
    return True


def send_password_reset(user: User) -> bool:
    url = link_to("auth.reset_confirm", token=make_token(user, "reset"))
    return send_link_mail(
        user,
        "Reset your support portal password",
        "password_reset",
        url,
        current_app.config["PASSWORD_RESET_MAX_AGE"],
    )


def send_invitation(user: User) -> bool:
    url = link_to("auth.accept_invite", token=make_token(user, "invite"))
    return send_link_mail(
        user,
        "You are invited to the support portal",
        "invitation",
        url,
        current_app.config["INVITE_MAX_AGE"],
    )
