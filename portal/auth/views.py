"""Sign-in, sign-out and the two ways to set a password: a reset link and an invitation."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.auth.forms import LoginForm, ResetRequestForm, SetPasswordForm
from portal.auth.mail import describe_duration, queue_password_reset
from portal.auth.passwords import check_password, hash_password, user_for_token
from portal.extensions import db, limiter
from portal.timeutil import utcnow

bp = Blueprint("auth", __name__)

BAD_CREDENTIALS = "Email or password is incorrect."
# Browsers read a backslash as a slash and drop tabs and newlines, so "/\evil.example"
# and "/\t/evil.example" both lead to another host.
_UNSAFE_IN_NEXT = re.compile(r"[\\\x00-\x20\x7f]")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if _UNSAFE_IN_NEXT.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


TOO_MANY_SIGN_INS = (
    "Too many sign-in attempts from your network. Please wait a minute and try again."
)
TOO_MANY_RESETS = (
    "Too many password reset requests from your network. Please try again later, "
    "or call the Severity 1 hotline if mail is not going out."
)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    _login_limit,
    methods=["POST"],
    error_message=TOO_MANY_SIGN_INS,
    # Only failed attempts count: people who sign in correctly are never locked out.
    deduct_when=lambda response: response.status_code != 303,
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_by_email(form.email.data)
        # One message whatever was wrong, so the form does not tell which addresses exist.
        if check_password(user, form.password.data) and user.is_active:
            user.last_login_at = utcnow()
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"), 303)
        form.password.errors.append(BAD_CREDENTIALS)
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"], error_message=TOO_MANY_RESETS)
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        # Invited people who lost their invitation may use this too: the link proves
        # the same thing, that they read mail at this address. The mail goes through
        # the outbox, so a known address costs the request no more than an unknown one.
        queue_password_reset(user_by_email(form.email.data), form.email.data)
        db.session.commit()
        valid_for = describe_duration(current_app.config["PASSWORD_RESET_MAX_AGE"])
        flash(
            "If an account exists for that address, a link to set a new password is on its way "
            f"to it (within a minute). The link works once, for {valid_for}.",
            "info",
        )
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/reset_request.html", form=form), 422 if form.errors else 200


def _set_password_view(token: str, purpose: str, max_age_key: str, title: str):
    user = user_for_token(token, purpose, current_app.config[max_age_key])
    if user is None:
        return render_template("auth/link_invalid.html", purpose=purpose), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        # A new hash changes the fingerprint inside every link sent so far: they all stop working.
        user.password_hash = hash_password(form.password.data)
        db.session.commit()
        flash("Your password is set. Please sign in.", "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/set_password.html", form=form, title=title, user=user), (
        422 if form.errors else 200
    )


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@limiter.limit(
    _reset_limit,
    methods=["POST"],
    error_message=TOO_MANY_RESETS,
    deduct_when=lambda response: response.status_code != 303,
)
def reset_confirm(token: str):
    return _set_password_view(token, "reset", "PASSWORD_RESET_MAX_AGE", "Choose a new password")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    return _set_password_view(token, "invite", "INVITE_MAX_AGE", "Welcome: choose your password")
