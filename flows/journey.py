"""The journey as a whole: progress across the stages, my data, deleting it.

It reads every feature's summary; no feature imports it.
"""

from __future__ import annotations

from typing import Any

from flows import agency, apply, docs, review, route
from flows.core import (
    Button,
    Context,
    Erase,
    Export,
    Outcome,
    Screen,
    entry_points,
    pending_input,
)
from flows.feature import Action, Feature
from flows.state import MerchantData

# Keys that say nothing about the journey (a first /help or 你好 leaves only these behind).
TRANSIENT_KEYS = frozenset({"input", "suspended"})


def started(data: MerchantData) -> bool:
    """Has the merchant saved anything of their journey (route, answers, dates, settings)?"""
    return any(
        value not in (None, {}, [], "") for key, value in data.items() if key not in TRANSIENT_KEYS
    )


# --- progress ------------------------------------------------------------------------------


def stages(data: MerchantData, ctx: Context) -> list[dict[str, Any]]:
    """Every stage of the journey with its mark (done / doing / todo) and what is missing."""
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
    elif status in review.IN_REVIEW:
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


def next_stage(data: MerchantData, ctx: Context) -> dict[str, Any] | None:
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
            "window": review.window_data(out.state.data, ctx),
            "status": out.state.data.get("status"),
        },
        tuple(rows),
        edit=edit,
    )


cmd_progress, press_progress = entry_points(progress_screen)


# --- my data -------------------------------------------------------------------------------


def cmd_mydata(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/mydata`: a readable summary now; the adapter attaches the full JSON export."""
    out.effects.append(Export())
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


def press_delete(out: Outcome, ctx: Context) -> Outcome:
    """确认删除: the adapter erases every row and file of this merchant."""
    out.effects.append(Erase())
    out.state.data = {}
    out.screens.append(Screen("deleted", {}, (), edit=True))
    return out


FEATURE = Feature(
    "journey",
    press_progress,
    commands={"progress": cmd_progress, "mydata": cmd_mydata, "deletedata": cmd_deletedata},
    actions=(Action("progress", press_progress), Action("delok", press_delete)),
)
