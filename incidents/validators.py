"""Checks of values that come from people: Chinese resident ID numbers, phone numbers, text, the
times a report brings in."""

import re
from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils.translation import gettext as _

from config.errors import DomainError

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# [0-9], never \d: \d also matches other scripts' digits ("١", "５"), which the database refuses.
_PHONE = re.compile(r"^(?:1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8}|[0-9]{7,8})$")


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> str:
    """An 18-character resident ID number: digits, a real birth date, a correct check character."""
    value = value.strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", value):
        raise DomainError(_("An ID card number has 17 digits and a final digit or X."), code="id_number")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise DomainError(_("The ID card number holds no valid birth date."), code="id_number") from None
    if born.year < 1900 or born > date.today():  # noqa: DTZ011 - a calendar date, no instant
        raise DomainError(_("The ID card number holds no valid birth date."), code="id_number")
    if id_check_digit(value[:17]) != value[17]:
        raise DomainError(_("The ID card number's check digit is wrong."), code="id_number")
    return value


def validate_phone(value: str, *, field: str) -> str:
    value = value.strip().replace(" ", "")
    if value and not _PHONE.fullmatch(value):
        raise DomainError(_("%(field)s is not a valid phone number.") % {"field": field}, code="phone")
    return value


def clean_text(value: str | None, *, field: str, max_length: int, required: bool = False) -> str:
    """Text from people is stored as typed (never as HTML: every page escapes it), trimmed."""
    value = (value or "").strip()
    if required and not value:
        raise DomainError(_("%(field)s is required.") % {"field": field}, code="required")
    if len(value) > max_length:
        raise DomainError(
            _("%(field)s is too long (%(length)d characters, at most %(max)d).")
            % {"field": field, "length": len(value), "max": max_length},
            code="too_long",
        )
    if "\x00" in value:
        raise DomainError(_("%(field)s contains invalid characters.") % {"field": field}, code="invalid_text")
    return value


# --- the times a report brings in ---------------------------------------------------------------
# A report's `reported_at` numbers the case (its day) and starts the wall's clocks; a `deadline`
# (an assignment form's) drives the SLA clock. Neither may be anything a sender's clock or a typo
# says: a report may be back-dated at most INTAKE_BACKDATE_MAX_HOURS (one taken on paper during an
# outage, entered later), never be ahead of the server's clock by more than INTAKE_CLOCK_SKEW_SECONDS,
# and its deadline lies after it and within INTAKE_DEADLINE_MAX_DAYS of it.

def reported_at_check(value: datetime, *, now: datetime) -> datetime:
    """The report's time, or DomainError (code `reported_at`) outside the window around `now`."""
    earliest = now - timedelta(hours=settings.INTAKE_BACKDATE_MAX_HOURS)
    latest = now + timedelta(seconds=settings.INTAKE_CLOCK_SKEW_SECONDS)
    if value < earliest:
        raise DomainError(_("The report time may be at most %(hours)d hours in the past.")
                          % {"hours": settings.INTAKE_BACKDATE_MAX_HOURS}, code="reported_at")
    if value > latest:
        raise DomainError(_("The report time lies in the future (more than %(seconds)d seconds ahead of the "
                            "server's clock).") % {"seconds": settings.INTAKE_CLOCK_SKEW_SECONDS},
                          code="reported_at")
    return value


def deadline_check(value: datetime, *, reported_at: datetime) -> datetime:
    """The deadline, or DomainError (code `deadline`) unless after `reported_at` and within
    INTAKE_DEADLINE_MAX_DAYS of it."""
    if value <= reported_at:
        raise DomainError(_("The deadline must be after the report time."), code="deadline")
    if value > reported_at + timedelta(days=settings.INTAKE_DEADLINE_MAX_DAYS):
        raise DomainError(_("The deadline may be at most %(days)d days after the report time.")
                          % {"days": settings.INTAKE_DEADLINE_MAX_DAYS}, code="deadline")
    return value


def reported_at_help() -> str:
    return (f"When the report was made (ISO 8601); default now. At most INTAKE_BACKDATE_MAX_HOURS "
            f"({settings.INTAKE_BACKDATE_MAX_HOURS} h) in the past and at most INTAKE_CLOCK_SKEW_SECONDS "
            f"({settings.INTAKE_CLOCK_SKEW_SECONDS} s) ahead of the server's clock; otherwise 400.")


def deadline_help() -> str:
    return (f"The assignment form's deadline for the result (ISO 8601). After `reported_at` (default now) "
            f"and at most INTAKE_DEADLINE_MAX_DAYS ({settings.INTAKE_DEADLINE_MAX_DAYS} days) after it; "
            f"otherwise 400.")
