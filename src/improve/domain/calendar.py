"""Working days: weekends, public holidays and make-up working days (from `holidays`)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

import holidays

from improve.errors import ConfigError


@dataclass(frozen=True)
class WorkCalendar:
    """Weekends off, except make-up working days; public holidays and extra days off."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)
    weekdays: frozenset[int] = frozenset(range(5))

    def is_working_day(self, day: date) -> bool:
        """Whether people work on `day`: a day off wins, even over a make-up working day."""
        if day in self.days_off:
            return False
        return day in self.workdays or day.weekday() in self.weekdays

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the next one."""
        for _ in range(400):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise ConfigError(f"no working day within 400 days after {day}; check the calendar")

    def add_working_days(self, day: date, n: int) -> date:
        """The working day `n` working days after working day `day` (n >= 0)."""
        day = self.next_working_day(day)
        for _ in range(n):
            day = self.next_working_day(day + timedelta(days=1))
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days in [first, last], both included."""
        count, day = 0, first
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count


def china_calendar(years: Iterable[int], extra_days_off: Iterable[date] = ()) -> WorkCalendar:
    """Mainland China's public holidays and make-up working days (调休), plus `extra_days_off`."""
    cn = holidays.country_holidays("CN", years=sorted(set(years)))
    return WorkCalendar(
        days_off=frozenset(cn) | frozenset(extra_days_off),
        workdays=frozenset(getattr(cn, "weekend_workdays", ())),
    )


def months_later(day: date, months: int) -> date:
    """`day` moved by whole months (back, when negative), kept within the month: 31 Jan + 1
    is 28 or 29 Feb."""
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])
