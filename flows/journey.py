"""The journey as a whole: submission date, review window, status, progress, my data.

State keys: route, submitted_on (ISO date), status (a code of statuses.yaml), and the feature
keys (agency, self_check, readiness, docs, application).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flows import route
from flows.core import Button, Context, Outcome, Screen, clear_input, entry_points, pending_input
from flows.parsing import ParseError, parse_past_date
from flows.workdays import review_window

STATUSES = ("submitted", "reviewing", "need_more", "approved", "rejected", "joined")
IN_REVIEW = ("submitted", "reviewing", "need_more")
WINDOW_SHOWN = (None, "submitted", "reviewing")  # statuses for which the window still matters
# Keys that say nothing about the journey (a first /help or 你好 leaves only these behind).
TRANSIENT_KEYS = frozenset({"input", "suspended"})


def started(data: dict[str, Any]) -> bool:
    """Has the merchant saved anything of their journey (route, answers, dates, settings)?"""
    return any(
        value not in (None, {}, [], "") for key, value in data.items() if key not in TRANSIENT_KEYS
    )


def menu_rows(out: Outcome, ctx: Context) -> tuple[tuple[Button, ...], ...]:
    """A 'next step' row above 主菜单."""
    return ((Button.of("next_step", "progress"),), (Button.of("main_menu", "menu"),))


# --- review window -----------------------------------------------------------------------


def window_data(data: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """The expected review window for the stored submission date, ready for a template."""
    submitted = data.get("submitted_on")
    chosen = data.get("route")
    if not submitted or chosen not in route.ROUTES:
        return None
    review = ctx.catalog["application"]["review"][chosen]
    day = date.fromisoformat(submitted)
    window = review_window(day, int(review["first_n"]), int(review["last_n"]))
    today = ctx.today
    if today < window.first:
        phase = "before"
    elif today <= window.last:
        phase = "open"
    else:
        phase = "overdue"
    return {
        "submitted": window.submitted.isoformat(),
        "first": window.first.isoformat(),
        "last": window.last.isoformat(),
        "first_n": int(review["first_n"]),
        "last_n": int(review["last_n"]),
        "estimated": window.estimated,
        "phase": phase,
        "route": chosen,
    }


# Statuses after which a new submission starts a new review cycle (the old result stays in
# the history): rejected, or asked for more and resubmitted.
RESUBMIT_FROM = ("rejected", "need_more")


def record_submission(out: Outcome, ctx: Context, day: date, *, edit: bool) -> Outcome:
    """Save the submission date and show the window.

    A first submission, or one after 未通过 / 需补充材料, (re)starts the review: status
    已提交, a new cycle (new window, new reminders). While under review or after approval the
    date is a correction and the status stays."""
    from flows import reminders as rem  # the plan reads this module's constants

    data = out.state.data
    previous = data.get("submitted_on")
    old_status = data.get("status")
    data["submitted_on"] = day.isoformat()
    data.pop("pending_submission", None)
    restarted = old_status in RESUBMIT_FROM
    if old_status is None or restarted:
        if restarted:
            data["cycle"] = int(data.get("cycle") or 1) + 1
            data.pop("status_note", None)  # the previous result's note is history now
        data["status"] = "submitted"
        data["status_on"] = ctx.today.isoformat()
        data.pop("need_more", None)
        out.records.append(
            {"kind": "status", "old": old_status, "new": "submitted", "by": "merchant", "note": ""}
        )
    clear_input(out)
    out.notice = "saved"
    tz = ctx.now.tzinfo
    ahead = {
        p.kind: p.due.date().isoformat()
        for p in rem.upcoming(data, ctx.catalog, tz, ctx.now)  # type: ignore[arg-type]
    }
    out.screens.append(
        Screen(
            "submitted",
            {
                "window": window_data(data, ctx),
                "previous": previous,
                "status": data.get("status"),
                "restarted_from": old_status if restarted else None,
                "upcoming": ahead,
                "muted": bool((data.get("reminders") or {}).get("muted")),
            },
            ((Button.of("menu_status", "status"),), (Button.of("main_menu", "menu"),)),
            edit=edit,
        )
    )
    return out


def cmd_submitted(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/submitted [YYYY-MM-DD]`: today by default, an earlier date if given.

    Without a route yet, the date is kept while the merchant picks one (then recorded)."""
    day = ctx.today
    if args.strip():
        try:
            day = parse_past_date(args, ctx.today)
        except ParseError as exc:
            code = "format_date" if exc.code in ("format", "empty") else exc.code
            out.screens.append(
                Screen(
                    "submitted_error",
                    {"error": code, "today": ctx.today.isoformat()},
                    ((Button.of("main_menu", "menu"),),),
                )
            )
            return out
    if not route.route_of(out):
        out.state.data["pending_submission"] = day.isoformat()
        route.require(out, SUBMIT_AFTER_ROUTE, edit=False)
        return out
    return record_submission(out, ctx, day, edit=False)


SUBMIT_AFTER_ROUTE = "sub"  # setroute continues by recording the kept submission date


def submit_after_route(out: Outcome, ctx: Context) -> Outcome:
    """The route was just chosen after `/submitted DATE`: record the kept date."""
    kept = out.state.data.get("pending_submission")
    try:
        day = date.fromisoformat(kept) if kept else ctx.today
    except ValueError:
        day = ctx.today
    return record_submission(out, ctx, day, edit=True)


# --- status --------------------------------------------------------------------------------


