"""Tests for flows.workdays (Chinese working days, review windows)."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import workdays
from flows.workdays import (
    ReviewWindow,
    is_estimate,
    is_working_day,
    last_published_year,
    next_working_day_after,
    nth_working_day_after,
    review_window,
    working_days_between,
)


def _cc_last_year() -> int:
    """Last year chinese_calendar has official data for."""
    from chinese_calendar.constants import holidays as cc_holidays

    return max(cc_holidays).year


COMMON_YEARS = list(range(2020, min(_cc_last_year(), last_published_year()) + 1))


def _days(year: int):
    d = date(year, 1, 1)
    while d.year == year:
        yield d
        d += timedelta(days=1)


def _reference_nth(start: date, n: int) -> date:
    """n-th working day after start, stepping chinese_calendar day by day."""
    d = start
    while n:
        d += timedelta(days=1)
        if chinese_calendar.is_workday(d):
            n -= 1
    return d


# --- worked examples -------------------------------------------------------------------


def test_national_day_2026():
    w = review_window(date(2026, 9, 28))
    assert w == ReviewWindow(
        submitted=date(2026, 9, 28),
        first=date(2026, 10, 8),
        last=date(2026, 10, 13),
        estimated=False,
    )
    assert is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert all(not is_working_day(date(2026, 10, d)) for d in range(1, 8))


def test_spring_festival_2026():
    w = review_window(date(2026, 2, 12))
    assert (w.first, w.last) == (date(2026, 2, 24), date(2026, 2, 28))
    assert date(2026, 2, 28).weekday() == 5  # a Saturday, worked
    assert is_working_day(date(2026, 2, 28))
    assert not w.estimated


def test_plain_week_equals_weekday_count():
    # 2026-03-02 is a Monday; March 2026 has no holidays before Qingming.
    start = date(2026, 3, 2)
    assert review_window(start) == ReviewWindow(start, date(2026, 3, 5), date(2026, 3, 11), False)
    assert working_days_between(start, start + timedelta(days=14)) == 10
    assert next_working_day_after(date(2026, 3, 6)) == date(2026, 3, 9)  # Fri -> Mon


def test_submission_on_saturday():
    sat = date(2026, 3, 7)
    assert not is_working_day(sat)
    w = review_window(sat)
    assert (w.first, w.last) == (date(2026, 3, 11), date(2026, 3, 17))


def test_submission_on_holiday():
    # Submitted on National Day itself: counting starts after the holiday week
    # (Thu 10-08, Fri 10-09, make-up Sat 10-10, then Mon 10-12 ...).
    w = review_window(date(2026, 10, 1))
    assert (w.first, w.last) == (date(2026, 10, 10), date(2026, 10, 15))


def test_submission_on_makeup_day_not_counted():
    # Sat 2026-10-10 is a working day, but the submission day itself never counts.
    assert nth_working_day_after(date(2026, 10, 10), 1) == date(2026, 10, 12)


def test_next_equals_nth_1():
    for d in _days(2026):
        assert next_working_day_after(d) == nth_working_day_after(d, 1)


def test_last_published_year():
    lpy = last_published_year()
    assert lpy >= 2026
    assert not is_estimate(date(lpy, 12, 31))
    assert is_estimate(date(lpy + 1, 1, 1))


def test_last_published_year_is_derived_from_library():
    import holidays

    table = holidays.country_holidays("CN").special_public_holidays
    assert last_published_year() in table
    assert last_published_year() == max(
        y for y, entries in table.items() if any(len(e) >= 4 for e in entries)
    )


def test_estimated_year():
    lpy = last_published_year()
    w = review_window(date(lpy + 1, 6, 1))
    assert w.estimated
    assert is_estimate(w.first)
    # Crossing into the unpublished year at the year end is an estimate too.
    assert review_window(date(lpy, 12, 28)).estimated
    assert not review_window(date(lpy, 12, 1)).estimated


def test_year_end_crossing():
    # 2025-12-30 (Tue): Dec 31 counts, Jan 1 2026 is a holiday, Sun Jan 4 is a make-up day.
    assert nth_working_day_after(date(2025, 12, 30), 1) == date(2025, 12, 31)
    assert nth_working_day_after(date(2025, 12, 30), 2) == date(2026, 1, 4)
    assert working_days_between(date(2025, 12, 30), date(2026, 1, 4)) == 2


def test_invalid_arguments():
    with pytest.raises(ValueError):
        nth_working_day_after(date(2026, 1, 5), 0)
    with pytest.raises(ValueError):
        review_window(date(2026, 1, 5), first_n=5, last_n=3)
    with pytest.raises(ValueError):
        review_window(date(2026, 1, 5), first_n=0)


def test_working_days_between_basics():
    a = date(2026, 9, 28)
    assert working_days_between(a, a) == 0
    assert working_days_between(a, a - timedelta(days=5)) == 0
    assert working_days_between(a, date(2026, 10, 13)) == 7
    assert working_days_between(date(2025, 12, 31), date(2026, 12, 31)) == sum(
        is_working_day(d) for d in _days(2026)
    )


def test_far_years_fall_back_to_weekdays():
    # Beyond the library's range: Mon-Fri, no holidays, no crash.
    assert is_working_day(date(2300, 1, 1)) == (date(2300, 1, 1).weekday() < 5)
    assert is_working_day(date(1900, 1, 1))
    assert review_window(date(2300, 1, 1)).estimated
    with pytest.raises(OverflowError):
        nth_working_day_after(date(9999, 12, 31), 1)


def test_calendar_is_cached():
    review_window(date(2026, 9, 28))
    cal = workdays._get_calendar()
    review_window(date(2024, 9, 28))
    assert workdays._get_calendar() is cal


# --- cross-check against chinese_calendar ------------------------------------------------


def test_common_years_cover_2025_2026():
    assert {2025, 2026} <= set(COMMON_YEARS)


@pytest.mark.parametrize("year", COMMON_YEARS)
def test_is_working_day_matches_chinese_calendar(year):
    mismatches = [d for d in _days(year) if is_working_day(d) != chinese_calendar.is_workday(d)]
    assert mismatches == []


@pytest.mark.parametrize("year", COMMON_YEARS)
def test_review_window_matches_reference(year):
    last_ref_year = COMMON_YEARS[-1]
    for d in _days(year):
        w = review_window(d)
        if w.last.year > last_ref_year:
            assert w.estimated == (w.last.year > last_published_year())
            continue
        assert (w.first, w.last) == (_reference_nth(d, 3), _reference_nth(d, 7)), d
        assert not w.estimated


@settings(max_examples=200, deadline=None)
@given(
    a=st.dates(date(2020, 1, 1), date(COMMON_YEARS[-1], 12, 1)),
    span=st.integers(0, 400),
    n=st.integers(1, 30),
)
def test_properties_against_reference(a, span, n):
    b = a + timedelta(days=span)
    last_ref = date(COMMON_YEARS[-1], 12, 31)
    if b <= last_ref:
        expected = sum(
            chinese_calendar.is_workday(a + timedelta(days=i)) for i in range(1, span + 1)
        )
        assert working_days_between(a, b) == expected
    target = nth_working_day_after(a, n)
    assert working_days_between(a, target) == n
    assert is_working_day(target)
    if target <= last_ref:
        assert target == _reference_nth(a, n)
