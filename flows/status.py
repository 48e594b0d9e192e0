"""Review status changes (by an operator or by the merchant), and the reminder settings.

A status change appends a history record, pushes a screen with the next steps, and (through
the reminder plan) cancels reminders it makes obsolete.
"""

from __future__ import annotations

import contextlib
import re
from datetime import date
from typing import TYPE_CHECKING

from flows import reminders as rem
from flows import review, route
from flows.core import (
    Button,
    Context,
    Outcome,
    Screen,
    StatusChange,
    ask_input,
    clear_input,
    entry_points,
)
from flows.feature import Action, Feature, choice, token
from flows.parsing import ParseError, parse_due_date
from flows.state import MerchantData, ReminderSettings

if TYPE_CHECKING:
    from flows.catalog import Catalog

STATUSES = review.STATUSES
# What a merchant may report from the status screen, by button.
SELF_REPORT = ("approved", "need_more", "rejected", "joined")
_ISO_DAY = re.compile(r"(20\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})")
_MONTH_DAY = re.compile(r"(\d{1,2})\s*[月/.-]\s*(\d{1,2})\s*[日号]?")


def status_aliases(catalog: Catalog) -> dict[str, str]:
    """Status code by every accepted spelling: the codes and the Chinese names of content."""
    aliases = {code: code for code in STATUSES}
    for code, info in catalog["statuses"]["statuses"].items():
        aliases[str(info["name"])] = code
        for extra in info.get("aliases") or ():
            aliases[str(extra)] = code
    return aliases


def deadline_in(note: str, today: date) -> date | None:
    """A deadline written in an operator's note ("请于 2026-10-20 前补充", "10月20日前")."""
    match = _ISO_DAY.search(note)
    try:
        if match:
            return date(int(match[1]), int(match[2]), int(match[3]))
        match = _MONTH_DAY.search(note)
        if match:
            # the year that puts the day nearest to today: "12月1日" written on 12-02 is the
            # day before (passed), "1月5日" written in late December is next January's
            month, day = int(match[1]), int(match[2])
            candidates = []
            for year in (today.year - 1, today.year, today.year + 1):
                with contextlib.suppress(ValueError):  # 2月29日 outside a leap year
                    candidates.append(date(year, month, day))
            if not candidates:
                return None
            return min(candidates, key=lambda d: (abs((d - today).days), d < today))
    except ValueError:
        return None
    return None


def refusal(data: MerchantData, new: str) -> str | None:
    """Why an operator may not record this status for the merchant now (None: they may).

    A result belongs to a submission on the merchant's route: without a route nothing can be
    recorded ("no_route"); without a submission on it only 已提交 ("no_submission"), which
    records one (the merchant submitted outside the bot)."""
    if data.get("route") not in route.ROUTES:
        return "no_route"
    if new != "submitted" and not data.get("submitted_on"):
        return "no_submission"
    return None


def change_status(out: Outcome, ctx: Context, new: str, note: str, by: str) -> Outcome:
    """Record a status change and push the next steps to the merchant (a new message).

    已提交 without a recorded submission records one today (submitted outside the bot)."""
    data = out.state.data
    old = data.get("status")
    if new == "submitted" and not data.get("submitted_on"):
        data["submitted_on"] = ctx.today.isoformat()
    data["status"] = new
    data["status_on"] = ctx.today.isoformat()
    if new == "need_more":
        deadline = deadline_in(note, ctx.today)
        data["need_more"] = {"note": note, "deadline": deadline.isoformat() if deadline else None}
    else:
        data.pop("need_more", None)
    # The latest result's explanation stays visible on /status (a failed push loses nothing).
    if note:
        data["status_note"] = note
    else:
        data.pop("status_note", None)
    out.records.append(StatusChange(old, new, by, note))
    out.screens.append(push_screen(out, ctx, note=note, by=by))
    return out


