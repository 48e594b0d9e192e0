"""Which reminders a merchant should get, and when: a pure plan derived from the state.

The store reconciles the database with this plan after every state change, so a status change
automatically cancels the reminders it makes obsolete, and nothing is planned twice (each
reminder has a stable key). The scheduler delivers what falls due; of several due reminders in
one chain only the latest is sent (the window opening is moot once the review is overdue).

State keys used: route, status, submitted_on, cycle (review cycle number, 1 when absent),
status_on (ISO date of the last status change), need_more {"deadline": ISO|None},
reminders {"muted": bool, "fee_date": ISO|None, "interval_days": int,
"snoozed": {key: ISO datetime}}.

A key names one reminder for one moment: "window_open/2026-09-28" (a later review cycle adds
"#2"), a snoozed copy adds "~202610091000". Keys are stable, so the store can tell a reminder
that comes back into the plan (revived) from one already sent (never sent again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from flows import route
from flows.state import MerchantData, ReminderSettings
from flows.workdays import next_working_day_after, review_window

if TYPE_CHECKING:
    from flows.catalog import Catalog
    from flows.core import Screen

REMIND_AT = time(10, 0)  # local time of day for every reminder
QUIET_START = time(21, 0)  # quiet hours 21:00–09:00 local
QUIET_END = time(9, 0)
DEFAULT_INTERVAL_DAYS = 7
SNOOZE = timedelta(days=1)

# The action a reminder's buttons lead to, by kind (label key, action, args).
KINDS = ("window_open", "overdue", "need_more_deadline", "fee_due", "agreement", "operation_check")


@dataclass(frozen=True)
class Planned:
    """One reminder the merchant should receive."""

    key: str  # unique per merchant and stable: "window_open/2026-09-28" (no ":")
    kind: str
    chain: str  # of several due reminders in a chain only the latest is sent
    due: datetime  # aware
    data: dict[str, Any] = field(default_factory=dict, compare=False)


def at_local(day: date, tz: tzinfo, at: time = REMIND_AT) -> datetime:
    """A local wall-clock moment as an aware datetime."""
    return datetime.combine(day, at, tzinfo=tz)


def in_quiet_hours(moment: datetime, tz: tzinfo) -> bool:
    """True between 21:00 and 09:00 in the merchant's time zone."""
    local = moment.astimezone(tz).time()
    return local >= QUIET_START or local < QUIET_END


def quiet_end(moment: datetime, tz: tzinfo) -> datetime:
    """The next 09:00 local at or after the moment."""
    local = moment.astimezone(tz)
    day = local.date() if local.time() < QUIET_END else local.date() + timedelta(days=1)
    return at_local(day, tz, QUIET_END)


def snoozed_until(now: datetime, due: datetime, tz: tzinfo) -> datetime:
    """When a reminder snoozed now comes again: a day after it was due (or after now, if it
    already came). A day after an evening falls in the quiet hours: it comes that morning
    instead (10:00), never skipping a whole day; after midnight, at 09:00."""
    target = (max(now, due) + SNOOZE).astimezone(tz)
    if target.time() >= QUIET_START:
        target = at_local(target.date(), tz)
    elif target.time() < QUIET_END:
        target = at_local(target.date(), tz, QUIET_END)
    return target.replace(second=0, microsecond=0)


def latest_snooze(kind: str, data: dict[str, Any], tz: tzinfo) -> datetime | None:
    """How late a reminder may be put off: a deadline's reminder not past the deadline's
    morning (09:00); the window's opening not past the window's last day (at the usual hour:
    later it would tell of a window already over)."""
    if kind == "need_more_deadline" and data.get("deadline"):
        return at_local(date.fromisoformat(data["deadline"]), tz, QUIET_END)
    if kind == "window_open" and data.get("last"):
        return at_local(date.fromisoformat(data["last"]), tz)
    return None


# Statuses in which the review window reminders apply (need_more waits for the merchant).
WINDOW_STATUSES = ("submitted", "reviewing")


def cycle_suffix(data: MerchantData) -> str:
    """ "" for the first review cycle, "#2" … for later ones (after a resubmission)."""
    cycle = int(data.get("cycle") or 1)
    return "" if cycle <= 1 else f"#{cycle}"


def settings_of(data: MerchantData) -> ReminderSettings:
    """The merchant's reminder settings (a copy-safe view with defaults)."""
    return data.get("reminders") or {}


