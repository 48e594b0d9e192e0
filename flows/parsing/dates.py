"""Dates (submission, fee, deadline) and durations (the playground's :advance)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flows.parsing.text import (
    _DATE_MAX_INPUT,
    _DURATION_MAX_INPUT,
    MAX_DURATION_DAYS,
    MIN_DATE,
    ParseError,
    _prepare,
)

# --- date -------------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(
        r"(?P<y>[0-9]{4})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})"
    ),
    re.compile(r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号]?"),
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
)


def parse_date(text: str, today: date) -> date:
    """Parse a past date ("2026-09-28", "2026/9/28", "2026.09.28", "2026年9月28日")."""
    t = _prepare(text, _DATE_MAX_INPUT, "format")
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(t)
        if m:
            break
    else:
        raise ParseError("format")
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    try:
        result = date(y, mo, d)
    except ValueError:
        raise ParseError("invalid_date", year=y, month=mo, day=d) from None
    if result > today:
        raise ParseError("future", max=today)
    if result < MIN_DATE:
        raise ParseError("too_early", min=MIN_DATE)
    return result


_MONTH_DAY = re.compile(
    r"(?P<m>[0-9]{1,2})\s*(?:月\s*(?P<d1>[0-9]{1,2})\s*[日号]?|[-/.]\s*(?P<d2>[0-9]{1,2}))"
)


_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}  # days back
_AHEAD_DAYS = {"明天": 1, "明日": 1, "后天": 2}  # days ahead (a payment date)


def parse_past_date(text: str, today: date) -> date:
    """A day up to today (a submission date): a full date as parse_date reads it, a month and
    day without the year ("12月1日", "11-30": the latest such day up to today), or 今天 / 昨天 /
    前天. Codes as parse_date's, plus ``too_old`` (more than a year ago: a wrong year)."""
    t = _prepare(text, _DATE_MAX_INPUT, "format")
    if t in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[t])
    m = _MONTH_DAY.fullmatch(t)
    if m is None:
        day = parse_date(t, today)
    else:
        month, dom = int(m["m"]), int(m["d1"] or m["d2"])
        for year in (today.year, today.year - 1):
            try:
                day = date(year, month, dom)
            except ValueError:
                if year == today.year - 1:
                    raise ParseError("invalid_date", month=month, day=dom) from None
                continue
            if day <= today:
                break
    if (today - day).days > 366:
        raise ParseError("too_old", day=day)
    return day


def parse_due_date(text: str, today: date) -> date:
    """A day from ``today`` on (a payment date): a full date as parse_date reads it, a
    month and day without the year ("12月15日", "12-15"), taken as the nearest such day, or
    今天 / 明天 / 后天 (昨天 / 前天, understood as parse_past_date reads them, are ``past``).

    Codes: ``format``, ``invalid_date``, and ``past`` (before today; ``today`` in details).
    """
    t = _prepare(text, _DATE_MAX_INPUT, "format")
    if t in _RELATIVE_DAYS:
        if _RELATIVE_DAYS[t]:
            raise ParseError("past", today=today)
        return today
    if t in _AHEAD_DAYS:
        return today + timedelta(days=_AHEAD_DAYS[t])
    m = _MONTH_DAY.fullmatch(t)
    if m is None:
        try:
            day = parse_date(t, date.max)
        except ParseError as exc:
            if exc.code == "too_early":
                raise ParseError("past", today=today) from None
            raise
    else:
        month, dom = int(m["m"]), int(m["d1"] or m["d2"])
        candidates = []
        for year in (today.year - 1, today.year, today.year + 1):
            try:
                candidates.append(date(year, month, dom))
            except ValueError:
                continue
        if not candidates:
            raise ParseError("invalid_date", month=month, day=dom)
        day = min(candidates, key=lambda c: (abs((c - today).days), c < today))
    if day < today:
        raise ParseError("past", today=today)
    return day


# --- duration ---------------------------------------------------------------------------

_DURATION_UNITS: dict[str, int] = {}
for _seconds, _names in (
    (7 * 86400, ("w", "wk", "wks", "week", "weeks", "周", "个星期", "星期")),
    (86400, ("d", "day", "days", "天", "日")),
    (3600, ("h", "hr", "hrs", "hour", "hours", "小时", "个小时", "时")),
    (60, ("m", "min", "mins", "minute", "minutes", "分钟", "分")),
    (1, ("s", "sec", "secs", "second", "seconds", "秒")),
):
    for _name in _names:
        _DURATION_UNITS[_name] = _seconds
del _seconds, _names, _name

_DURATION_PART = re.compile(
    r"\s*(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z]+|[\u4e00-\u9fff]+)\s*(?:,\s*)?"
)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as "3d", "1d12h", "90s", "2 hours 30 minutes"."""
    t = _prepare(text, _DURATION_MAX_INPUT, "too_long").lower()
    total = Decimal(0)
    seen: set[int] = set()
    pos = 0
    while pos < len(t):
        m = _DURATION_PART.match(t, pos)
        if not m:
            raise ParseError("format")
        seconds = _DURATION_UNITS.get(m["unit"])
        if seconds is None or seconds in seen:
            raise ParseError("format")
        seen.add(seconds)
        total += Decimal(m["num"]) * seconds
        pos = m.end()
    if total > MAX_DURATION_DAYS * 86400:
        raise ParseError("too_large", max_days=MAX_DURATION_DAYS)
    micros = int((total * 1_000_000).to_integral_value(rounding=ROUND_HALF_UP))
    if micros <= 0:
        raise ParseError("not_positive")
    return timedelta(microseconds=micros)
