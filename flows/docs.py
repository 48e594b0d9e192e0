"""The document checklist (/docs): what to prepare for the chosen route.

Items come from content/documents.yaml (`routes.<route>`), keyed by their stable `key`; an item
with a `condition` (brand, permit) is needed only if the merchant answers yes to the condition's
question. An item is ready when the merchant marked it or sent a file for it.

This module is the topic: opening it, the conditions' questions, one item's screen, marking an
item ready. The record under data["docs"] and the checklist screen itself are in
flows/checklist.py (shared with the uploads); files (Upload, Stored, Rejected), the files
waiting for their item and the "which item" question are in flows/uploads.py, whose actions
are declared with this feature (FEATURE) and whose file handler is the router's (UPLOAD).

Callback data (keys are the ASCII item keys of documents.yaml):
    docs                    open: unanswered questions first, then the checklist
    dcl                     the checklist
    dci:<key>               one item (its question first if not answered yet)
    dcm:<key>:<1|0>         mark ready / unmark (explicit, so a double press changes nothing)
    dcu:<key>               the next upload is for this item
    dcc:<cond>              ask the condition's question again (to change the answer)
    dcq:<cond>:<y|n>:<l|i>  answer; then go on (l: next question or checklist; i: the item)
    dcw[:<id>], dcp:<key>[:<id>], dcn[:<id>]   a waiting file: see flows/uploads.py
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows import route, uploads
from flows.checklist import (
    ASK,
    FILE,
    MARKED,
    SKIP,
    TODO,
    checklist_screen,
    clear_target,
    docs_of,
    item_record,
    item_state,
    progress,
    record,
    route_and_item,
    route_items,
    set_target,
    show_checklist,
    stale,
    status_of,
)
from flows.core import Button, Command, Context, Event, Outcome, Press, Screen
from flows.feature import Action, Feature, choice, token
from flows.state import MerchantData
from flows.uploads import MAX_BYTES as MAX_BYTES  # bot/documents.py reads it here

if TYPE_CHECKING:
    from flows.catalog import Catalog


def summary(state_data: MerchantData, catalog: Catalog) -> dict[str, Any]:
    """The document stage at a glance, for /progress.

    {"done", "started", "ready", "needed", "missing": [item names]}; with no route chosen
    nothing is needed yet (needed 0, done False).
    """
    docs = docs_of(state_data)
    chosen = state_data.get("route")
    started = bool(docs.get("conditions")) or any(
        isinstance(r, dict) and (r.get("marked") or r.get("file"))
        for r in (docs.get("items") or {}).values()
    )
    if chosen not in route.ROUTES:
        return {"done": False, "started": started, "ready": 0, "needed": 0, "missing": []}
    items = route_items(catalog, chosen)
    ready, needed = progress(docs, items)
    missing = [i["name"] for i in items if status_of(docs, i) in (TODO, ASK)]
    return {
        "done": needed > 0 and ready == needed,
        "started": started,
        "ready": ready,
        "needed": needed,
        "missing": missing,
    }


def _conditions(items: list[dict[str, Any]]) -> list[str]:
    """The conditions the route's items depend on, in order."""
    found: list[str] = []
    for item in items:
        condition = item.get("condition")
        if condition and condition not in found:
            found.append(condition)
    return found


def left_checklist(out: Outcome, event: Event) -> None:
    """A command, or a button outside the checklist: the item's screen is gone, so the next
    file is asked about instead of landing on the item last opened."""
    if isinstance(event, Command) or (isinstance(event, Press) and event.action not in _OWN):
        clear_target(out)


# --- screens ----------------------------------------------------------------------------------


