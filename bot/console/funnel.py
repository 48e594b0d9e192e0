"""The funnel: how far merchants got, per route, this week and all time; how long the review
took (median working days from submission to the first result) and how often it approved.

Everything is counted by SQL over small indexed columns kept by migration 0007, never by
reading merchants' JSON:

- all time: `merchants.reached`, the furthest stage a merchant reached (GROUP BY route,
  reached over the index merchants_reached); a merchant who reached a stage reached every
  stage before it, so the counts are cumulative from the end;
- this week: `merchant_progress`, when each stage was first reached (a range of the index
  merchant_progress_at): how many merchants arrived at each stage since Monday 00:00;
- results: `review_results` grouped by (route, result, first, submitted_on, decided_on): a
  few thousand groups at most, whose working days are counted with flows.workdays (the
  Chinese working-day calendar) once per distinct pair of dates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from bot.store import Store
from flows.workdays import working_days_between

STAGES = ("route", "qualify", "docs", "apply", "submit", "review", "join", "done")
ROUTES = ("", "agency", "platform")  # "": every merchant, with or without a route
PERIODS = ("all", "week")


@dataclass
class Review:
    """Review results in one period and route."""

    results: Counter[str] = field(default_factory=Counter)  # approved / rejected / need_more
    days: Counter[int] = field(default_factory=Counter)  # working days to a first result → n

    @property
    def median(self) -> float | None:
        """The median working days from submission to the first result (None: no result)."""
        total = sum(self.days.values())
        if not total:
            return None
        middle: list[int] = []
        seen = 0
        for days in sorted(self.days):
            before = seen
            seen += self.days[days]
            for rank in {(total - 1) // 2, total // 2}:
                if before <= rank < seen:
                    middle.append(days)
        return sum(middle) / len(middle)

    @property
    def decided(self) -> int:
        """Final results: approved or rejected."""
        return self.results["approved"] + self.results["rejected"]

    @property
    def approval(self) -> float | None:
        """Approved among the final results (None: no final result)."""
        return self.results["approved"] / self.decided if self.decided else None


@dataclass
class Funnel:
    """reached[period][route]: merchants per stage (in STAGES order); review[period][route]."""

    week_start: date
    reached: dict[str, dict[str, list[int]]]
    review: dict[str, dict[str, Review]]

    def conversion(self, period: str, route: str) -> list[float | None]:
        """From each stage to the next (None for the first stage, or after an empty one)."""
        counts = self.reached[period][route]
        return [None] + [
            (counts[i] / counts[i - 1]) if counts[i - 1] else None for i in range(1, len(counts))
        ]


def _others(operators: frozenset[int], column: str = "user_id") -> tuple[str, list[int]]:
    """A WHERE fragment leaving the operators out."""
    ids = sorted(operators)
    if not ids:
        return "1 = 1", []
    return f"{column} NOT IN ({', '.join('?' * len(ids))})", ids


@lru_cache(maxsize=65536)
def _workdays(submitted: str, decided: str) -> int | None:
    """Working days in (submitted, decided], or None when a date is unreadable."""
    try:
        return working_days_between(date.fromisoformat(submitted), date.fromisoformat(decided))
    except ValueError:
        return None


async def funnel(store: Store, operators: frozenset[int], now: datetime) -> Funnel:
    """The whole funnel at `now` (an aware moment in the bot's time zone)."""
    today = now.date()
    monday = today - timedelta(days=today.weekday())
    week_from = datetime.combine(monday, time(0), tzinfo=now.tzinfo).astimezone(UTC)
    week_iso = week_from.isoformat(timespec="seconds")
    others, ids = _others(operators)
    marks = ", ".join("?" * len(ids)) or "NULL"
    db = store.db
    reached = {p: {r: [0] * len(STAGES) for r in ROUTES} for p in PERIODS}

    # all time: how many merchants' furthest stage is each stage, per route (one index range
    # of merchants_reached each: nothing is sorted), then made cumulative
    furthest = {r: [0] * len(STAGES) for r in ROUTES}
    arms, args = [], []
    for route in ROUTES:
        for pos in range(len(STAGES)):
            column = "route IS NULL" if not route else "route = ?"
            arms.append(
                f"SELECT ?, ?, (SELECT COUNT(*) FROM merchants WHERE {column} AND reached = ?)"
            )
            args += [route, pos, *([route] if route else []), pos]
    rows = await db.execute_fetchall(" UNION ALL ".join(arms), args)
    for route, pos, n in rows:
        furthest[route][pos] += n
    mine = await db.execute_fetchall(
        f"SELECT COALESCE(route, ''), reached FROM merchants WHERE user_id IN ({marks})", ids
    )
    for route, pos in mine:  # the operators' own rows are not merchants
        if route in furthest and 0 <= pos < len(STAGES):
            furthest[route][pos] -= 1
    every = [sum(furthest[r][pos] for r in ROUTES) for pos in range(len(STAGES))]
    for route, counts in (*furthest.items(), ("", every)):
        total = 0
        for pos in reversed(range(len(STAGES))):
            total += counts[pos]
            reached["all"][route][pos] = total

    # this week: arrivals at each stage since Monday (an index range of merchant_progress_at
    # per route and stage)
    arms, args = [], []
    for route in ROUTES:
        for pos in range(len(STAGES)):
            arms.append(
                "SELECT ?, ?, (SELECT COUNT(*) FROM merchant_progress"
                " WHERE route = ? AND pos = ? AND reached_at >= ?)"
            )
            args += [route, pos, route, pos, week_iso]
    rows = await db.execute_fetchall(" UNION ALL ".join(arms), args)
    week = {r: [0] * len(STAGES) for r in ROUTES}
    for route, pos, n in rows:
        week[route][pos] += n
    mine = await db.execute_fetchall(
        f"SELECT route, pos FROM merchant_progress WHERE user_id IN ({marks}) AND reached_at >= ?",
        [*ids, week_iso],
    )
    for route, pos in mine:
        if route in week and 0 <= pos < len(STAGES):
            week[route][pos] -= 1
    for pos in range(len(STAGES)):
        for route in ROUTES:
            reached["week"][route][pos] = week[route][pos]
        reached["week"][""][pos] = sum(week[r][pos] for r in ROUTES)

    # review results, grouped by their dates
    review = {p: {r: Review() for r in ROUTES} for p in PERIODS}
    rows = await db.execute_fetchall(
        f"SELECT decided_on, route, result, first, submitted_on, COUNT(*) FROM review_results"
        f" WHERE {others} GROUP BY decided_on, route, result, first, submitted_on",
        ids,
    )
    monday_iso = monday.isoformat()
    for decided, route, result, first, submitted, n in rows:
        periods = ("all", "week") if str(decided) >= monday_iso else ("all",)
        days = _workdays(str(submitted), str(decided)) if first and submitted else None
        for period in periods:
            for key in ("", route):
                if key not in review[period]:
                    continue
                found = review[period][key]
                found.results[str(result)] += n
                if days is not None:
                    found.days[days] += n
    return Funnel(monday, reached, review)


# --- the chart ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    """One stage's bar in the SVG (coordinates in the viewBox)."""

    key: str
    count: int
    share: float | None  # of the first stage
    conversion: float | None  # from the stage before
    y: int
    width: float


# a narrow viewBox: on a phone the chart is drawn at about this size, its text still readable
CHART = {"width": 400, "label": 84, "bar": 210, "row": 30, "height": 20}


def bars(found: Funnel, period: str, route: str) -> list[Bar]:
    """The chart's bars: each stage as wide as its count against the largest."""
    counts = found.reached[period][route]
    conversion = found.conversion(period, route)
    top = max(counts) or 1
    first = counts[0]
    return [
        Bar(
            key=key,
            count=counts[i],
            share=counts[i] / first if first else None,
            conversion=conversion[i],
            y=i * CHART["row"] + 6,
            width=round(CHART["bar"] * counts[i] / top, 1),
        )
        for i, key in enumerate(STAGES)
    ]


def chart_data(found: Funnel, period: str, route: str) -> dict[str, Any]:
    """What the page's SVG needs."""
    return {
        **CHART,
        "bars": bars(found, period, route),
        "total_height": len(STAGES) * CHART["row"] + 8,
    }
