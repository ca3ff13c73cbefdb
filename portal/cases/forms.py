from __future__ import annotations

from flask import current_app
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateTimeLocalField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from portal.cases.models import Kind
from portal.forms import choices

MAX_BODY = 20_000


def _files_within_limits(form, field) -> None:
    files = [f for f in field.data or [] if f and getattr(f, "filename", "")]
    limit_count = current_app.config["ATTACHMENT_MAX_COUNT"]
    limit_bytes = current_app.config["ATTACHMENT_MAX_BYTES"]
    if len(files) > limit_count:
        raise ValidationError(f"Attach at most {limit_count} files at a time.")
    for f in files:
        f.stream.seek(0, 2)
        size = f.stream.tell()
        f.stream.seek(0)
        if size > limit_bytes:
            raise ValidationError(
                f"{f.filename} is {size / 1048576:.1f} MB; the limit is "
                f"{limit_bytes // 1048576} MB per file."
            )


class AttachmentsMixin:
    attachments = MultipleFileField("Attachments", validators=[_files_within_limits])


class NewCaseForm(AttachmentsMixin, FlaskForm):
    subject = StringField(
        "Subject",
        validators=[
            DataRequired("Give the case a short subject, e.g. \"Gmail defers with 421 4.7.28\"."),
            Length(max=200),
        ],
    )
    description = TextAreaField(
        "Description",
        validators=[DataRequired("Describe what you see and since when."), Length(max=MAX_BODY)],
    )
    detail_fields: tuple[str, ...] = ()

    def details(self) -> dict:
        out = {}
        for name in self.detail_fields:
            value = getattr(self, name).data
            if value not in (None, ""):
                out[name] = value.isoformat() if hasattr(value, "isoformat") else value
        return out


CHANNELS = [("api", "HTTP API"), ("smtp", "SMTP injection"), ("both", "Both API and SMTP")]


class BugForm(NewCaseForm):
    channel = SelectField(
        "Where do you see it?",
        choices=choices([*CHANNELS, ("portal", "Dashboard or reporting"), ("other", "Somewhere else")]),
    )
    steps = TextAreaField("Steps to reproduce", validators=[Optional(), Length(max=MAX_BODY)])
    expected = TextAreaField("What you expected", validators=[Optional(), Length(max=5000)])
    actual = TextAreaField("What happened instead", validators=[Optional(), Length(max=5000)])
    request_ids = StringField(
        "Request ids or message ids", validators=[Optional(), Length(max=500)]
    )
    detail_fields = ("channel", "steps", "expected", "actual", "request_ids")


class ConfigurationForm(NewCaseForm):
    area = SelectField(
        "What should change?",
        choices=choices([
            ("sending_domain", "Sending or tracking domain"),
            ("ip_pool", "Dedicated IPs and IP pools"),
            ("smtp_credentials", "SMTP credentials or API keys"),
            ("webhooks", "Webhooks and event delivery"),
            ("suppression", "Suppression lists"),
            ("limits", "Sending limits or throughput"),
            ("other", "Something else"),
        ]),
    )
    change = TextAreaField(
        "The change, exactly as you want it", validators=[DataRequired(), Length(max=MAX_BODY)]
    )
    wanted_by = DateTimeLocalField(
        "Wanted by (optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    detail_fields = ("area", "change", "wanted_by")


class InformationForm(NewCaseForm):
    topic = SelectField(
        "Topic",
        choices=choices([
            ("deliverability", "Deliverability"),
            ("api", "API and SMTP usage"),
            ("billing", "Contract and usage"),
            ("other", "Something else"),
        ]),
    )
    detail_fields = ("topic",)


class CriticalForm(NewCaseForm):
    channel = RadioField("What is failing?", choices=choices(CHANNELS), validators=[DataRequired()])
    since = DateTimeLocalField(
        "Failing since (your local time)", format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    error_samples = TextAreaField(
        "Sample errors or request ids",
        validators=[DataRequired(), Length(max=MAX_BODY)],
        description="Paste a few full error responses (status code and body) or SMTP replies.",
    )
    contact_phone = StringField(
        "Phone number for the callback", validators=[DataRequired(), Length(max=40)]
    )
    detail_fields = ("channel", "since", "error_samples", "contact_phone")


KIND_FORMS: dict[Kind, type[NewCaseForm]] = {
    Kind.BUG: BugForm,
    Kind.CONFIGURATION: ConfigurationForm,
    Kind.INFORMATION: InformationForm,
    Kind.CRITICAL: CriticalForm,
}

KIND_HINTS = {
    Kind.BUG: "Something in the service misbehaves, but your mail is still going out.",
    Kind.CONFIGURATION: "You want us to change a setting of your account.",
    Kind.INFORMATION: "You have a question about the service or your sending.",
    Kind.CRITICAL: "API calls or SMTP injections are failing persistently. Open the case, "
    "then call the Severity 1 hotline.",
}


class ReplyForm(AttachmentsMixin, FlaskForm):
    body = TextAreaField(
        "Your reply",
        id="reply-body",
        validators=[DataRequired("Write the reply before sending it."), Length(max=MAX_BODY)],
    )


class ProposeResolutionForm(FlaskForm):
    summary = TextAreaField(
        "What resolves this case",
        validators=[DataRequired("Say what resolves the case."), Length(max=MAX_BODY)],
    )
    resolution_kind = RadioField(
        "This is a",
        choices=choices([("fix", "Fix"), ("workaround", "Workaround")]),
        validators=[Optional()],
    )


class DisputeForm(FlaskForm):
    reason = TextAreaField(
        "What is still not working",
        validators=[DataRequired("Say what is still not working."), Length(max=MAX_BODY)],
    )


def describe_details(case) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The kind's own fields as (label, shown value): short ones for the side panel,
    long texts for the main column. Choice values are shown by their labels."""
    form_class = KIND_FORMS.get(case.kind)
    short, long = [], []
    if form_class is None:
        return [(k.replace("_", " ").capitalize(), str(v)) for k, v in case.details.items()], []
    form = form_class(formdata=None, meta={"csrf": False})
    for name in form_class.detail_fields:
        value = case.details.get(name)
        if value in (None, ""):
            continue
        field = getattr(form, name)
        shown = str(value)
        for choice in getattr(field, "choices", None) or []:
            if str(choice.value) == shown:
                shown = choice.label
        target = long if field.type == "TextAreaField" else short
        target.append((field.label.text, shown))
    return short, long
