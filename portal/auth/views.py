from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from flask_mail import Message
from sqlalchemy import func, select

from portal.accounts.models import User
from portal.auth.forms import LoginForm, ResetRequestForm, SetPasswordForm
from portal.auth.passwords import check_password, hash_password, make_token, user_for_token
from portal.extensions import db, limiter, mail
from portal.timeutil import utcnow

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no protocol-relative URL."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _reset_limit() -> str:
    return current_app.config["RESET_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = _user_by_email(form.email.data)
        if check_password(user, form.password.data) and user.is_active:
            user.last_login_at = utcnow()
            db.session.commit()
            login_user(user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")) or url_for("main.home"), 303)
        form.password.errors.append("Email or password is incorrect.")
    status = 422 if form.errors else 200
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"), 303)


def send_link_mail(user: User, subject: str, template: str, url: str) -> None:
    message = Message(
        subject=subject,
        recipients=[user.email],
        body=render_template(f"email/{template}.txt", user=user, url=url),
    )
    try:
        mail.send(message)
    except OSError:
        # The answer must not tell whether the address exists; the failure is logged.
        current_app.logger.exception("could not send %s mail", template)


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = _user_by_email(form.email.data)
        if user is not None and user.is_active:
            token = make_token(user, "reset")
            url = url_for("auth.reset_confirm", token=token, _external=True)
            send_link_mail(user, "Reset your support portal password", "password_reset", url)
        flash(
            "If an account exists for that address, we have sent it a link to set a new "
            "password. The link works once, for one hour.",
            "info",
        )
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/reset_request.html", form=form), 422 if form.errors else 200


def _set_password_view(token: str, purpose: str, max_age_key: str, title: str):
    user = user_for_token(token, purpose, current_app.config[max_age_key])
    if user is None:
        return render_template(
            "auth/link_invalid.html", title=title
        ), 404
    form = SetPasswordForm()
    if form.validate_on_submit():
        user.password_hash = hash_password(form.password.data)
        db.session.commit()
        flash("Your password is set. Please sign in.", "success")
        return redirect(url_for("auth.login"), 303)
    return render_template("auth/set_password.html", form=form, title=title, user=user), (
        422 if form.errors else 200
    )


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def reset_confirm(token: str):
    return _set_password_view(token, "reset", "PASSWORD_RESET_MAX_AGE", "Choose a new password")


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invite(token: str):
    return _set_password_view(token, "invite", "INVITE_MAX_AGE", "Welcome: choose your password")
