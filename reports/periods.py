"""The periods a report covers, read from the query string, in the sub-district's time zone.

`?month=YYYY-MM`, `?week=YYYY-Www` (ISO week, Monday first) and `?year=YYYY`; each missing one
defaults to the period before the current one (the month just ended: the ranking is made at the
month's end; the week just ended: Monday's meeting looks back at it; the current year for the
year-over-year). A malformed or out-of-range value is refused with a message in the user's
language (config.errors.DomainError → 400), never guessed.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from config.errors import DomainError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$", re.ASCII)
_YEAR = re.compile(r"^(\d{4})$", re.ASCII)
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass(frozen=True)
class Period:
    """[start, end) in aware datetimes, with the label the page and the Excel file show."""

    kind: str  # month, week, year
    first_day: date
    last_day: date  # inclusive
    start: datetime
    end: datetime
    key: str  # 2026-11, 2026-W48, 2026

    def previous(self) -> "Period":
        if self.kind == "month":
            return month_period(_month_before(self.first_day))
        if self.kind == "week":
            return week_period(self.first_day - timedelta(days=7))
        return year_period(self.first_day.year - 1)

    def same_last_year(self) -> "Period":
        """The same month (or week, or year) a year before: the year-over-year comparison."""
        if self.kind == "month":
            return month_period(self.first_day.replace(year=self.first_day.year - 1))
        if self.kind == "week":
            iso = self.first_day.isocalendar()
            week = min(iso.week, date(iso.year - 1, 12, 28).isocalendar().week)
            return week_period(date.fromisocalendar(iso.year - 1, week, 1))
        return year_period(self.first_day.year - 1)


def _aware(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _month_before(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def month_period(first: date) -> Period:
    first = first.replace(day=1)
    following = _next_month(first)
    return Period("month", first, following - timedelta(days=1), _aware(first), _aware(following),
                  f"{first.year:04d}-{first.month:02d}")


def week_period(any_day: date) -> Period:
    monday = any_day - timedelta(days=any_day.weekday())
    iso = monday.isocalendar()
    return Period("week", monday, monday + timedelta(days=6), _aware(monday), _aware(monday + timedelta(days=7)),
                  f"{iso.year:04d}-W{iso.week:02d}")


def year_period(year: int) -> Period:
    first, following = date(year, 1, 1), date(year + 1, 1, 1)
    return Period("year", first, following - timedelta(days=1), _aware(first), _aware(following), f"{year:04d}")


def today() -> date:
    return timezone.localdate()


def month_param(value: str | None, *, default_today: date | None = None) -> Period:
    """`?month=YYYY-MM`; missing: the month before the current one."""
    if not value:
        return month_period(_month_before(default_today or today()))
    match = _MONTH.match(value.strip())
    if not match or not (FIRST_YEAR <= int(match[1]) <= LAST_YEAR) or not (1 <= int(match[2]) <= 12):
        raise DomainError(_("The month must be written as YYYY-MM, for example 2026-11."), code="month")
    return month_period(date(int(match[1]), int(match[2]), 1))


def week_param(value: str | None, *, default_today: date | None = None) -> Period:
    """`?week=YYYY-Www` (ISO week); missing: the week before the current one."""
    if not value:
        return week_period((default_today or today()) - timedelta(days=7))
    match = _WEEK.match(value.strip())
    if match and FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
        try:
            return week_period(date.fromisocalendar(int(match[1]), int(match[2]), 1))
        except ValueError:
            pass
    raise DomainError(_("The week must be written as YYYY-Www, for example 2026-W48."), code="week")


def year_param(value: str | None, *, default_today: date | None = None) -> Period:
    """`?year=YYYY`; missing: the current year."""
    if not value:
        return year_period((default_today or today()).year)
    match = _YEAR.match(value.strip())
    if not match or not (FIRST_YEAR <= int(match[1]) <= LAST_YEAR):
        raise DomainError(_("The year must be written as YYYY, for example 2026."), code="year")
    return year_period(int(match[1]))
