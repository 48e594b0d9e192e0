"""Operator commands: /setstatus, /merchant, /stats (for the ids in BOT_ADMIN_IDS only).

The flow checks the caller and the arguments; the adapter then acts on the other merchant
(loading their state, applying flows.status.change_status, pushing the result) and renders the
confirmation with the screens built here.
"""

from __future__ import annotations

from typing import Any

from flows import journey
from flows.core import Button, Context, MerchantState, Outcome, Screen
from flows.status import status_aliases

MAX_NOTE = 500


def _refuse(out: Outcome) -> Outcome:
    """Anyone but an operator: a polite refusal, nothing changes."""
    out.screens.append(Screen("operator_refused", {}, ((Button.of("main_menu", "menu"),),)))
    return out


def _usage(out: Outcome, command: str, error: str, **details: Any) -> Outcome:
    """A clear usage message for bad operator input."""
    out.screens.append(Screen("operator_usage", {"command": command, "error": error, **details}))
    return out


def _user_id(text: str) -> int | None:
    """A Telegram user id (positive integer of sane length)."""
    text = text.strip()
    if not text.isdigit() or len(text) > 15:
        return None
    value = int(text)
    return value if value > 0 else None


def cmd_setstatus(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/setstatus <user_id> <status> [note]`."""
    if not ctx.is_operator:
        return _refuse(out)
    parts = args.split(maxsplit=2)
    if len(parts) < 2:
        return _usage(out, "setstatus", "missing")
    target = _user_id(parts[0])
    if target is None:
        return _usage(out, "setstatus", "bad_user", given=parts[0][:40])
    status = status_aliases(ctx.catalog).get(parts[1]) or status_aliases(ctx.catalog).get(
        parts[1].lower()
    )
    if status is None:
        return _usage(out, "setstatus", "bad_status", given=parts[1][:40])
    note = parts[2].strip() if len(parts) > 2 else ""
    if len(note) > MAX_NOTE:
        return _usage(out, "setstatus", "note_too_long", max=MAX_NOTE)
    out.operator = {"op": "setstatus", "target": target, "status": status, "note": note}
    return out


def cmd_merchant(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/merchant <user_id>`."""
    if not ctx.is_operator:
        return _refuse(out)
    if not args.strip():
        return _usage(out, "merchant", "missing")
    target = _user_id(args.split()[0])
    if target is None:
        return _usage(out, "merchant", "bad_user", given=args.split()[0][:40])
    out.operator = {"op": "merchant", "target": target}
    return out


def cmd_stats(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/stats`."""
    if not ctx.is_operator:
        return _refuse(out)
    out.operator = {"op": "stats"}
    return out


def unknown_merchant(target: int) -> Screen:
    """The operator named a user the bot has never seen."""
    return Screen(
        "operator_usage", {"command": "unknown", "error": "unknown_user", "given": str(target)}
    )


def done_screen(target: int, status: str, note: str, delivered: bool, reason: str) -> Screen:
    """The operator's confirmation after a status change and its push."""
    return Screen(
        "operator_done",
        {
            "target": target,
            "status": status,
            "note": note,
            "delivered": delivered,
            "reason": reason,
        },
    )


def merchant_card(
    state: MerchantState, history: list[dict[str, Any]], ctx: Context, extra: dict[str, Any]
) -> Screen:
    """One merchant's journey, for an operator."""
    data = state.data
    return Screen(
        "merchant_card",
        {
            "target": state.user_id,
            "data": data,
            "stages": journey.stages(data, ctx),
            "window": journey.window_data(data, ctx),
            "history": history[-8:],
            **extra,
        },
    )


def stats_screen(counts: dict[str, Any]) -> Screen:
    """How many merchants are at each stage."""
    return Screen("stats", counts)


COMMANDS = {"setstatus": cmd_setstatus, "merchant": cmd_merchant, "stats": cmd_stats}
ACTIONS: dict = {}
INPUTS: dict = {}