def status_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """Current review status, expected window, what to do now."""
    data = out.state.data
    rows: list[tuple[Button, ...]] = []
    if not data.get("submitted_on"):
        rows.append((Button.of("menu_apply", "apply"),))
    elif data.get("status") in IN_REVIEW or data.get("status") is None:
        # the merchant heard back first: they can record the result themselves
        rows.append(
            tuple(Button.of(f"rep_{s}", "rep", s) for s in ("approved", "need_more", "rejected"))
        )
    elif data.get("status") == "approved":
        rows.append((Button.of("rep_joined", "rep", "joined"),))
    rows.append((Button.of("next_step", "progress"), Button.of("main_menu", "menu")))
    need_more = data.get("need_more") or {}
    return Screen(
        "status",
        {
            "status": data.get("status"),
            "window": window_data(data, ctx) if data.get("status") in WINDOW_SHOWN else None,
            "submitted_on": data.get("submitted_on"),
            "route": data.get("route"),
            "note": need_more.get("note") or "",
            "deadline": need_more.get("deadline"),
            "today": ctx.today.isoformat(),
            "history_note": data.get("status_note") or "",
        },
        tuple(rows),
        edit=edit,
    )


cmd_status, press_status = entry_points(status_screen)


# --- progress ------------------------------------------------------------------------------


def stages(data: dict[str, Any], ctx: Context) -> list[dict[str, Any]]:
    """Every stage of the journey with its mark (done / doing / todo) and what is missing."""
    from flows import agency, apply, docs  # feature modules import this one

    chosen = data.get("route")
    status = data.get("status")
    result: list[dict[str, Any]] = []

    def add(key: str, state: str, action: str, missing: list[str] | None = None) -> None:
        result.append({"key": key, "state": state, "action": action, "missing": missing or []})

    add("route", "done" if chosen in route.ROUTES else "todo", "route")
    empty: dict[str, Any] = {"done": False, "started": False, "missing": []}
    qualify = agency.summary(data, ctx.catalog) if chosen else empty
    add("qualify", _mark(qualify), "agency", qualify.get("missing"))
    docs_sum = docs.summary(data, ctx.catalog) if chosen else empty
    add("docs", _mark(docs_sum), "docs", docs_sum.get("missing"))
    app = data.get("application") or {}
    filled = app.get("fields") or {}
    missing_fields = [f["label"] for f in apply.fields(ctx) if f["key"] not in filled]
    app_state = "done" if app.get("confirmed_at") else ("doing" if filled else "todo")
    add("apply", app_state, "apply", missing_fields)
    # 未通过: the submission is to be made again (after improving), the review starts over
    submitted = bool(data.get("submitted_on")) and status != "rejected"
    add("submit", "done" if submitted else "todo", "aphow")
    if status in ("approved", "joined"):
        review_state = "done"
    elif status in IN_REVIEW:
        review_state = "doing"
    else:
        review_state = "todo"
    add("review", review_state, "status")
    add(
        "join",
        "done" if status == "joined" else ("doing" if status == "approved" else "todo"),
        "status",
    )
    return result


def _mark(summary: dict[str, Any]) -> str:
    """done / doing / todo from a feature summary."""
    if summary.get("done"):
        return "done"
    return "doing" if summary.get("started") else "todo"


def next_stage(data: dict[str, Any], ctx: Context) -> dict[str, Any] | None:
    """The first stage that is not done."""
    return _next_of(stages(data, ctx))


def _next_of(all_stages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The first stage not done; once the application is submitted, the preparation stages
    before it are behind the merchant (a result is what comes next, not 资格自查)."""
    keys = [s["key"] for s in all_stages]
    start = 0
    if "submit" in keys and all_stages[keys.index("submit")]["state"] == "done":
        start = keys.index("submit")
    return next((s for s in all_stages[start:] if s["state"] != "done"), None)


def progress_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """The whole journey with ✅ / ⏳ / ⬜, what is missing, and one continue button."""
    all_stages = stages(out.state.data, ctx)
    upcoming = _next_of(all_stages)
    rows: list[tuple[Button, ...]] = []
    if pending_input(out.state):
        rows.append((Button.of("resume", "resume"),))
    if upcoming:
        rows.append((Button.of(f"go_{upcoming['key']}", upcoming["action"]),))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen(
        "progress",
        {
            "stages": all_stages,
            "next": upcoming["key"] if upcoming else None,
            "route": out.state.data.get("route"),
            "window": window_data(out.state.data, ctx),
            "status": out.state.data.get("status"),
        },
        tuple(rows),
        edit=edit,
    )


cmd_progress, press_progress = entry_points(progress_screen)


# --- my data -------------------------------------------------------------------------------


def cmd_mydata(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/mydata`: a readable summary now; the adapter attaches the full JSON export."""
    out.effects.append("export")
    out.screens.append(
        Screen(
            "mydata",
            {"data": out.state.data, "stages": stages(out.state.data, ctx)},
            ((Button.of("main_menu", "menu"),),),
        )
    )
    return out


def cmd_deletedata(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/deletedata`: ask to confirm."""
    out.screens.append(
        Screen(
            "delete_confirm",
            {},
            ((Button.of("delete_confirm", "delok"),), (Button.of("delete_keep", "menu"),)),
        )
    )
    return out


def press_delete(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """确认删除: the adapter erases every row and file of this merchant."""
    out.effects.append("delete")
    out.state.data = {}
    out.screens.append(Screen("deleted", {}, (), edit=True))
    return out


COMMANDS = {
    "submitted": cmd_submitted,
    "status": cmd_status,
    "progress": cmd_progress,
    "mydata": cmd_mydata,
    "deletedata": cmd_deletedata,
}
ACTIONS = {"status": press_status, "progress": press_progress, "delok": press_delete}
INPUTS: dict = {}
