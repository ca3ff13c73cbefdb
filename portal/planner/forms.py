"""The planner's form. Numbers are taken as people write them (``2,500,000``,
``2 500 000``, ``2.5M``, ``500k``; shares as ``40``, ``33.3``, ``33,3`` or ``40%``)
and every refusal says what to type instead. What was typed is shown back as typed."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from wtforms import Field, SelectField, StringField
from wtforms.fields import DateField
from wtforms.validators import InputRequired, Length, Optional, ValidationError
from wtforms.widgets import TextInput

from portal.forms import PortalForm
from portal.planner.schedule import (
    PER_IP_CEILING,
    PROVIDERS,
    PlanInputs,
    minimum_ips,
    suggest_ip_count,
)

MAX_VOLUME = 1_000_000_000  # a billion a day: beyond this, talk to the TAM
MAX_IPS = 500
MAX_LEAD_DAYS = 730
_SPACES = re.compile(r"[\s,_'\u00a0\u202f]")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([km])?$", re.IGNORECASE)


def parse_count(text: str, suffixes: bool = True) -> int:
    """A whole, non-negative number of messages; ValueError says why not."""
    cleaned = _SPACES.sub("", text)
    if cleaned.startswith("-"):
        raise ValueError("This cannot be negative.")
    match = _NUMBER.match(cleaned)
    if not match or (match.group(2) and not suffixes):
        raise ValueError("Enter a whole number, e.g. 2500000" + (" or 2.5M." if suffixes else "."))
    number = Decimal(match.group(1))
    if match.group(2):
        number *= 1_000 if match.group(2).lower() == "k" else 1_000_000
    if number != number.to_integral_value():
        raise ValueError("Enter a whole number of messages.")
    return int(number)


class TypedAsIs(Field):
    """A text input that shows back exactly what was typed when it did not parse."""

    widget = TextInput()

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return self.format(self.data) if self.data is not None else ""

    def format(self, value) -> str:
        return str(value)


class CountField(TypedAsIs):
    def __init__(self, *args, suffixes: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.suffixes = suffixes

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip()
        if text:
            self.data = parse_count(text, self.suffixes)

    def format(self, value) -> str:
        return f"{value:,}" if self.suffixes else str(value)


class PercentField(TypedAsIs):
    """0 to 100 with up to ``places`` decimals; empty counts as 0% unless
    ``empty_is_zero`` is off (then it is None: not known)."""

    def __init__(self, *args, places: int = 2, empty_is_zero: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.places = places
        self.empty_is_zero = empty_is_zero

    def process_formdata(self, valuelist):
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().rstrip("%").strip().replace(",", ".")
        if not text:
            self.data = Decimal(0) if self.empty_is_zero else None
            return
        try:
            value = Decimal(text)
        except InvalidOperation:
            raise ValueError("Enter a percentage such as 40 or 33.5.") from None
        if not value.is_finite() or value < 0 or value > 100:
            raise ValueError("Enter a percentage from 0 to 100.")
        if value != round(value, self.places):
            raise ValueError(f"Use at most {self.places} decimals.")
        self.data = value

    def format(self, value) -> str:
        return f"{value.normalize():f}"


class StartDateField(DateField):
    def process_formdata(self, valuelist):
        if not "".join(valuelist or []).strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter the start date as YYYY-MM-DD, e.g. 2026-12-01.") from None


class PlannerForm(PortalForm):
    name = StringField(
        "Name (optional)",
        validators=[Optional(), Length(max=200)],
        description="We name it from the inputs if you leave this empty.",
    )
    account_id = SelectField("Account", coerce=int)
    volume = CountField(
        "Target daily volume",
        validators=[InputRequired("Enter the daily volume you will send once warm, e.g. 2,500,000.")],
        description="Messages a day once warm, across all new IPs. 2,500,000 and 2.5M both work.",
    )
    ips = CountField("Number of new IPs", suffixes=False)
    start = StartDateField("Start date", validators=[InputRequired("Enter the day the warm-up starts.")])
    gmail = PercentField("Gmail")
    microsoft = PercentField("Microsoft")
    yahoo = PercentField("Yahoo/AOL")
    others = PercentField("Others")
    current_volume = CountField(
        "Current provider's daily volume (optional)",
        description="For a migration: what your current provider sends a day today. "
        "Leave empty for a warm-up without a migration.",
    )

    share_fields = tuple(key for key, _ in PROVIDERS)

    def __init__(self, *args, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.shares_error: str | None = None

    @property
    def share_inputs(self):
        return [getattr(self, key) for key in self.share_fields]

    def validate_volume(self, field):
        if field.process_errors:
            return
        if field.data is None:
            raise ValidationError("Enter the daily volume you will send once warm, e.g. 2,500,000.")
        if field.data <= 0:
            raise ValidationError("Enter a daily volume above zero.")
        if field.data > MAX_VOLUME:
            raise ValidationError(f"Above {MAX_VOLUME:,} a day, plan it with your TAM.")

    def validate_ips(self, field):
        if field.process_errors:
            return
        volume = self.volume.data if not self.volume.errors else None
        hint = ""
        if volume and 0 < volume <= MAX_VOLUME:
            hint = f" For {volume:,} a day we suggest {suggest_ip_count(volume).ips}."
        if field.data is None:
            raise ValidationError("Enter how many new IPs you will warm up." + hint)
        if field.data < 1:
            raise ValidationError("Enter at least one new IP." + hint)
        if field.data > MAX_IPS:
            raise ValidationError(f"Plan at most {MAX_IPS} IPs at a time.")
        if volume and 0 < volume <= MAX_VOLUME:
            if field.data > volume:
                raise ValidationError(f"{volume:,} messages a day cannot keep {field.data} IPs busy.")
            if field.data < minimum_ips(volume):
                raise ValidationError(
                    f"{field.data} {'IP' if field.data == 1 else 'IPs'} would each carry more than "
                    f"{PER_IP_CEILING:,} a day, the top of the schedule; use at least "
                    f"{minimum_ips(volume)}." + hint
                )

    def validate_start(self, field):
        if field.process_errors:
            return
        if field.data is None:
            raise ValidationError("Enter the day the warm-up starts.")
        if field.data < self.today:
            raise ValidationError(
                f"The start date is in the past; start on {self.today:%d %b %Y} (today) or later."
            )
        if field.data > self.today + timedelta(days=MAX_LEAD_DAYS):
            raise ValidationError("Start within the next two years.")

    def validate_current_volume(self, field):
        if field.process_errors:
            return
        if field.data is not None and field.data <= 0:
            raise ValidationError("Enter the current daily volume above zero, or leave it empty.")
        if field.data is not None and field.data > MAX_VOLUME:
            raise ValidationError(f"Above {MAX_VOLUME:,} a day, plan it with your TAM.")

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        shares = [f.data for f in self.share_inputs]
        if all(s is not None for s in shares) and sum(shares) != 100:
            self.shares_error = (
                f"The shares add up to {sum(shares).normalize():f}%; they must add up to 100%."
            )
            valid = False
        return valid

    def inputs(self) -> PlanInputs:
        return PlanInputs(
            volume=self.volume.data,
            ips=self.ips.data,
            start=self.start.data,
            shares={key: getattr(self, key).data for key in self.share_fields},
            current_volume=self.current_volume.data,
        )

    @classmethod
    def prefilled(cls, inputs: PlanInputs, today: date, **kwargs) -> PlannerForm:
        """A fresh form holding an earlier plan's inputs, its start moved to today if past."""
        data = {
            "volume": inputs.volume,
            "ips": inputs.ips,
            "start": max(inputs.start, today),
            "current_volume": inputs.current_volume,
            **{key: inputs.shares[key] for key in cls.share_fields},
        }
        return cls(formdata=None, data=data, today=today, **kwargs)
