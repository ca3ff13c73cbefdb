from __future__ import annotations

from datetime import timedelta
from functools import cache

from flask import current_app
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateField,
    DateTimeLocalField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from portal.cases import remediation
from portal.cases.models import Kind
from portal.forms import PortalForm, choices
from portal.planner.forms import CountField, PercentField
from portal.timeutil import utcnow

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


class NewCaseForm(AttachmentsMixin, PortalForm):
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


PLANNING_TOPICS = [
    ("migration", "Migration onto the service"),
    ("capacity", "Capacity growth"),
    ("feature", "A new feature or way of sending"),
]


class PlanningForm(NewCaseForm):
    """A planning request for the account's TAM (assigned to them when opened, by
    portal.tam.services). ``?topic=`` and ``?plan=`` preselect from the TAM page and
    the planner."""

    topic = RadioField(
        "What do you want to plan?",
        choices=choices(PLANNING_TOPICS),
        validators=[DataRequired("Choose what you want to plan.")],
    )
    needed_by = DateField("Needed by (optional)", validators=[Optional()])
    volumes = StringField(
        "Volumes today and expected (optional)",
        validators=[Optional(), Length(max=300)],
        description="For example: 2M a day today, 5M a day from March.",
    )
    warmup_plan = SelectField("Warm-up plan to review (optional)", validators=[Optional()])
    # The plan is stored by details() below and shown by the case page itself, as a
    # link to the planner for whoever may see the plan.
    detail_fields = ("topic", "needed_by", "volumes")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from flask import request
        from flask_login import current_user

        from portal.planner.services import plans_for_account

        plans = []
        if current_user and current_user.is_authenticated and current_user.account_id:
            plans = plans_for_account(current_user.account_id)
        self._plans = {str(p.id): p for p in plans}
        self.warmup_plan.choices = choices([("", "None"), *((str(p.id), p.name) for p in plans)])
        if not self.is_submitted() and request:
            if request.args.get("topic") in dict(PLANNING_TOPICS):
                self.topic.data = request.args["topic"]
            if request.args.get("plan") in self._plans:
                self.warmup_plan.data = request.args["plan"]

    def validate_needed_by(self, field):
        if field.data and field.data < _viewer_today():
            raise ValidationError("That date has passed; choose today or later, or leave it empty.")

    def details(self) -> dict:
        out = super().details()
        plan = self._plans.get(self.warmup_plan.data or "")
        if plan is not None:
            # Kept readable for whoever reads the case; the id for a link.
            out["warmup_plan"] = f"{plan.name} (plan {plan.id})"
            out["warmup_plan_id"] = plan.id
        return out


def _viewer_today():
    from datetime import datetime

    from flask_login import current_user

    return datetime.now(current_user.zone).date()


REMEDIATION_PROVIDERS = [
    ("", "Choose the mailbox provider"),
    ("microsoft", "Microsoft (Outlook.com, Hotmail, Live, MSN)"),
    ("gmail", "Gmail"),
    ("yahoo", "Yahoo and AOL"),
    ("comcast", "Comcast"),
    ("other", "Another provider"),
]
AUTH_STATES = [("", "Choose"), ("pass", "In place and passing"), ("fail", "Missing or failing"), ("unknown", "Not sure")]
DMARC_STATES = [
    ("", "Choose"),
    ("reject", "p=reject, aligned"),
    ("quarantine", "p=quarantine, aligned"),
    ("none", "p=none, aligned"),
    ("fail", "Missing or not aligned"),
    ("unknown", "Not sure"),
]


def _choose(what: str):
    return DataRequired(f"Choose one for {what} (“Not sure” is fine).")


