"""Submission and review: the date, the expected window in working days, the status, and the
route they belong to.

State keys: route, submitted_on (ISO date), status (a code of statuses.yaml), status_on,
cycle (review cycle number), need_more {"note", "deadline"}, status_note, pending_submission
(a date given before any route), reviews {route: {the keys above}} (another route's
submission, parked while the merchant is on this one).
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, cast

from flows import reminders as rem
from flows import route
from flows.core import (
    Button,
    Context,
    Outcome,
    Screen,
    StatusChange,
    clear_input,
    entry_points,
)
from flows.feature import Action, Feature, choice
from flows.parsing import ParseError, parse_past_date
from flows.state import MerchantData, Review
from flows.workdays import review_window

STATUSES = ("submitted", "reviewing", "need_more", "approved", "rejected", "joined")
IN_REVIEW = ("submitted", "reviewing", "need_more")
WINDOW_SHOWN = (None, "submitted", "reviewing")  # statuses for which the window still matters

# --- review window -----------------------------------------------------------------------


def window_data(data: MerchantData, ctx: Context) -> dict[str, Any] | None:
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
        out.records.append(StatusChange(old_status, "submitted", "merchant"))
    clear_input(out)
    out.notice = "saved"
    ahead = {
        p.kind: p.due.date().isoformat() for p in rem.upcoming(data, ctx.catalog, ctx.tz, ctx.now)
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
    data = out.state.data
    since = data.get("status_on") if data.get("status") in RESUBMIT_FROM else None
    if since and day.isoformat() < since:
        # a resubmission after 需补充材料 / 未通过 comes after that result, not before it
        shown = {"error": "before_result", "today": ctx.today.isoformat()}
        out.screens.append(
            Screen(
                "submitted_error",
                {**shown, "status": data.get("status"), "since": since},
                ((Button.of("main_menu", "menu"),),),
            )
        )
        return out
    if not route.route_of(out):
        out.state.data["pending_submission"] = day.isoformat()
        route.require(out, SUBMIT_AFTER_ROUTE, edit=False)
        return out
    return record_submission(out, ctx, day, edit=False)


SUBMIT_AFTER_ROUTE = route.SUBMIT_AFTER_ROUTE


def submit_after_route(out: Outcome, ctx: Context) -> Outcome:
    """The route was just chosen after `/submitted DATE`: record the kept date."""
    kept = out.state.data.get("pending_submission")
    try:
        day = date.fromisoformat(kept) if kept else ctx.today
    except ValueError:
        day = ctx.today
    return record_submission(out, ctx, day, edit=True)


# --- status --------------------------------------------------------------------------------


def reportable(data: MerchantData) -> tuple[str, ...]:
    """The results a merchant may record themselves now, as /status offers them: under review,
    the ones they do not have yet (they heard back first); once approved, 已入驻. A button of
    an older screen offering anything else is stale (the operator may have recorded a result
    since)."""
    if not data.get("submitted_on"):
        return ()
    status = data.get("status")
    if status in IN_REVIEW or status is None:
        return tuple(s for s in ("approved", "need_more", "rejected") if s != status)
    return ("joined",) if status == "approved" else ()


def status_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """Current review status, expected window, what to do now."""
    data = out.state.data
    rows: list[tuple[Button, ...]] = []
    if not data.get("submitted_on"):
        rows.append((Button.of("menu_apply", "apply"),))
    elif reports := reportable(data):
        rows.append(tuple(Button.of(f"rep_{s}", "rep", s) for s in reports))
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


# --- choosing or switching the route ----------------------------------------------------


def press_setroute(out: Outcome, ctx: Context, chosen: str, then: str) -> Outcome:
    """Record the chosen route (nothing else changes), then continue where the merchant was
    (`then`: an action of route.CONTINUATIONS, or SUBMIT_AFTER_ROUTE)."""
    previous = route.route_of(out)
    out.state.data["route"] = chosen
    parked = switch_review(out.state.data, previous, chosen)
    out.notice = "saved"
    if out.state.data.get("pending_submission"):
        # `/submitted DATE` came before any route: recorded now, whichever way it was chosen
        return submit_after_route(out, ctx)
    buttons: list[tuple[Button, ...]] = []
    if then in route.CONTINUATIONS:
        buttons.append((Button.of(route.CONTINUATIONS[then], then),))
    else:
        buttons.append((Button.of("next_step", "progress"),))
    buttons.append((Button.of("main_menu", "menu"),))
    restored = out.state.data.get("status")
    out.screens.append(
        Screen(
            "route_set",
            {"route": chosen, "previous": previous, "parked": parked, "restored": restored},
            tuple(buttons),
            edit=True,
        )
    )
    return out


# A submission and its review belong to one route's application: switching routes keeps them
# with the route they were made on (and brings them back when the merchant switches back).
ReviewKey = Literal["submitted_on", "status", "status_on", "cycle", "need_more", "status_note"]
REVIEW_KEYS: tuple[ReviewKey, ...] = (
    "submitted_on",
    "status",
    "status_on",
    "cycle",
    "need_more",
    "status_note",
)


def switch_review(data: MerchantData, previous: str | None, new: str) -> str | None:
    """Park the previous route's submission and review, take up the new route's (if any).
    Returns the parked status (None when there was nothing to park)."""
    if previous is None or previous == new:
        return None
    shelf = data.setdefault("reviews", {})
    # Both casts restate what the keys say: a dict comprehension is never typed as a TypedDict,
    # and MerchantData.update does not take a Review although its keys are MerchantData's.
    current = cast(Review, {key: data.pop(key) for key in REVIEW_KEYS if key in data})
    if current:
        shelf[previous] = current
    data.update(cast(MerchantData, shelf.pop(new, {})))
    if not shelf:
        data.pop("reviews", None)
    return str(current.get("status") or "") or None if current else None


FEATURE = Feature(
    "review",
    press_status,
    commands={"submitted": cmd_submitted, "status": cmd_status},
    actions=(Action("status", press_status),),
    stage="review",
)
# choosing a route records it here (it parks or restores a review); a stale press shows the choice
CHOOSE_ROUTE = Feature(
    "setroute",
    route.press_route,
    actions=(Action("setroute", press_setroute, (choice("route", *route.ROUTES), route.THEN)),),
    stage="route",
)