def push_screen(out: Outcome, ctx: Context, *, note: str, by: str) -> Screen:
    """The message a merchant gets when their status changes."""
    data = out.state.data
    status = data["status"]
    rows: list[tuple[Button, ...]] = []
    if status == "need_more":
        rows.append((Button.of("menu_docs", "docs"),))
    if status == "rejected":
        rows.append((Button.of("menu_agency", "agency"), Button.of("menu_route", "route")))
    if status == "joined" and data.get("route") == "platform":
        # a full-managed store ships its stock to the platform's warehouse first
        rows.append((Button.of("warehouse_guide", "ship", "w", "1"),))
    elif status == "joined":
        rows.append((Button.of("menu_ship", "ship1"),))
    rows.append((Button.of("menu_status", "status"), Button.of("main_menu", "menu")))
    return Screen(
        "status_push",
        {
            "status": status,
            "note": note,
            "by": by,
            "route": data.get("route"),
            "deadline": (data.get("need_more") or {}).get("deadline"),
            "today": ctx.today.isoformat(),  # a deadline already passed is said so
        },
        tuple(rows),
    )


# --- the merchant reports a result themselves ---------------------------------------------


def press_report(out: Outcome, ctx: Context, new: str) -> Outcome:
    """已通过 / 需补充 / 未通过 pressed on the status screen: ask to confirm."""
    if new not in review.reportable(out.state.data):
        return REPORT.stale(out, ctx)
    out.screens.append(
        Screen(
            "report_confirm",
            {"status": new},
            ((Button.of("report_yes", "repok", new),), (Button.of("back", "status"),)),
            edit=True,
        )
    )
    return out


def press_report_ok(out: Outcome, ctx: Context, new: str) -> Outcome:
    """Confirmed: record the merchant's own report (a confirmation pressed twice, or after
    the status changed, shows the status as it is now)."""
    if out.state.data.get("status") == new:
        out.screens.append(review.status_screen(out, ctx, edit=True))
        return out
    if new not in review.reportable(out.state.data):
        return REPORT.stale(out, ctx)
    out.notice = "saved"
    change_status(out, ctx, new, "", "merchant")
    out.screens[-1] = Screen(
        out.screens[-1].template, out.screens[-1].data, out.screens[-1].buttons, edit=True
    )
    return out


# --- reminders settings (/reminders) ------------------------------------------------------


def prefs(out: Outcome) -> ReminderSettings:
    """The merchant's reminder settings, created on first use."""
    return out.state.data.setdefault("reminders", {})


def reminders_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """What is scheduled, with mute / snooze / settings."""
    settings = prefs(out)
    ahead = rem.upcoming(out.state.data, ctx.catalog, ctx.tz, ctx.now)
    chosen = out.state.data.get("route")
    rows: list[tuple[Button, ...]] = [
        (Button.of("rem_snooze", "rsz", p.key, title=_title(ctx, p.kind, chosen)),)
        for p in ahead[:4]
    ]
    if settings.get("muted"):
        rows.append((Button.of("rem_unmute", "rmute", "0"),))
    else:
        rows.append((Button.of("rem_mute", "rmute", "1"),))
    if out.state.data.get("route") == "agency":
        rows.append((Button.of("rem_fee", "rfee"),))
    if out.state.data.get("status") == "joined":
        rows.append(tuple(Button.of(f"rem_every_{d}", "rint", d) for d in (7, 14, 30)))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen(
        "reminders",
        {
            "upcoming": [{"kind": p.kind, "due": p.due.isoformat()} for p in ahead],
            "muted": bool(settings.get("muted")),
            "fee_date": settings.get("fee_date"),
            # a payment date of today whose morning reminder time has passed: no reminder
            # will come, the screen says so and what to check
            "fee_missed": _fee_reminder_passed(settings.get("fee_date"), ctx),
            "interval": settings.get("interval_days") or rem.DEFAULT_INTERVAL_DAYS,
            "status": out.state.data.get("status"),
            "route": out.state.data.get("route"),
        },
        tuple(rows),
        edit=edit,
    )


def _fee_reminder_passed(fee_date: str | None, ctx: Context) -> bool:
    if not fee_date or fee_date != ctx.today.isoformat():
        return False
    return rem.at_local(ctx.today, ctx.tz) <= ctx.now


def _title(ctx: Context, kind: str, chosen: str | None) -> str:
    """A reminder's short title from content (in the route's own words)."""
    title = ctx.catalog["statuses"]["reminders"][kind]["title"]
    if isinstance(title, dict):
        title = title.get(chosen or "platform", title.get("platform"))
    return str(title)


cmd_reminders, press_reminders = entry_points(reminders_screen)


