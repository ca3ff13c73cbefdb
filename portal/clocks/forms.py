"""One form per clock action. Field ids are unique on the case page, where these
forms sit beside the note and information-request forms."""

from __future__ import annotations

from datetime import date

from wtforms import EmailField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from portal.cases.forms import MAX_BODY
from portal.clocks.hours import WEEKDAYS, ScheduleError, check_country, check_zone, parse_spans
from portal.clocks.rules import DEFAULT_UPDATE_MINUTES
from portal.clocks.services import MAX_UPDATE_MINUTES
from portal.forms import PortalForm

INTERVAL_MESSAGE = f"Give the interval in whole minutes, from 1 to {MAX_UPDATE_MINUTES}."


class IntakeForm(PortalForm):
    company = StringField(
        "Company name", id="intake-company",
        validators=[DataRequired("Write the company the caller speaks for."), Length(max=200)],
    )
    contact_name = StringField(
        "Contact name", id="intake-contact-name",
        validators=[DataRequired("Write the caller's name."), Length(max=200)],
    )
    contact_phone = StringField(
        "Contact phone", id="intake-contact-phone",
        validators=[DataRequired("Write the number to call back."), Length(max=40)],
    )
    contact_email = EmailField(
        "Contact email", id="intake-contact-email",
        validators=[
            DataRequired("Write the caller's email address."),
            Email("That is not an email address."),
            Length(max=254),
        ],
    )
    description = TextAreaField(
        "Description, as the caller gave it", id="intake-description",
        validators=[DataRequired("Write what the caller says is failing."), Length(max=MAX_BODY)],
    )


def _interval_field(label: str, field_id: str) -> IntegerField:
    return IntegerField(
        label,
        id=field_id,
        default=DEFAULT_UPDATE_MINUTES,
        validators=[InputRequired(INTERVAL_MESSAGE), NumberRange(1, MAX_UPDATE_MINUTES, INTERVAL_MESSAGE)],
    )


class CallbackForm(PortalForm):
    interval_minutes = _interval_field("Update interval agreed on the call (minutes)", "callback-interval")
    note = TextAreaField(
        "Notes from the call (optional)", id="callback-note",
        validators=[Optional(), Length(max=MAX_BODY)],
    )


class CadenceForm(PortalForm):
    interval_minutes = _interval_field("New update interval (minutes)", "cadence-interval")
    note = TextAreaField(
        "Why it changed (optional)", id="cadence-note", validators=[Optional(), Length(max=2000)]
    )


class UpdateForm(PortalForm):
    body = TextAreaField(
        "Update for the customer", id="update-body",
        validators=[DataRequired("Write the update before posting it."), Length(max=MAX_BODY)],
    )


DAY_LABELS = {
    "mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday",
    "fri": "Friday", "sat": "Saturday", "sun": "Sunday",
}
SPANS_HINT = "Like 09:00-17:00; several spans with commas (08:00-12:00, 13:00-17:00); empty when closed. An end before its start runs past midnight."


def spans_text(spans: list) -> str:
    return ", ".join(f"{a}-{b}" for a, b in spans)


def parse_day(text: str) -> list[list[str]]:
    spans = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        start, dash, end = part.replace("–", "-").partition("-")
        if not dash:
            raise ScheduleError(f"{part!r} needs a start and an end, like 09:00-17:00.")
        spans.append([start.strip(), end.strip()])
    parse_spans(spans)
    return spans


class HoursForm(PortalForm):
    timezone = StringField(
        "Time zone",
        validators=[DataRequired("Give the time zone, such as Europe/Amsterdam."), Length(max=64)],
        description="An IANA name: Europe/Amsterdam, America/New_York, Asia/Jakarta.",
    )
    mon = StringField("Monday", description=SPANS_HINT)
    tue = StringField("Tuesday")
    wed = StringField("Wednesday")
    thu = StringField("Thursday")
    fri = StringField("Friday")
    sat = StringField("Saturday")
    sun = StringField("Sunday")
    holiday_country = StringField(
        "Closed on the public holidays of",
        validators=[Optional(), Length(max=8)],
        description="A country code such as NL, US or ID (US-NY for a state's own holidays); empty for none.",
    )
    closed_dates = TextAreaField(
        "Other closed dates",
        validators=[Optional(), Length(max=5000)],
        description="One date a line, as YYYY-MM-DD.",
    )
    response_target_hours = IntegerField(
        "First response target (business hours)",
        validators=[
            InputRequired("Give the target in whole business hours."),
            NumberRange(1, 200, "Give the target in whole business hours, from 1 to 200."),
        ],
    )
    note = TextAreaField(
        "What changed and why",
        validators=[DataRequired("Say what changed and why: it is kept with the history."), Length(max=2000)],
    )

    def validate_timezone(self, field):
        try:
            check_zone(field.data.strip())
        except ScheduleError as error:
            raise ValidationError(str(error)) from None

    def validate_holiday_country(self, field):
        if field.data and field.data.strip():
            try:
                check_country(field.data)
            except ScheduleError as error:
                raise ValidationError(str(error)) from None

    def validate_closed_dates(self, field):
        self.parsed_dates = []
        for line in filter(None, (line.strip() for line in (field.data or "").splitlines())):
            try:
                self.parsed_dates.append(date.fromisoformat(line))
            except ValueError:
                raise ValidationError(f"{line!r} is not a date: write it as YYYY-MM-DD.") from None

    def validate(self, extra_validators=None) -> bool:
        self.parsed_dates: list[date] = []  # stays empty when the field is (Optional stops its chain)
        valid = super().validate(extra_validators)
        self.parsed_hours = {}
        for day in WEEKDAYS:
            field = getattr(self, day)
            try:
                spans = parse_day(field.data)
            except ScheduleError as error:
                field.errors = [*field.errors, str(error)]
                valid = False
                continue
            if spans:
                self.parsed_hours[day] = spans
        return valid

    def fill(self, schedule: dict) -> None:
        """Start from the version in force."""
        self.timezone.data = schedule["timezone"]
        for day in WEEKDAYS:
            getattr(self, day).data = spans_text(schedule["hours"].get(day, []))
        self.holiday_country.data = schedule.get("holiday_country") or ""
        self.closed_dates.data = "\n".join(schedule.get("closed_dates") or [])
        self.response_target_hours.data = schedule["response_target_hours"]


class ReportForm(PortalForm):
    class Meta:
        csrf = False  # a GET form: it reads, never writes

    account = SelectField("Account", coerce=int, validators=[DataRequired("Choose an account.")])
    month = StringField(
        "Month",
        validators=[DataRequired("Choose a month, as YYYY-MM.")],
        description="As YYYY-MM, in the account's time zone.",
    )

    def validate_month(self, field):
        try:
            year, month = (int(p) for p in field.data.strip().split("-"))
            if not (2000 <= year <= 2100 and 1 <= month <= 12):
                raise ValueError
        except ValueError:
            raise ValidationError(f"{field.data!r} is not a month: write it as YYYY-MM, e.g. 2026-11.") from None
        self.year_month = (year, month)
