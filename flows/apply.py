"""The application form (one field at a time, each validated) and how to submit it.

State under data["application"]: {"fields": {key: value}, "confirmed_at": iso | None}.
Values: shop_name and scope are text, monthly_sales an int (yuan), contact {"kind", "value"}
with kind "wechat" (a WeChat id, or the mobile it is tied to), "phone" or "email".
"""

from __future__ import annotations

from typing import Any

from flows import review, route
from flows.core import (
    Button,
    Context,
    Outcome,
    Screen,
    ask_input,
    clear_input,
    next_step_rows,
)
from flows.feature import Action, Feature, number
from flows.parsing import (
    ParseError,
    parse_contact,
    parse_money,
    strip_invisible,
    validate_text,
)
from flows.state import Application, FieldValue, MerchantData

INPUT = "apply_field"


def fields(ctx: Context) -> list[dict[str, Any]]:
    """The form's fields, in order, from content/application.yaml."""
    found: list[dict[str, Any]] = ctx.catalog["application"]["fields"]
    return found


def application(out: Outcome) -> Application:
    """The merchant's application record (created on first use)."""
    app = out.state.data.setdefault("application", {})
    app.setdefault("fields", {})
    app.setdefault("confirmed_at", None)
    return app


def is_complete(data: MerchantData, ctx: Context) -> bool:
    """Every field filled."""
    filled = (data.get("application") or {}).get("fields") or {}
    return all(f["key"] in filled for f in fields(ctx))


# Parser codes renamed for the field's own wording in content/application.yaml `errors`.
_RENAMED = {
    "monthly_sales": {"format": "format_money", "phone_like": "money_phone"},
    "contact": {"format": "format_contact", "wechat": "format_wechat"},
}
# Kinds of contact parse_contact returns (shown with content's `contact_kinds` labels).
CONTACT_KINDS = ("wechat", "phone", "email")


def _validate(field: dict[str, Any], text: str) -> FieldValue:
    """Parse one field's input; raises ParseError with a code for content/errors."""
    key = field["key"]
    try:
        if key == "monthly_sales":
            return parse_money(text)
        if key == "contact":
            kind, value = parse_contact(text)
            return {"kind": kind, "value": value}
    except ParseError as exc:
        renamed = _RENAMED[key].get(exc.code)
        if renamed:
            raise ParseError(renamed) from None
        if exc.code == "too_long" and "length" not in exc.details:
            length = len(strip_invisible(text).strip())
            raise ParseError("too_long", max=exc.details.get("max", ""), length=length) from None
        raise
    return validate_text(text, min_len=1, max_len=int(field.get("max_len", 200)))


def prompt_screen(
    out: Outcome,
    ctx: Context,
    index: int,
    *,
    edit: bool,
    error: ParseError | None = None,
    mode: str = "fill",
) -> Screen:
    """Ask for one field (with the refusal of the previous try, if any)."""
    field = fields(ctx)[index]
    current = application(out)["fields"].get(field["key"])
    rows: list[tuple[Button, ...]] = []
    if any(application(out)["fields"].values()):
        rows.append((Button.of("apply_summary", "apsum"),))
    rows.append((Button.of("apply_leave", "apleave"), Button.of("main_menu", "menu")))
    return Screen(
        "apply_prompt",
        {
            "index": index + 1,
            "total": len(fields(ctx)),
            "field": field,
            "current": current,
            "error": error.code if error else None,
            "error_details": dict(error.details) if error else {},
            "mode": mode,
        },
        tuple(rows),
        edit=edit,
    )


def next_empty(out: Outcome, ctx: Context) -> int | None:
    """Index of the first field not filled yet."""
    filled = application(out)["fields"]
    for i, f in enumerate(fields(ctx)):
        if f["key"] not in filled:
            return i
    return None


def summary_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """All answers, each editable, and the confirm button."""
    app = application(out)
    rows: list[tuple[Button, ...]] = [
        (Button.of("apply_edit", "apf", i, label=f["label"]),) for i, f in enumerate(fields(ctx))
    ]
    complete = next_empty(out, ctx) is None
    if complete and not app.get("confirmed_at"):
        rows.insert(0, (Button.of("apply_confirm", "apok"),))
    elif complete:
        rows.insert(0, (Button.of("apply_howto", "aphow"),))
    else:
        rows.insert(0, (Button.of("resume", "apply"),))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen(
        "apply_summary",
        {
            "values": app["fields"],
            "confirmed": bool(app.get("confirmed_at")),
            "complete": complete,
            "route": route.route_of(out),
        },
        tuple(rows),
        edit=edit,
    )


def howto_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """The route's submission walk-through, ending with 我已提交."""
    submitted = out.state.data.get("submitted_on")
    if out.state.data.get("status") == "rejected":
        submitted = None  # to be submitted again: 我已提交 starts the new review
    rows: list[tuple[Button, ...]] = []
    if not submitted:
        rows.append((Button.of("apply_submitted", "apsub"),))
    else:
        rows.append((Button.of("menu_status", "status"),))
    rows.append((Button.of("apply_summary", "apsum"), Button.of("main_menu", "menu")))
    return Screen(
        "apply_howto",
        {"route": route.route_of(out), "submitted_on": submitted},
        tuple(rows),
        edit=edit,
    )