def plan(data: MerchantData, catalog: Catalog, tz: tzinfo, now: datetime) -> list[Planned]:
    """Every reminder the state calls for, past-due ones included (the store keeps keys once)."""
    prefs = settings_of(data)
    if prefs.get("muted"):
        return []
    chosen = data.get("route")
    status = data.get("status")
    result: list[Planned] = []
    submitted = data.get("submitted_on")
    cycle = cycle_suffix(data)
    if status in WINDOW_STATUSES and submitted and chosen in route.ROUTES:
        review = catalog["application"]["review"][chosen]
        window = review_window(
            date.fromisoformat(submitted), int(review["first_n"]), int(review["last_n"])
        )
        result.append(
            Planned(
                f"window_open/{submitted}{cycle}",
                "window_open",
                "review",
                at_local(window.first, tz),
                {
                    "first": window.first.isoformat(),
                    "last": window.last.isoformat(),
                    "route": chosen,
                },
            )
        )
        overdue_day = next_working_day_after(window.last)
        result.append(
            Planned(
                f"overdue/{submitted}{cycle}",
                "overdue",
                "review",
                at_local(overdue_day, tz),
                {"last": window.last.isoformat(), "route": chosen},
            )
        )
    deadline = (data.get("need_more") or {}).get("deadline")
    if status == "need_more" and deadline:
        day = date.fromisoformat(deadline)
        asked = data.get("status_on")
        # The day before at 10:00; a deadline set for tomorrow or today is recalled on the day
        # itself at 09:00 (the day before is already gone when the request arrives).
        due = at_local(day - timedelta(days=1), tz)
        if asked and date.fromisoformat(asked) >= day - timedelta(days=1):
            due = at_local(day, tz, QUIET_END)
        result.append(
            Planned(
                f"need_more_deadline/{deadline}{cycle}",
                "need_more_deadline",
                "need_more",
                due,
                {"deadline": deadline, "route": chosen},
            )
        )
    fee_date = prefs.get("fee_date")
    if fee_date and chosen == "agency":
        result.append(
            Planned(
                f"fee_due/{fee_date}",
                "fee_due",
                "fee",
                at_local(date.fromisoformat(fee_date), tz),
                {"date": fee_date},
            )
        )
    status_on = data.get("status_on")
    if status == "approved" and status_on:
        day = next_working_day_after(date.fromisoformat(status_on))
        result.append(
            Planned(
                f"agreement/{status_on}{cycle}",
                "agreement",
                "agreement",
                at_local(day, tz),
                {"route": chosen},
            )
        )
    if status == "joined" and status_on:
        interval = int(prefs.get("interval_days") or DEFAULT_INTERVAL_DAYS)
        start = date.fromisoformat(status_on)
        local_today = now.astimezone(tz).date()
        # The latest occurrence up to today and the next one: older ones were sent already,
        # or would be dropped as superseded in the chain anyway.
        passed = max(0, (local_today - start).days // interval)
        if passed and at_local(start + timedelta(days=passed * interval), tz) > now:
            passed -= 1  # today's occurrence has not come yet
        for k in sorted({max(1, passed), passed + 1}):
            day = start + timedelta(days=k * interval)
            result.append(
                Planned(
                    f"operation_check/{day.isoformat()}",
                    "operation_check",
                    "ops",
                    at_local(day, tz),
                    {"interval": interval, "route": chosen},
                )
            )
    # A snoozed reminder replaces its original (a new key, so one already sent comes again).
    snoozed = prefs.get("snoozed") or {}
    if snoozed:
        replaced = []
        for item in result:
            until = snoozed.get(item.key)
            if until is None:
                replaced.append(item)
                continue
            moment = datetime.fromisoformat(until)
            replaced.append(
                Planned(
                    f"{item.key}~{moment:%Y%m%d%H%M}",
                    item.kind,
                    item.chain,
                    moment,
                    {**item.data, "snoozed": True},
                )
            )
        result = replaced
    return result


def upcoming(data: MerchantData, catalog: Catalog, tz: tzinfo, now: datetime) -> list[Planned]:
    """The planned reminders still ahead, soonest first (for /reminders)."""
    return sorted((p for p in plan(data, catalog, tz, now) if p.due > now), key=lambda p: p.due)


def reminder_screen(kind: str, key: str, data: dict[str, Any], today: date | None = None) -> Screen:
    """The message of a reminder, with buttons to act on it.

    `today` is the merchant's date at delivery: a reminder delivered later than planned (after
    downtime, or snoozed) is worded for the day it arrives, not for the day it was planned."""
    from flows.core import Button, Screen  # local: keeps this module's import light

    rows: list[tuple[Button, ...]] = []
    if kind in ("window_open", "overdue", "agreement"):
        rows.append((Button.of("menu_status", "status"),))
    if kind == "need_more_deadline":
        rows.append((Button.of("menu_docs", "docs"),))
    if kind == "operation_check":
        rows.append((Button.of("menu_progress", "progress"),))
    # "m": pressed on the reminder itself, whose text stays as it is (a toast confirms)
    rows.append((Button.of("rem_later", "rsz", key.split("~", 1)[0], "m"),))
    rows.append((Button.of("menu_reminders", "reminders"), Button.of("main_menu", "menu")))
    shown = {**data, "today": today.isoformat() if today else None}
    return Screen("reminder", {"kind": kind, "data": shown}, tuple(rows))