def item_screen(out: Outcome, ctx: Context, item: dict[str, Any], *, edit: bool) -> Screen:
    """One item: why, how, upload rules, its status and file; mark / upload / back."""
    docs = docs_of(out.state.data)
    key = item["key"]
    status = status_of(docs, item)
    kept = item_state(docs, key)
    rows: list[tuple[Button, ...]] = []
    if status != SKIP:
        if status == MARKED:
            rows.append((Button.of("dc_unmark", "dcm", key, 0),))
        elif status != FILE:
            rows.append((Button.of("dc_mark", "dcm", key, 1),))
        rows.append((Button.of("dc_reupload" if status == FILE else "dc_upload", "dcu", key),))
    if item.get("condition"):
        rows.append((Button.of("dc_change", "dcc", item["condition"]),))
    rows.append((Button.of("dc_back_list", "dcl"), Button.of("main_menu", "menu")))
    return Screen(
        "docs_item",
        {
            "item": {k: item.get(k, "") for k in ("key", "name", "why", "how", "condition")},
            "status": status,
            "file": kept.get("file"),
            "versions": len(kept.get("history") or []),
            "takes_files": status not in (SKIP, ASK),
        },
        tuple(rows),
        edit=edit,
    )


def _show_item(out: Outcome, ctx: Context, item: dict[str, Any], *, edit: bool) -> Outcome:
    """Open an item's screen; while it is open, a file the merchant sends belongs to it."""
    if status_of(docs_of(out.state.data), item) in (SKIP, ASK):
        clear_target(out)
    else:
        set_target(out, ctx, item["key"])
    out.screens.append(item_screen(out, ctx, item, edit=edit))
    return out


def question_screen(
    out: Outcome, ctx: Context, chosen: str, condition: str, then: str, *, edit: bool
) -> Screen:
    """A condition's yes/no question (then: l = continue opening the list, i = show the item)."""
    docs = docs_of(out.state.data)
    items = route_items(ctx.catalog, chosen)
    item = next(i for i in items if i.get("condition") == condition)
    texts = ctx.catalog["documents"]["conditions"][condition]
    answer = (docs.get("conditions") or {}).get(condition)
    rows = (
        (
            Button.of("dc_answer", "dcq", condition, "y", then, text=texts["yes"]),
            Button.of("dc_answer", "dcq", condition, "n", then, text=texts["no"]),
        ),
        (Button.of("dc_later" if then == "l" else "dc_back_list", "dcl"),),
        (Button.of("main_menu", "menu"),),
    )
    return Screen(
        "docs_question",
        {"condition": condition, "item": item["name"], "answer": answer, "first": then == "l"},
        rows,
        edit=edit,
    )


def _first_open_question(out: Outcome, items: list[dict[str, Any]]) -> str | None:
    """The first condition of the route the merchant has not answered."""
    answers = docs_of(out.state.data).get("conditions") or {}
    return next((c for c in _conditions(items) if answers.get(c) is None), None)


def open_docs(out: Outcome, ctx: Context, *, edit: bool) -> Outcome:
    """Open the topic: a route first if none, then unanswered questions, then the checklist."""
    if not route.require(out, "docs", edit=edit):
        return out
    clear_target(out)
    chosen = route.route_of(out)
    assert chosen is not None
    question = _first_open_question(out, route_items(ctx.catalog, chosen))
    if question:
        out.screens.append(question_screen(out, ctx, chosen, question, "l", edit=edit))
    else:
        out.screens.append(checklist_screen(out, ctx, chosen, edit=edit))
    return out


# --- commands and buttons ---------------------------------------------------------------------


