from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Length

from portal.cases.forms import MAX_BODY
from portal.forms import PortalForm


class NoteForm(PortalForm):
    body = TextAreaField(
        "Internal note",
        id="note-body",
        validators=[DataRequired("Write the note before adding it."), Length(max=MAX_BODY)],
    )


class RequestInfoForm(PortalForm):
    body = TextAreaField(
        "What do you need from the customer?",
        id="info-body",
        validators=[DataRequired("Say what you need from the customer."), Length(max=MAX_BODY)],
    )


class AssignForm(PortalForm):
    assignee_id = SelectField(
        "Owner", coerce=int, validators=[DataRequired("Choose who owns the case.")]
    )
