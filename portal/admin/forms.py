from sqlalchemy import func, select
from wtforms import EmailField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Email, Length, Regexp

from portal.accounts.models import Role, User
from portal.auth.forms import strip
from portal.extensions import db
from portal.forms import PortalForm, choices

ROLE_LABELS = {
    Role.CUSTOMER: "Customer",
    Role.AGENT: "Support agent",
    Role.TAM: "Technical account manager",
    Role.ADMIN: "Administrator",
}


def optional_int(value) -> int | None:
    """'' means no choice; anything else must be a number (else WTForms reports it)."""
    if value in (None, "", "None"):
        return None
    return int(value)


class InviteUserForm(PortalForm):
    email = EmailField(
        "Email",
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[strip],
        render_kw={"autocomplete": "off"},
    )
    name = StringField(
        "Name",
        validators=[
            DataRequired(),
            Length(max=200),
            # The name goes into mail; line breaks there are how headers get injected.
            Regexp(
                r"^[^\x00-\x1f\x7f]*\Z",
                message="Use a name without line breaks or control characters.",
            ),
        ],
        filters=[strip],
    )
    role = SelectField(
        "Role",
        choices=choices((str(role), label) for role, label in ROLE_LABELS.items()),
        default="customer",
    )
    account_id = SelectField(
        "Account",
        coerce=optional_int,
        description="Customers belong to exactly one account; staff to none.",
    )

    def validate_email(self, field) -> None:
        taken = db.session.scalar(
            select(User.id).where(func.lower(User.email) == (field.data or "").lower())
        )
        if taken:
            raise ValidationError("Someone already has this address.")

    def validate_account_id(self, field) -> None:
        if self.role.data == Role.CUSTOMER and field.data is None:
            raise ValidationError("Choose the customer's account.")
        if self.role.data != Role.CUSTOMER and field.data is not None:
            raise ValidationError("Staff do not belong to a customer account: choose “No account”.")


class TamForm(PortalForm):
    tam_id = SelectField("Technical account manager", coerce=optional_int)