def press_mute(out: Outcome, ctx: Context, muted: str) -> Outcome:
    """Mute (1) or unmute (0) all reminders."""
    prefs(out)["muted"] = muted == "1"
    out.notice = "saved"
    out.screens.append(reminders_screen(out, ctx, edit=True))
    return out


def press_snooze(out: Outcome, ctx: Context, key: str, where: str) -> Outcome:
    """推迟一天: the reminder (upcoming, or just received: where m) comes again a day later."""
    base = key.split("~", 1)[0]
    tz = ctx.tz
    # counted from the reminder's own moment, not from an earlier snooze: a second tap (or a
    # double tap) gives the same time instead of another day
    unsnoozed: MerchantData = {**out.state.data, "reminders": {**prefs(out), "snoozed": {}}}
    planned = {p.key: p for p in rem.plan(unsnoozed, ctx.catalog, tz, ctx.now)}
    if base not in planned:
        out.notice = "stale"
        out.screens.append(reminders_screen(out, ctx, edit=True))
        return out
    item = planned[base]
    until = rem.snoozed_until(ctx.now, item.due, tz)
    latest = rem.latest_snooze(item.kind, item.data, tz)
    if latest is not None and until > latest:
        if latest <= max(ctx.now, item.due):
            # the deadline (the window's last day) is today: putting it off would only hide it
            last_day = item.kind == "window_open"
            out.notice = "snooze_last_day" if last_day else "snooze_too_late"
            if where != "m":
                out.screens.append(reminders_screen(out, ctx, edit=True))
            return out
        until = latest
    prefs(out).setdefault("snoozed", {})[base] = until.isoformat(timespec="minutes")
    out.notice = "snoozed"
    out.notice_params = {"day": until.date().isoformat(), "time": f"{until:%H:%M}"}
    if where == "m":
        return out  # pressed on the reminder itself: its text stays readable, a toast confirms
    out.screens.append(reminders_screen(out, ctx, edit=True))
    return out


def press_interval(out: Outcome, ctx: Context, days: str) -> Outcome:
    """How often the operation check comes after joining."""
    prefs(out)["interval_days"] = int(days)
    out.notice = "saved"
    out.screens.append(reminders_screen(out, ctx, edit=True))
    return out


def press_fee(out: Outcome, ctx: Context) -> Outcome:
    """Ask for the agency fee payment date."""
    ask_input(out, "fee_date")
    out.screens.append(
        Screen("fee_prompt", {"error": None}, ((Button.of("back", "reminders"),),), edit=True)
    )
    return out


def on_fee_date(out: Outcome, ctx: Context, text: str) -> Outcome:
    """The typed payment date: today or later."""
    back = ((Button.of("back", "reminders"),),)
    if not text:
        out.screens.append(Screen("fee_prompt", {"error": None}, back))
        return out
    try:
        day = parse_due_date(text, ctx.today)
    except ParseError as exc:
        code = "format_date" if exc.code in ("format", "empty") else exc.code
        # A worked example that is always ahead: the 15th of next month.
        ahead = date(ctx.today.year + ctx.today.month // 12, ctx.today.month % 12 + 1, 15)
        shown = {"error": code, "today": ctx.today.isoformat(), "example": ahead.isoformat()}
        out.screens.append(Screen("fee_prompt", shown, back))
        return out
    prefs(out)["fee_date"] = day.isoformat()
    clear_input(out)
    out.notice = "saved"
    out.screens.append(reminders_screen(out, ctx, edit=False))
    return out


# the merchant reports a result; a stale press shows the status as it is now
RESULT = choice("result", *SELF_REPORT)
REPORT = Feature(
    "report",
    review.press_status,
    actions=(Action("rep", press_report, (RESULT,)), Action("repok", press_report_ok, (RESULT,))),
    stage="review",
)
REMINDERS = Feature(
    "reminders",
    press_reminders,
    commands={"reminders": cmd_reminders},
    actions=(
        Action("reminders", press_reminders),
        Action("rmute", press_mute, (choice("muted", "0", "1"),)),
        Action(
            "rsz",
            press_snooze,
            (token("reminder"), choice("where", "m", optional=True, default="")),
        ),
        Action("rint", press_interval, (choice("days", "7", "14", "30"),)),
        Action("rfee", press_fee),
    ),
    inputs={"fee_date": on_fee_date},
)