def start(out: Outcome, ctx: Context, *, edit: bool) -> Outcome:
    """Open the form where the merchant is: next empty field, the summary, or how to submit."""
    if not route.require(out, "apply", edit=edit):
        return out
    app = application(out)
    index = next_empty(out, ctx)
    if index is not None:
        ask_input(out, INPUT, field=index, mode="fill")
        out.screens.append(prompt_screen(out, ctx, index, edit=edit))
    elif not app.get("confirmed_at"):
        clear_input(out)
        out.screens.append(summary_screen(out, ctx, edit=edit))
    else:
        clear_input(out)
        out.screens.append(howto_screen(out, ctx, edit=edit))
    return out


def cmd_apply(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/apply`."""
    return start(out, ctx, edit=False)


def press_apply(out: Outcome, ctx: Context) -> Outcome:
    """The menu's 填写申请 entry."""
    return start(out, ctx, edit=True)


def on_field_text(out: Outcome, ctx: Context, text: str) -> Outcome:
    """Typed text for the open field: validate, save, move on (empty text re-shows the prompt)."""
    waiting = out.state.data.get("input")
    index = waiting.get("field") if waiting else None
    if not waiting or not isinstance(index, int) or not 0 <= index < len(fields(ctx)):
        clear_input(out)
        return start(out, ctx, edit=False)
    mode = waiting.get("mode", "fill")
    if not text:
        out.screens.append(prompt_screen(out, ctx, index, edit=False, mode=mode))
        return out
    field = fields(ctx)[index]
    try:
        value = _validate(field, text)
    except ParseError as exc:
        out.screens.append(prompt_screen(out, ctx, index, edit=False, error=exc, mode=mode))
        return out
    app = application(out)
    changed = app["fields"].get(field["key"]) != value
    app["fields"][field["key"]] = value
    if changed:
        app["confirmed_at"] = None  # a changed answer needs a fresh confirmation
    following = next_empty(out, ctx)
    if mode == "fill" and following is not None:
        ask_input(out, INPUT, field=following, mode="fill")
        out.screens.append(prompt_screen(out, ctx, following, edit=False))
        return out
    clear_input(out)
    out.screens.append(summary_screen(out, ctx, edit=False))
    return out


def press_edit(out: Outcome, ctx: Context, index: int) -> Outcome:
    """修改 one field from the summary."""
    if index >= len(fields(ctx)):
        out.notice = "stale"
        out.screens.append(summary_screen(out, ctx, edit=True))
        return out
    ask_input(out, INPUT, field=index, mode="edit")
    out.screens.append(prompt_screen(out, ctx, index, edit=True, mode="edit"))
    return out


def press_summary(out: Outcome, ctx: Context) -> Outcome:
    """Show the summary in place (leaves the open field)."""
    clear_input(out)
    out.screens.append(summary_screen(out, ctx, edit=True))
    return out


def press_confirm(out: Outcome, ctx: Context) -> Outcome:
    """Confirm the answers; then show how to submit."""
    if next_empty(out, ctx) is not None:
        out.notice = "stale"
        return start(out, ctx, edit=True)
    application(out)["confirmed_at"] = ctx.now.isoformat(timespec="seconds")
    clear_input(out)
    out.notice = "saved"
    out.screens.append(howto_screen(out, ctx, edit=True))
    return out


def press_howto(out: Outcome, ctx: Context) -> Outcome:
    """How to submit, in place."""
    if not route.require(out, "apply", edit=True):
        return out
    out.screens.append(howto_screen(out, ctx, edit=True))
    return out


def press_leave(out: Outcome, ctx: Context) -> Outcome:
    """Leave the form (like /cancel): what was saved stays."""
    had = bool(out.state.data.get("input") or out.state.data.get("suspended"))
    clear_input(out)
    out.screens.append(Screen("cancelled", {"had_form": had}, next_step_rows(), edit=True))
    return out


def confirmed(data: MerchantData) -> bool:
    """Whether the answers are confirmed (a changed answer needs a fresh confirmation)."""
    return bool((data.get("application") or {}).get("confirmed_at"))


def press_submitted(out: Outcome, ctx: Context) -> Outcome:
    """我已提交: record today as the submission date (only for confirmed answers: an old
    button pressed after an edit gets the summary, to confirm first)."""
    if not route.require(out, "apply", edit=True):
        return out
    return review.record_submission(out, ctx, ctx.today, edit=True)


def home(out: Outcome, ctx: Context) -> Outcome:
    """The answers so far (no field is opened), or the route choice first."""
    if route.require(out, "apply", edit=True):
        out.screens.append(summary_screen(out, ctx, edit=True))
    return out


FEATURE = Feature(
    "apply",
    home,
    commands={"apply": cmd_apply},
    actions=(
        Action("apply", press_apply),
        Action("apf", press_edit, (number("field", 0, 99),)),
        Action("apsum", press_summary),
        Action("apok", press_confirm),
        Action("aphow", press_howto),
        Action("apleave", press_leave),
        Action("apsub", press_submitted, when=confirmed),
    ),
    inputs={INPUT: on_field_text},
    stage="apply",
)