def cmd_docs(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/docs`: the checklist in a new message."""
    return open_docs(out, ctx, edit=False)


def press_docs(out: Outcome, ctx: Context) -> Outcome:
    """The main menu's documents entry (and the route screen's continue button), in place."""
    return open_docs(out, ctx, edit=True)


def press_list(out: Outcome, ctx: Context) -> Outcome:
    """Back to the checklist, without asking the open questions again."""
    if not route.require(out, "docs", edit=True):
        return out
    clear_target(out)
    chosen = route.route_of(out)
    assert chosen is not None
    out.screens.append(checklist_screen(out, ctx, chosen, edit=True))
    return out


def press_item(out: Outcome, ctx: Context, key: str) -> Outcome:
    """One item; an item whose condition is unanswered asks the question first."""
    found = route_and_item(out, ctx, key)
    if found is None:
        return stale(out, ctx)
    chosen, item = found
    if status_of(docs_of(out.state.data), item) == ASK:
        clear_target(out)
        out.screens.append(question_screen(out, ctx, chosen, item["condition"], "i", edit=True))
        return out
    return _show_item(out, ctx, item, edit=True)


def press_mark(out: Outcome, ctx: Context, key: str, value: str) -> Outcome:
    """Mark an item ready (1) or not (0); an item not needed cannot be marked."""
    found = route_and_item(out, ctx, key)
    if found is None:
        return stale(out, ctx)
    chosen, item = found
    status = status_of(docs_of(out.state.data), item)
    if status in (SKIP, ASK):
        return stale(out, ctx)
    record = item_record(out, item["key"])
    if value == "1":
        record["marked"] = True
        out.notice = "dc_marked"
    else:
        record.pop("marked", None)
        out.notice = "dc_unmarked"
    return _show_item(out, ctx, item, edit=True)


def press_upload(out: Outcome, ctx: Context, key: str) -> Outcome:
    """The next photo or file is for this item: say so and wait for it."""
    found = route_and_item(out, ctx, key)
    if found is None:
        return stale(out, ctx)
    chosen, item = found
    if status_of(docs_of(out.state.data), item) in (SKIP, ASK):
        return stale(out, ctx)
    set_target(out, ctx, item["key"])
    out.screens.append(
        Screen(
            "docs_send",
            {"item": item["name"], "replaces": status_of(docs_of(out.state.data), item) == FILE},
            (
                (Button.of("dc_cancel_upload", "dci", item["key"]),),
                (Button.of("dc_back_list", "dcl"),),
            ),
            edit=True,
        )
    )
    return out


def press_change(out: Outcome, ctx: Context, condition: str) -> Outcome:
    """Ask a condition's question again, to change the answer."""
    chosen = route.route_of(out)
    if chosen is None or condition not in _conditions(route_items(ctx.catalog, chosen)):
        return stale(out, ctx)
    clear_target(out)
    out.screens.append(question_screen(out, ctx, chosen, condition, "i", edit=True))
    return out


def press_answer(out: Outcome, ctx: Context, condition: str, answer: str, then: str) -> Outcome:
    """Record a yes/no answer, then the next open question (then l), the checklist or the
    item (then i)."""
    chosen = route.route_of(out)
    if chosen is None:
        return stale(out, ctx)
    items = route_items(ctx.catalog, chosen)
    if condition not in _conditions(items):
        return stale(out, ctx)
    record(out).setdefault("conditions", {})[condition] = answer == "y"
    out.notice = "saved"
    if then == "i":
        item = next(i for i in items if i.get("condition") == condition)
        return _show_item(out, ctx, item, edit=True)
    question = _first_open_question(out, items)
    if question:
        out.screens.append(question_screen(out, ctx, chosen, question, "l", edit=True))
    else:
        out.screens.append(checklist_screen(out, ctx, chosen, edit=True))
    return out


ITEM = token("item")

FEATURE = Feature(
    "docs",
    show_checklist,
    commands={"docs": cmd_docs},
    actions=(
        Action("docs", press_docs),
        Action("dcl", press_list),
        Action("dci", press_item, (ITEM,)),
        Action("dcm", press_mark, (ITEM, choice("ready", "0", "1"))),
        Action("dcu", press_upload, (ITEM,)),
        Action("dcc", press_change, (token("condition"),)),
        Action(
            "dcq",
            press_answer,
            (token("condition"), choice("answer", "y", "n"), choice("then", "l", "i")),
        ),
        *uploads.actions(ITEM),  # dcw, dcp, dcn
    ),
    stage="docs",
)
_OWN = frozenset(a.name for a in FEATURE.actions)  # the checklist's own buttons
UPLOAD = uploads.on_file