class RemediationForm(NewCaseForm):
    """Tier 1 (standard, form-based) block remediation with a mailbox provider: the
    common schema of Microsoft's, Yahoo's, Gmail's and Comcast's forms, checked by
    portal.cases.remediation. Tier 2 mediation and inbox placement are not part of
    the contract, and the page says so beside the form."""

    provider = SelectField(
        "Mailbox provider",
        choices=choices(REMEDIATION_PROVIDERS),
        validators=[DataRequired("Choose the mailbox provider that blocks or defers your mail.")],
    )
    provider_other = StringField("Which provider (if another)", validators=[Length(max=200)])
    recipient_domains = StringField(
        "Recipient domains affected (optional)",
        validators=[Optional(), Length(max=500)],
        description="For example: outlook.com, hotmail.com.",
    )
    ip_scope = RadioField(
        "The IPs are",
        choices=choices([("dedicated", "Dedicated to us"), ("shared", "Shared")]),
        validators=[DataRequired("Say whether the IPs are dedicated or shared.")],
    )
    ips = TextAreaField(
        "Affected IPs or CIDR ranges",
        validators=[DataRequired("Enter the affected sending IPs or CIDR ranges."), Length(max=5000)],
        description="One a line, IPv4 or IPv6, e.g. 203.0.113.25 or 2001:db8:1::/48. Ranges up to /22 (IPv4) or /48 (IPv6).",
    )
    sending_domain = StringField(
        "Sending domain (From)", validators=[DataRequired("Enter the domain in your From address."), Length(max=253)]
    )
    dkim_domain = StringField(
        "DKIM d= domain (optional)", validators=[Optional(), Length(max=253)],
        description="The d= of your DKIM-Signature header.",
    )
    return_path_domain = StringField(
        "Return-Path domain (optional)", validators=[Optional(), Length(max=253)],
        description="The bounce (envelope sender) domain.",
    )
    smtp_responses = TextAreaField(
        "Full SMTP responses",
        validators=[DataRequired("Paste the SMTP responses you get, with their codes."), Length(max=MAX_BODY)],
        description="One a line, exactly as received, e.g. 550 5.7.1 Unfortunately, messages from [203.0.113.25] weren't sent… (S3140). A line starting with a space continues the one before.",
    )
    first_seen = DateTimeLocalField(
        "First seen (UTC)", format="%Y-%m-%dT%H:%M",
        validators=[InputRequired("Enter when the problem started, in UTC.")],
    )
    last_seen = DateTimeLocalField(
        "Last seen (UTC, optional)", format="%Y-%m-%dT%H:%M", validators=[Optional()],
        description="Leave empty if it is still happening.",
    )
    volume_before = CountField(
        "Daily volume to this provider before",
        validators=[InputRequired("Enter the daily volume to this provider before the problem (0 if none).")],
        description="Messages a day; 2,500,000 and 2.5M both work.",
    )
    volume_now = CountField(
        "Daily volume to this provider now",
        validators=[InputRequired("Enter the daily volume to this provider now (0 if it is all blocked).")],
    )
    mail_type = SelectField(
        "Mail type",
        choices=choices([("", "Choose"), ("transactional", "Transactional (receipts, alerts, password resets)"),
                         ("marketing", "Marketing"), ("both", "Both")]),
        validators=[DataRequired("Choose the type of mail.")],
    )  # fmt: skip
    opt_in = SelectField(
        "How recipients opted in",
        choices=choices([("", "Choose"), ("double", "Confirmed (double) opt-in"), ("single", "Single opt-in"),
                         ("relationship", "Existing customer relationship (account or purchase)"),
                         ("other", "Other (say how in the description)")]),
        validators=[DataRequired("Choose how recipients opted in.")],
    )  # fmt: skip
    complaint_rate = PercentField(
        "Complaint rate (%)", places=3, empty_is_zero=False,
        description="Spam complaints per delivered message, e.g. 0.08. Providers expect under 0.3%, ideally under 0.1%.",
    )
    bounce_rate = PercentField(
        "Bounce rate (%)", places=3, empty_is_zero=False,
        description="Bounces per sent message, e.g. 1.5. Over 5% needs review before remediation.",
    )
    blocklist_status = SelectField(
        "Blocklist status",
        choices=choices([("", "Choose"), ("not_listed", "Not listed on any major blocklist"),
                         ("listed", "Listed (say where below)"), ("unknown", "Not checked")]),
        validators=[DataRequired("Choose the blocklist status (“Not checked” is fine).")],
    )  # fmt: skip
    blocklists = StringField("Which blocklists (if listed)", validators=[Length(max=500)])
    spf = SelectField("SPF", choices=choices(AUTH_STATES), validators=[_choose("SPF")])
    dkim = SelectField("DKIM", choices=choices(AUTH_STATES), validators=[_choose("DKIM")])
    dmarc = SelectField("DMARC", choices=choices(DMARC_STATES), validators=[_choose("DMARC")])
    fcrdns = SelectField(
        "Forward-confirmed reverse DNS", choices=choices(AUTH_STATES), validators=[_choose("reverse DNS")],
        description="Each IP's PTR name resolves back to the IP.",
    )
    tls = SelectField("TLS", choices=choices(AUTH_STATES), validators=[_choose("TLS")])
    one_click = SelectField(
        "One-click unsubscribe (RFC 8058)", choices=choices(AUTH_STATES), validators=[_choose("one-click unsubscribe")],
        description="List-Unsubscribe with an https URL plus List-Unsubscribe-Post: List-Unsubscribe=One-Click.",
    )
    sample_headers = TextAreaField("Sample headers (optional)", validators=[Optional(), Length(max=MAX_BODY)])
    fixes = TextAreaField(
        "Fixes already made",
        validators=[DataRequired("Say what you have changed already, or write “None yet”."), Length(max=MAX_BODY)],
    )
    detail_fields = (
        "provider", "provider_other", "recipient_domains", "ip_scope", "ips", "sending_domain",
        "dkim_domain", "return_path_domain", "smtp_responses", "first_seen", "last_seen",
        "volume_before", "volume_now", "mail_type", "opt_in", "complaint_rate", "bounce_rate",
        "blocklist_status", "blocklists", "spf", "dkim", "dmarc", "fcrdns", "tls", "one_click",
        "sample_headers", "fixes",
    )  # fmt: skip

    def validate_provider_other(self, field):
        if self.provider.data == "other" and not (field.data or "").strip():
            raise ValidationError("Name the mailbox provider.")

    def validate_recipient_domains(self, field):
        if (field.data or "").strip():
            self._clean(field, lambda v: ", ".join(remediation.parse_domain_list(v)))

    def validate_ips(self, field):
        self._clean(field, lambda v: "\n".join(remediation.parse_ip_list(v)))

    def validate_sending_domain(self, field):
        self._clean(field, remediation.parse_domain)

    def validate_dkim_domain(self, field):
        if (field.data or "").strip():
            self._clean(field, remediation.parse_domain)

    def validate_return_path_domain(self, field):
        if (field.data or "").strip():
            self._clean(field, remediation.parse_domain)

    def validate_smtp_responses(self, field):
        try:
            self.smtp_replies = remediation.parse_smtp_responses(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def validate_first_seen(self, field):
        if field.data is None:
            return
        now = utcnow()
        if field.data > now + timedelta(minutes=10):
            raise ValidationError(f"That is in the future; it is {now:%Y-%m-%d %H:%M} UTC now.")
        if field.data < now - timedelta(days=365):
            raise ValidationError("Tier 1 remediation is for current blocks: first seen within the last year.")

    def validate_last_seen(self, field):
        if field.data is None:
            return
        if field.data > utcnow() + timedelta(minutes=10):
            raise ValidationError(f"That is in the future; it is {utcnow():%Y-%m-%d %H:%M} UTC now.")
        if self.first_seen.data and field.data < self.first_seen.data:
            raise ValidationError("Last seen is before first seen.")

    def validate_blocklists(self, field):
        if self.blocklist_status.data == "listed" and not (field.data or "").strip():
            raise ValidationError("Say which blocklists list you.")

    @staticmethod
    def _clean(field, parse) -> None:
        """Validate and store the canonical form, so the case shows it tidy."""
        try:
            field.data = parse(field.data or "")
        except ValueError as error:
            raise ValidationError(str(error)) from None

    def details(self) -> dict:
        out = super().details()
        for name in ("complaint_rate", "bounce_rate"):
            if name in out:
                out[name] = f"{out[name].normalize():f}"
        replies = getattr(self, "smtp_replies", None)
        if replies:
            out["smtp_codes"] = [r.summary for r in replies]
        return out


KIND_FORMS: dict[Kind, type[NewCaseForm]] = {
    Kind.BUG: BugForm,
    Kind.CONFIGURATION: ConfigurationForm,
    Kind.INFORMATION: InformationForm,
    Kind.CRITICAL: CriticalForm,
    Kind.REMEDIATION: RemediationForm,
    Kind.PLANNING: PlanningForm,
}

KIND_HINTS = {
    Kind.BUG: "Something in the service misbehaves, but your mail is still going out.",
    Kind.CONFIGURATION: "You want us to change a setting of your account.",
    Kind.INFORMATION: "You have a question about the service or your sending.",
    Kind.CRITICAL: "API calls or SMTP injections are failing persistently. Open the case, "
    "then call the Severity 1 hotline.",
    Kind.REMEDIATION: "A mailbox provider blocks or defers your mail: we file its standard "
    "(Tier 1) remediation form for you.",
    Kind.PLANNING: "Plan a migration, capacity growth or a new feature with your Technical "
    "Account Manager.",
}


class ReplyForm(AttachmentsMixin, PortalForm):
    body = TextAreaField(
        "Your reply",
        id="reply-body",
        validators=[DataRequired("Write the reply before sending it."), Length(max=MAX_BODY)],
    )


class ProposeResolutionForm(PortalForm):
    summary = TextAreaField(
        "What resolves this case",
        validators=[DataRequired("Say what resolves the case."), Length(max=MAX_BODY)],
    )
    resolution_kind = RadioField(
        "This is a",
        choices=choices([("fix", "Fix"), ("workaround", "Workaround")]),
        validators=[Optional()],
    )


class DisputeForm(PortalForm):
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
    if "__init__" in vars(form_class):  # choices made per request (the planning form's plans)
        described = _described(form_class(formdata=None, meta={"csrf": False}))
    else:
        described = _described_class(form_class)
    for name, (label, options, is_long) in described.items():
        value = case.details.get(name)
        if value in (None, ""):
            continue
        shown = str(value)
        (long if is_long else short).append((label, options.get(shown, shown)))
    return short, long


def _described(form) -> dict[str, tuple[str, dict[str, str], bool]]:
    """name -> (label, {choice value: choice label}, long text?) of the detail fields."""
    described = {}
    for name in form.detail_fields:
        field = getattr(form, name)
        options = {str(c.value): c.label for c in getattr(field, "choices", None) or []}
        described[name] = (field.label.text, options, field.type == "TextAreaField")
    return described


@cache
def _described_class(form_class) -> dict[str, tuple[str, dict[str, str], bool]]:
    """``_described`` once per form class: building a form for its labels is most of
    what showing a case's details costs."""
    return _described(form_class(formdata=None, meta={"csrf": False}))
