"""Checks of values that come from people: Chinese resident ID numbers, phone numbers, text."""

import re
from datetime import date

from django.utils.translation import gettext as _

from config.errors import DomainError

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_PHONE = re.compile(r"^(?:1[3-9]\d{9}|0\d{2,3}-?\d{7,8}|\d{7,8})$")


def id_check_digit(first17: str) -> str:
    """GB 11643-1999 check character of the first 17 digits."""
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> str:
    """An 18-character resident ID number: digits, a real birth date, a correct check character."""
    value = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
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
