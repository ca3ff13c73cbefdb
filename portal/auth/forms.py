from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from portal.forms import PortalForm


def strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class LoginForm(PortalForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[strip],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField("Keep me signed in on this device")


class ResetRequestForm(PortalForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[strip],
        render_kw={"autocomplete": "username"},
    )


class SetPasswordForm(PortalForm):
    password = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=10, max=200, message="Use at least 10 characters (200 at most)."),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
