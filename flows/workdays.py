"""Chinese working-day arithmetic (pure: no I/O, no clock reads).

A working day is a Monday-Friday that is not a public holiday, or an official
make-up working day (调休, e.g. a Saturday worked to bridge a Golden Week).

The calendar comes from ``holidays.country_holidays("CN")``. For years whose
official schedule has not been published yet (or was not known when the installed
``holidays`` release was cut) the library silently falls back to rule-based
estimates without make-up days; :func:`last_published_year` derives the last year
it really knows from the library's own make-up-day tables, and every date after
that year is reported as an estimate.

Performance: the ``holidays`` instance is created once, lazily, and grows to new
years on demand. Each year is then compiled once into a compact table of working
days, so lookups are O(1) and "n-th working day" / counting are binary searches.
"""

from __future__ import annotations

import threading
from array import array
from bisect import bisect_right
from dataclasses import dataclass
from datetime import MAXYEAR, date
from functools import cache

import holidays

__all__ = [
    "ReviewWindow",
    "is_estimate",
    "is_working_day",
    "last_published_year",
    "next_working_day_after",
    "nth_working_day_after",
    "review_window",
    "working_days_between",
]


@dataclass(frozen=True, slots=True)
class ReviewWindow:
    """Expected review period: first_n-th to last_n-th working day after submission."""

    submitted: date
    first: date
    last: date
    estimated: bool


@dataclass(frozen=True, slots=True)
class _Year:
    """One compiled calendar year: per-day flags and sorted working-day ordinals."""

    jan1: int  # ordinal of 1 January
    flags: bytes  # flags[day_of_year - 1] == 1 for a working day
    ordinals: array[int]  # ordinals of the working days of the year, ascending


_lock = threading.Lock()
_calendar: holidays.HolidayBase | None = None
_years: dict[int, _Year] = {}


def _get_calendar() -> holidays.HolidayBase:
    """Return the shared, lazily created, auto-expanding CN holidays instance."""
    global _calendar
    cal = _calendar
    if cal is None:
        with _lock:
            if _calendar is None:
                _calendar = holidays.country_holidays("CN", language="zh_CN")
            cal = _calendar
    return cal


def _normalize_entries(entries: object) -> tuple[tuple[object, ...], ...]:
    """Return a special-holidays table value as a tuple of entry tuples."""
    if isinstance(entries, tuple) and entries and isinstance(entries[0], tuple):
        return entries
    if isinstance(entries, tuple) and entries:
        return (entries,)
    return ()


@cache
def last_published_year() -> int:
    """Return the last year whose official CN schedule the installed holidays knows."""
    cal = _get_calendar()
    table = getattr(cal, "special_public_holidays", None) or {}
    # Substitution entries (len >= 4) are the make-up working-day arrangements,
    # which exist only once the State Council notice for that year is published.
    years: list[int] = [
        year
        for year, entries in table.items()
        if any(len(entry) >= 4 for entry in _normalize_entries(entries))
    ]
    if not years:
        # Library layout changed: treat everything as an estimate rather than guess.
        first: int = cal.start_year
        return first - 1
    return max(years)


def is_estimate(d: date) -> bool:
    """Return True if d lies in a year past the last officially published year."""
    return d.year > last_published_year()


def _compile_year(year: int) -> _Year:
    """Build the working-day table for one year from the holidays calendar."""
    if not 1 <= year <= MAXYEAR:
        raise OverflowError(f"year {year} is out of range")
    jan1 = date(year, 1, 1).toordinal()
    ndays = date(year, 12, 31).toordinal() - jan1 + 1
    cal = _get_calendar()
    if cal.start_year <= year <= cal.end_year:
        with _lock:
            # Populate the neighbours too, so cross-year effects are in place.
            for y in (year - 1, year, year + 1):
                if 1 <= y <= MAXYEAR:
                    _ = date(y, 1, 1) in cal
            flags = bytes(cal.is_working_day(date.fromordinal(jan1 + i)) for i in range(ndays))
    else:
        # Outside the library's range: plain Monday-Friday weeks.
        flags = bytes(date.fromordinal(jan1 + i).weekday() < 5 for i in range(ndays))
    ordinals = array("i", (jan1 + i for i in range(ndays) if flags[i]))
    return _Year(jan1=jan1, flags=flags, ordinals=ordinals)


def _year(year: int) -> _Year:
    """Return the cached compiled table for year, compiling it on first use."""
    data = _years.get(year)
    if data is None:
        data = _years.setdefault(year, _compile_year(year))
    return data


def is_working_day(d: date) -> bool:
    """Return True if d is a Chinese working day (holidays off, make-up days on)."""
    data = _year(d.year)
    return data.flags[d.toordinal() - data.jan1] == 1


def _nth_after_ordinal(start: int, year: int, n: int) -> int:
    """Return the ordinal of the n-th working day strictly after ordinal start."""
    ords = _year(year).ordinals
    i = bisect_right(ords, start)
    while i + n > len(ords):
        n -= len(ords) - i
        year += 1
        ords = _year(year).ordinals
        i = 0
    return ords[i + n - 1]


def nth_working_day_after(start: date, n: int) -> date:
    """Return the n-th (n >= 1) working day after start; start itself never counts."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return date.fromordinal(_nth_after_ordinal(start.toordinal(), start.year, n))


def next_working_day_after(d: date) -> date:
    """Return the first working day strictly after d."""
    return nth_working_day_after(d, 1)


def review_window(submitted: date, first_n: int = 3, last_n: int = 7) -> ReviewWindow:
    """Return the review window from the first_n-th to the last_n-th working day after."""
    if first_n < 1 or last_n < first_n:
        raise ValueError(f"need 1 <= first_n <= last_n, got {first_n}, {last_n}")
    start = submitted.toordinal()
    first = date.fromordinal(_nth_after_ordinal(start, submitted.year, first_n))
    last = date.fromordinal(_nth_after_ordinal(start, submitted.year, last_n))
    estimated = last.year > last_published_year()  # last is the latest date involved
    return ReviewWindow(submitted=submitted, first=first, last=last, estimated=estimated)


def working_days_between(a: date, b: date) -> int:
    """Return the number of working days in (a, b]; 0 if b <= a."""
    if b <= a:
        return 0
    a_ord, b_ord = a.toordinal(), b.toordinal()
    total = 0
    for year in range(a.year, b.year + 1):
        ords = _year(year).ordinals
        lo = bisect_right(ords, a_ord) if year == a.year else 0
        hi = bisect_right(ords, b_ord) if year == b.year else len(ords)
        total += hi - lo
    return total
