"""Operator commands: /setstatus, /merchant, /stats, /console (for BOT_ADMIN_IDS only).

The flow checks the caller and the arguments; the adapter then acts on the other merchant
(loading their state, applying flows.status.change_status, pushing the result) and renders the
confirmation with the screens built here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from flows import journey, review
from flows.core import (
    Button,
    ConsoleLogin,
    Context,
    MerchantState,
    OperatorOrder,
    Outcome,
    Screen,
)
from flows.feature import Feature
from flows.parsing import ascii_int, strip_invisible
from flows.status import deadline_in, status_aliases
from flows.status import refusal as status_refusal

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
    """A Telegram user id: a positive integer of sane length in ASCII digits (full-width
    ０-９ too). "²", "①" and other scripts' digits are no id (str.isdigit() would say yes)."""
    value = ascii_int(text, max_digits=15)
    return value if value else None


_NOT_A_WORD = re.compile(r"[\W_]+")
_LEADING_SYMBOLS = re.compile(r"^\W+(?=\w)")


def _word_key(text: str) -> str:
    """A status word compared loosely: NFKC, lower case, no emoji, punctuation, - or _."""
    return _NOT_A_WORD.sub("", unicodedata.normalize("NFKC", text).lower())


def status_of(ctx: Context, word: str) -> str | None:
    """The status code an operator means: a code or any word of content's statuses
    (名称 and aliases, e.g. 通过, 没通过, 需补充), also pasted from a button ("✅ 已通过")."""
    aliases = status_aliases(ctx.catalog)
    if word in aliases:
        return aliases[word]
    loose = {_word_key(name): code for name, code in aliases.items()}
    key = _word_key(word)
    return loose.get(key) if key else None


def cmd_setstatus(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/setstatus <user_id> <status> [note]`."""
    if not ctx.is_operator:
        return _refuse(out)
    args = strip_invisible(args)  # a pasted id or note may carry zero-width or direction marks
    parts = args.split(maxsplit=1)
    if len(parts) < 2:
        return _usage(out, "setstatus", "missing")
    target = _user_id(parts[0])
    if target is None:
        return _usage(out, "setstatus", "bad_user", given=parts[0][:40])
    # A word pasted from a button keeps its emoji: "✅ 已通过" is 已通过.
    words = _LEADING_SYMBOLS.sub("", parts[1]).split(maxsplit=1) or [parts[1].split()[0]]
    status = status_of(ctx, words[0])
    if status is None:
        return _usage(out, "setstatus", "bad_status", given=words[0][:40])
    note = words[1].strip() if len(words) > 1 else ""
    if len(note) > MAX_NOTE:
        return _usage(out, "setstatus", "note_too_long", max=MAX_NOTE)
    out.effects.append(
        OperatorOrder("setstatus", target, status, note, f"operator:{out.state.user_id}")
    )
    return out


def cmd_merchant(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/merchant <user_id>`."""
    if not ctx.is_operator:
        return _refuse(out)
    args = strip_invisible(args)
    if not args.strip():
        return _usage(out, "merchant", "missing")
    target = _user_id(args.split()[0])
    if target is None:
        return _usage(out, "merchant", "bad_user", given=args.split()[0][:40])
    out.effects.append(OperatorOrder("merchant", target))
    return out


def cmd_stats(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/stats`."""
    if not ctx.is_operator:
        return _refuse(out)
    out.effects.append(OperatorOrder("stats"))
    return out


def cmd_console(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/console`: a one-time login link to the operator web console (made by the adapter)."""
    if not ctx.is_operator:
        return _refuse(out)
    out.effects.append(ConsoleLogin(out.state.user_id))
    return out


def console_screen(url: str | None, minutes: int) -> Screen:
    """The operator's login link (None: the console is turned off, BOT_CONSOLE_PORT=0)."""
    return Screen("console_link", {"url": url, "minutes": minutes})


def unknown_merchant(target: int) -> Screen:
    """The operator named a user the bot has never seen."""
    return Screen(
        "operator_usage", {"command": "unknown", "error": "unknown_user", "given": str(target)}
    )


def refused_order(state: MerchantState, order: OperatorOrder) -> Screen | None:
    """Why this /setstatus cannot be recorded for the merchant (nothing changes, nothing is
    pushed), or None when it can."""
    if order.op != "setstatus":
        return None
    why = status_refusal(state.data, order.status)
    if why is None:
        return None
    details = {"given": str(state.user_id), "status": order.status}
    return Screen("operator_usage", {"command": "setstatus", "error": why, **details})


def done_screen(
    target: int,
    status: str,
    note: str,
    delivered: bool | None,
    reason: str,
    today: date | None = None,
) -> Screen:
    """The operator's confirmation after a status change and its push; for 需补充, the
    deadline read from the note (none found: no deadline reminder; already passed: said so)."""
    deadline = deadline_in(note, today) if status == "need_more" and today else None
    return Screen(
        "operator_done",
        {
            "target": target,
            "status": status,
            "note": note,
            "delivered": delivered,
            "reason": reason,
            "deadline": deadline.isoformat() if deadline else None,
            "today": today.isoformat() if today else None,
        },
    )


def local_time(iso: str | None, tz: tzinfo | None) -> str:
    """A stored moment (UTC ISO text) as "YYYY-MM-DD HH:MM" in the bot's time zone."""
    if not iso:
        return ""
    try:
        moment = datetime.fromisoformat(str(iso))
    except ValueError:
        return str(iso)[:16].replace("T", " ")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz or UTC).strftime("%Y-%m-%d %H:%M")


def zone_name(now: datetime) -> str:
    """The name of `now`'s time zone ("Asia/Shanghai"), or its UTC offset ("UTC+08:00")."""
    key = getattr(now.tzinfo, "key", None)
    if key:
        return str(key)
    offset = now.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC"


def merchant_card(
    state: MerchantState, history: list[dict[str, Any]], ctx: Context, extra: dict[str, Any]
) -> Screen:
    """One merchant's journey, for an operator; times in the bot's zone (ctx.now's)."""
    data = state.data
    tz = ctx.now.tzinfo
    extra = dict(extra)
    extra["reminders"] = [
        {
            **r,
            "due_local": local_time(r.get("due_at"), tz),
            "sent_local": local_time(r.get("sent_at"), tz),
        }
        for r in extra.get("reminders") or ()
    ]
    return Screen(
        "merchant_card",
        {
            "target": state.user_id,
            "data": data,
            "stages": journey.stages(data, ctx),
            "window": review.window_data(data, ctx),
            "history": [{**h, "at_local": local_time(h.get("at"), tz)} for h in history[-8:]],
            "zone": zone_name(ctx.now),
            **extra,
        },
    )


def stats_screen(counts: dict[str, Any]) -> Screen:
    """How many merchants are at each stage."""
    return Screen("stats", counts)


FEATURE = Feature(
    "operator",
    None,
    commands={
        "setstatus": cmd_setstatus,
        "merchant": cmd_merchant,
        "stats": cmd_stats,
        "console": cmd_console,
    },
)
