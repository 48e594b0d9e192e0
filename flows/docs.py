"""The document checklist (/docs): what to prepare for the chosen route, and the uploaded files.

Items come from content/documents.yaml (`routes.<route>`), keyed by their stable `key`; an item
with a `condition` (brand, permit) is needed only if the merchant answers yes to the condition's
question. An item is ready when the merchant marked it or sent a file for it.

Files take two passes through the flows. The first (an `Upload`) decides which item the file is
for and asks the adapter to fetch it (`Outcome.download`); the adapter downloads, checks and
stores it, then hands back `Stored` or `Rejected` for the second pass, which updates the item
and shows the result. The state saved is the one after the second pass.

Which item a file is for: while an item's own screen is open (the merchant pressed the item, or
its upload button) the file belongs to that item. Otherwise it waits in `pending` and the
merchant is asked which item it is; several such files wait side by side, each with its own
question, and none replaces another. An empty file (0 bytes) or one over 20 MB is refused at
once and changes nothing.

State under data["docs"] (every key optional):
    items:      {key: {"marked": bool, "file": FileInfo, "history": [FileInfo, ...]}}
    conditions: {"brand": bool, "permit": bool}          True = needed, False = not needed
    target:     {"item": key, "at": iso}                 the item the next upload is for: set
                when the item's screen (or its upload prompt) is shown; dropped when another
                docs screen (checklist, question, file choice) is shown or a file is saved;
                ignored after TARGET_TTL. Screens of other topics do not touch it.
    pending:    [{"id", "file_id", "file_name", "size", "kind", "mime_type", "at"}, ...]
                files that came with no target item, oldest first, each waiting for the
                merchant to pick its item (at most MAX_PENDING; a single dict from older
                versions is read as a list of one). id: a short hash of the file_id.
    incoming:   {"item", "name", "kind", "press": bool}  between the two passes only
FileInfo = {"name", "mime", "size", "sha256", "path", "at"}; path is relative to BOT_FILES_DIR.

Callback data (keys are the ASCII item keys of documents.yaml):
    docs                    open: unanswered questions first, then the checklist
    dcl                     the checklist
    dci:<key>               one item (its question first if not answered yet)
    dcm:<key>:<1|0>         mark ready / unmark (explicit, so a double press changes nothing)
    dcu:<key>               the next upload is for this item
    dcc:<cond>              ask the condition's question again (to change the answer)
    dcq:<cond>:<y|n>:<l|i>  answer; then go on (l: next question or checklist; i: the item)
    dcw[:<id>]              pick the item for a pending file (no id: the oldest)
    dcp:<key>[:<id>]        that pending file is for this item: fetch it (no id: the oldest,
                            as buttons sent before several files could wait)
    dcn[:<id>]              discard that pending file (no id: the oldest)
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from flows import route
from flows.core import (
    Button,
    Command,
    Context,
    Event,
    Outcome,
    Press,
    Rejected,
    Screen,
    Stored,
    Upload,
)

MAX_BYTES = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
TARGET_TTL = timedelta(hours=2)  # an upload target older than this is asked about again
MAX_PENDING = 10  # files waiting to be sorted; one more is refused (and said so), none dropped

# Status of an item on the checklist, and the label key of its button.
FILE, MARKED, TODO, SKIP, ASK = "file", "marked", "todo", "skip", "ask"
READY = (FILE, MARKED)
ITEM_LABELS = {
    FILE: "dc_item_file",
    MARKED: "dc_item_marked",
    TODO: "dc_item_todo",
    SKIP: "dc_item_skip",
    ASK: "dc_item_ask",
}

# --- reading the content and the state ------------------------------------------------------


def route_items(catalog: Any, chosen: str) -> list[dict[str, Any]]:
    """The checklist of a route, in order (documents.yaml routes.<route>)."""
    return list(catalog["documents"]["routes"][chosen])


def _docs(data: dict[str, Any]) -> dict[str, Any]:
    """The merchant's document record as stored (may be empty; never mutated here)."""
    docs = data.get("docs")
    return docs if isinstance(docs, dict) else {}


def _record(out: Outcome) -> dict[str, Any]:
    """The merchant's document record, created on first change."""
    docs = out.state.data.get("docs")
    if not isinstance(docs, dict):
        docs = out.state.data["docs"] = {}
    return docs


def _item_record(out: Outcome, key: str) -> dict[str, Any]:
    """One item's record, created on first change."""
    return _record(out).setdefault("items", {}).setdefault(key, {})


def status_of(docs: dict[str, Any], item: dict[str, Any]) -> str:
    """file / marked / todo / skip (not needed) / ask (the condition is not answered yet)."""
    condition = item.get("condition")
    if condition:
        answer = (docs.get("conditions") or {}).get(condition)
        if answer is False:
            return SKIP
        if answer is None:
            state = _item_state(docs, item["key"])
            if not (state.get("file") or state.get("marked")):
                return ASK
    state = _item_state(docs, item["key"])
    if state.get("file"):
        return FILE
    if state.get("marked"):
        return MARKED
    return TODO


def _item_state(docs: dict[str, Any], key: str) -> dict[str, Any]:
    """One item's stored record (empty if never touched)."""
    items = docs.get("items") or {}
    record = items.get(key)
    return record if isinstance(record, dict) else {}


def progress(docs: dict[str, Any], items: list[dict[str, Any]]) -> tuple[int, int]:
    """(ready, needed): items not needed are not counted; unanswered ones count as needed."""
    statuses = [status_of(docs, item) for item in items]
    needed = sum(1 for s in statuses if s != SKIP)
    ready = sum(1 for s in statuses if s in READY)
    return ready, needed


def summary(state_data: dict[str, Any], catalog: Any) -> dict[str, Any]:
    """The document stage at a glance, for /progress.

    {"done", "started", "ready", "needed", "missing": [item names]}; with no route chosen
    nothing is needed yet (needed 0, done False).
    """
    docs = _docs(state_data)
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


def _find(items: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The route's item with this key, or None (forged, or from the other route)."""
    return next((i for i in items if i["key"] == key), None)


def _conditions(items: list[dict[str, Any]]) -> list[str]:
    """The conditions the route's items depend on, in order."""
    found: list[str] = []
    for item in items:
        condition = item.get("condition")
        if condition and condition not in found:
            found.append(condition)
    return found


def _target(docs: dict[str, Any], items: list[dict[str, Any]], now: datetime) -> str | None:
    """The item the merchant said the next file is for, if still valid."""
    target = docs.get("target")
    if not isinstance(target, dict):
        return None
    item = _find(items, str(target.get("item", "")))
    if item is None or status_of(docs, item) == SKIP:
        return None
    try:
        since = datetime.fromisoformat(str(target.get("at")))
    except ValueError:
        return None
    if since.tzinfo is None or not timedelta(0) <= now - since <= TARGET_TTL:
        return None
    return item["key"]


def _clear_target(out: Outcome) -> None:
    """Forget the upload target (the merchant moved on)."""
    docs = out.state.data.get("docs")
    if isinstance(docs, dict):
        docs.pop("target", None)


def left_checklist(out: Outcome, event: Event) -> None:
    """A command, or a button outside the checklist: the item's screen is gone, so the next
    file is asked about instead of landing on the item last opened."""
    if isinstance(event, Command) or (isinstance(event, Press) and event.action not in ACTIONS):
        _clear_target(out)


def _set_target(out: Outcome, ctx: Context, key: str) -> None:
    """The next file is for this item (its screen is open)."""
    _record(out)["target"] = {"item": key, "at": ctx.now.isoformat()}


def pending_id(file_id: str) -> str:
    """A short, stable id of a waiting file for callback data (the file_id is too long)."""
    return hashlib.sha256(file_id.encode("utf-8")).hexdigest()[:8]


def _pending(docs: dict[str, Any]) -> list[dict[str, Any]]:
    """The files waiting to be sorted, oldest first (an older single record reads as one)."""
    raw = docs.get("pending")
    entries = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    found: list[dict[str, Any]] = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("file_id"):
            found.append({**entry, "id": entry.get("id") or pending_id(str(entry["file_id"]))})
    return found


def _pending_entry(docs: dict[str, Any], wanted: str | None) -> dict[str, Any] | None:
    """The waiting file with this id; without an id the oldest one."""
    entries = _pending(docs)
    if wanted is None:
        return entries[0] if entries else None
    return next((e for e in entries if e["id"] == wanted), None)


def _drop_pending(out: Outcome, entry_id: str) -> None:
    """Remove one waiting file; the key goes when none is left."""
    docs = _record(out)
    rest = [e for e in _pending(docs) if e["id"] != entry_id]
    if rest:
        docs["pending"] = rest
    else:
        docs.pop("pending", None)


# --- screens --------------------------------------------------------------------------------


def _checklist_data(out: Outcome, ctx: Context, chosen: str) -> dict[str, Any]:
    """What the checklist template shows: route, progress, items with their status."""
    docs = _docs(out.state.data)
    items = route_items(ctx.catalog, chosen)
    ready, needed = progress(docs, items)
    waiting = _pending(docs)
    return {
        "route": chosen,
        "ready": ready,
        "needed": needed,
        "done": needed > 0 and ready == needed,
        "items": [
            {"key": i["key"], "name": i["name"], "status": status_of(docs, i)} for i in items
        ],
        "pending": (
            {
                "name": waiting[0].get("file_name") or "",
                "kind": waiting[0].get("kind") or "document",
                "size": waiting[0].get("size"),
                "count": len(waiting),
            }
            if waiting
            else None
        ),
    }


def _checklist_buttons(data: dict[str, Any]) -> tuple[tuple[Button, ...], ...]:
    """One button per item with its status mark, then sort-the-file / continue and main menu."""
    rows: list[tuple[Button, ...]] = [
        (Button.of(ITEM_LABELS[i["status"]], "dci", i["key"], name=i["name"]),)
        for i in data["items"]
    ]
    if data["pending"]:
        rows.append((Button.of("dc_sort_file", "dcw"),))
    if data["done"]:
        rows.append((Button.of("continue_apply", "apply"),))
    rows.append((Button.of("main_menu", "menu"),))
    return tuple(rows)


def checklist_screen(
    out: Outcome,
    ctx: Context,
    chosen: str,
    *,
    edit: bool,
    stored: dict[str, Any] | None = None,
) -> Screen:
    """The checklist; with `stored`, headed by the confirmation of a file just saved."""
    data = _checklist_data(out, ctx, chosen)
    data["stored"] = stored
    return Screen("docs_checklist", data, _checklist_buttons(data), edit=edit)


def item_screen(out: Outcome, ctx: Context, item: dict[str, Any], *, edit: bool) -> Screen:
    """One item: why, how, upload rules, its status and file; mark / upload / back."""
    docs = _docs(out.state.data)
    key = item["key"]
    status = status_of(docs, item)
    record = _item_state(docs, key)
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
            "file": record.get("file"),
            "versions": len(record.get("history") or []),
            "takes_files": status not in (SKIP, ASK),
        },
        tuple(rows),
        edit=edit,
    )


def _show_item(out: Outcome, ctx: Context, item: dict[str, Any], *, edit: bool) -> Outcome:
    """Open an item's screen; while it is open, a file the merchant sends belongs to it."""
    if status_of(_docs(out.state.data), item) in (SKIP, ASK):
        _clear_target(out)
    else:
        _set_target(out, ctx, item["key"])
    out.screens.append(item_screen(out, ctx, item, edit=edit))
    return out


def question_screen(
    out: Outcome, ctx: Context, chosen: str, condition: str, then: str, *, edit: bool
) -> Screen:
    """A condition's yes/no question (then: l = continue opening the list, i = show the item)."""
    docs = _docs(out.state.data)
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
    answers = _docs(out.state.data).get("conditions") or {}
    return next((c for c in _conditions(items) if answers.get(c) is None), None)


def open_docs(out: Outcome, ctx: Context, *, edit: bool) -> Outcome:
    """Open the topic: a route first if none, then unanswered questions, then the checklist."""
    if not route.require(out, "docs", edit=edit):
        return out
    _clear_target(out)
    chosen = route.route_of(out)
    assert chosen is not None
    question = _first_open_question(out, route_items(ctx.catalog, chosen))
    if question:
        out.screens.append(question_screen(out, ctx, chosen, question, "l", edit=edit))
    else:
        out.screens.append(checklist_screen(out, ctx, chosen, edit=edit))
    return out


def _stale(out: Outcome, ctx: Context) -> Outcome:
    """A forged or outdated button: a short notice and the current checklist."""
    out.notice = "stale"
    chosen = route.route_of(out)
    if chosen is None:
        route.require(out, "docs", edit=True)
        return out
    out.screens.append(checklist_screen(out, ctx, chosen, edit=True))
    return out


def _route_and_item(
    out: Outcome, ctx: Context, args: tuple[str, ...]
) -> tuple[str, dict[str, Any]] | None:
    """The route and the item named by the first argument, if both are valid."""
    chosen = route.route_of(out)
    if chosen is None or not args:
        return None
    item = _find(route_items(ctx.catalog, chosen), args[0])
    return (chosen, item) if item else None


# --- commands and buttons -------------------------------------------------------------------


def cmd_docs(out: Outcome, ctx: Context, args: str) -> Outcome:
    """`/docs`: the checklist in a new message."""
    return open_docs(out, ctx, edit=False)


def press_docs(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The main menu's documents entry (and the route screen's continue button), in place."""
    return open_docs(out, ctx, edit=True)


def press_list(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Back to the checklist, without asking the open questions again."""
    if not route.require(out, "docs", edit=True):
        return out
    _clear_target(out)
    chosen = route.route_of(out)
    assert chosen is not None
    out.screens.append(checklist_screen(out, ctx, chosen, edit=True))
    return out


def press_item(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """One item; an item whose condition is unanswered asks the question first."""
    found = _route_and_item(out, ctx, args)
    if found is None:
        return _stale(out, ctx)
    chosen, item = found
    if status_of(_docs(out.state.data), item) == ASK:
        _clear_target(out)
        out.screens.append(question_screen(out, ctx, chosen, item["condition"], "i", edit=True))
        return out
    return _show_item(out, ctx, item, edit=True)


def press_mark(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Mark an item ready (1) or not (0); an item not needed cannot be marked."""
    found = _route_and_item(out, ctx, args)
    value = args[1] if len(args) > 1 else ""
    if found is None or value not in ("0", "1"):
        return _stale(out, ctx)
    chosen, item = found
    status = status_of(_docs(out.state.data), item)
    if status in (SKIP, ASK):
        return _stale(out, ctx)
    record = _item_record(out, item["key"])
    if value == "1":
        record["marked"] = True
        out.notice = "dc_marked"
    else:
        record.pop("marked", None)
        out.notice = "dc_unmarked"
    return _show_item(out, ctx, item, edit=True)


def press_upload(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The next photo or file is for this item: say so and wait for it."""
    found = _route_and_item(out, ctx, args)
    if found is None:
        return _stale(out, ctx)
    chosen, item = found
    if status_of(_docs(out.state.data), item) in (SKIP, ASK):
        return _stale(out, ctx)
    _set_target(out, ctx, item["key"])
    out.screens.append(
        Screen(
            "docs_send",
            {"item": item["name"], "replaces": status_of(_docs(out.state.data), item) == FILE},
            (
                (Button.of("dc_cancel_upload", "dci", item["key"]),),
                (Button.of("dc_back_list", "dcl"),),
            ),
            edit=True,
        )
    )
    return out


def press_change(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Ask a condition's question again, to change the answer."""
    chosen = route.route_of(out)
    condition = args[0] if args else ""
    if chosen is None or condition not in _conditions(route_items(ctx.catalog, chosen)):
        return _stale(out, ctx)
    _clear_target(out)
    out.screens.append(question_screen(out, ctx, chosen, condition, "i", edit=True))
    return out


def press_answer(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Record a yes/no answer, then the next open question, the checklist or the item."""
    chosen = route.route_of(out)
    if chosen is None or len(args) < 3:
        return _stale(out, ctx)
    condition, answer, then = args[0], args[1], args[2]
    items = route_items(ctx.catalog, chosen)
    if condition not in _conditions(items) or answer not in ("y", "n") or then not in ("l", "i"):
        return _stale(out, ctx)
    _record(out).setdefault("conditions", {})[condition] = answer == "y"
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


def _which_screen(
    out: Outcome, ctx: Context, chosen: str, entry: dict[str, Any], *, edit: bool
) -> Screen:
    """Which item is this waiting file for? One button per needed item."""
    docs = _docs(out.state.data)
    items = [i for i in route_items(ctx.catalog, chosen) if status_of(docs, i) != SKIP]
    rows: list[tuple[Button, ...]] = [
        (Button.of(ITEM_LABELS[status_of(docs, i)], "dcp", i["key"], entry["id"], name=i["name"]),)
        for i in items
    ]
    rows.append((Button.of("dc_discard", "dcn", entry["id"]),))
    rows.append((Button.of("dc_back_list", "dcl"),))
    return Screen(
        "docs_which",
        {
            "name": entry.get("file_name") or "",
            "size": entry.get("size"),
            "kind": entry.get("kind") or "document",
            "others": len(_pending(docs)) - 1,
        },
        tuple(rows),
        edit=edit,
    )


def _entry_arg(args: tuple[str, ...], index: int) -> tuple[bool, str | None]:
    """(well-formed, id) for an optional pending-file id at args[index]."""
    if len(args) <= index:
        return True, None
    if len(args) > index + 1 or not args[index]:
        return False, None
    return True, args[index]


def press_which(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Show the item choice for a waiting file (the oldest, unless one is named)."""
    chosen = route.route_of(out)
    valid, wanted = _entry_arg(args, 0)
    entry = _pending_entry(_docs(out.state.data), wanted) if valid else None
    if chosen is None or entry is None:
        return _stale(out, ctx)
    out.screens.append(_which_screen(out, ctx, chosen, entry, edit=True))
    return out


def press_pick(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The waiting file is for this item: ask the adapter to fetch and store it."""
    found = _route_and_item(out, ctx, args)
    valid, wanted = _entry_arg(args, 1)
    entry = _pending_entry(_docs(out.state.data), wanted) if valid else None
    if found is None or entry is None:
        return _stale(out, ctx)
    chosen, item = found
    if status_of(_docs(out.state.data), item) == SKIP:
        return _stale(out, ctx)
    upload = Upload(
        str(entry.get("file_id", "")),
        str(entry.get("file_name") or ""),
        entry.get("size"),
        str(entry.get("kind") or "document"),
        entry.get("mime_type"),
    )
    _drop_pending(out, entry["id"])
    return _download(out, upload, item["key"], press=True)


def press_discard(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Forget a waiting file (it was never downloaded); the others keep waiting."""
    valid, wanted = _entry_arg(args, 0)
    entry = _pending_entry(_docs(out.state.data), wanted) if valid else None
    if entry is None:
        return _stale(out, ctx)
    _drop_pending(out, entry["id"])
    out.notice = "dc_discarded"
    chosen = route.route_of(out)
    if chosen is None:
        route.require(out, "docs", edit=True)
        return out
    out.screens.append(checklist_screen(out, ctx, chosen, edit=True))
    return out


# --- files ----------------------------------------------------------------------------------


def _download(out: Outcome, upload: Upload, key: str, *, press: bool) -> Outcome:
    """Hand the file to the adapter; the result comes back as Stored or Rejected."""
    _record(out)["incoming"] = {
        "item": key,
        "name": upload.file_name,
        "kind": upload.kind,
        "press": press,
    }
    out.download = upload
    out.download_item = key
    return out


def _refused(
    out: Outcome, item: dict[str, Any] | None, reason: str, detail: str, *, edit: bool
) -> Screen:
    """Why a file was not accepted; the checklist or the item stays as it was."""
    rows: list[tuple[Button, ...]] = []
    if item is not None:
        rows.append((Button.of("dc_view_item", "dci", item["key"]),))
    if reason == "queue":
        rows.append((Button.of("dc_sort_file", "dcw"),))
    rows.append((Button.of("dc_back_list", "dcl"), Button.of("main_menu", "menu")))
    return Screen(
        "docs_refused",
        {
            "item": item["name"] if item else "",
            "reason": reason,
            "detail": detail,
            "limit_mb": MAX_BYTES // (1024 * 1024),
        },
        tuple(rows),
        edit=edit,
    )


def on_upload(out: Outcome, ctx: Context, event: Upload) -> Outcome:
    """A photo or file arrived.

    Refused at once if empty or too big; fetched for the item whose screen is open; else kept
    waiting beside any other waiting files, and the merchant is asked which item it is.
    """
    chosen = route.route_of(out)
    docs = _docs(out.state.data)
    items = route_items(ctx.catalog, chosen) if chosen else []
    key = _target(docs, items, ctx.now) if chosen else None
    item = _find(items, key) if key else None
    if event.size is not None and event.size > MAX_BYTES:
        out.screens.append(_refused(out, item, "size", str(event.size), edit=False))
        return out
    if event.size == 0:
        out.screens.append(_refused(out, item, "empty", "", edit=False))
        return out
    if item is not None:
        return _download(out, event, item["key"], press=False)
    waiting = _pending(docs)
    entry_id = pending_id(event.file_id)
    entry = next((e for e in waiting if e["id"] == entry_id), None)
    if entry is None:
        if len(waiting) >= MAX_PENDING:
            out.screens.append(_refused(out, None, "queue", str(len(waiting)), edit=False))
            return out
        entry = {
            "id": entry_id,
            "file_id": event.file_id,
            "file_name": event.file_name,
            "size": event.size,
            "kind": event.kind,
            "mime_type": event.mime_type,
            "at": ctx.now.isoformat(),
        }
        _record(out)["pending"] = [*waiting, entry]
    _clear_target(out)
    if not route.require(out, "docs", edit=False):
        return out  # the checklist offers to sort the files once a route is chosen
    assert chosen is not None
    out.screens.append(_which_screen(out, ctx, chosen, entry, edit=False))
    return out


def _file_item(
    out: Outcome, ctx: Context, key: str
) -> tuple[str | None, dict[str, Any] | None, dict[str, Any]]:
    """Route, item and the pass-one note for a Stored / Rejected event (consumes the note)."""
    incoming = _record(out).pop("incoming", None)
    if not out.state.data["docs"]:
        del out.state.data["docs"]
    chosen = route.route_of(out)
    item = _find(route_items(ctx.catalog, chosen), key) if chosen else None
    return chosen, item, incoming if isinstance(incoming, dict) else {}


def on_stored(out: Outcome, ctx: Context, event: Stored) -> Outcome:
    """The adapter stored the file: it becomes the item's current file; the old one is history."""
    chosen, item, incoming = _file_item(out, ctx, event.item)
    edit = bool(incoming.get("press"))
    if chosen is None or item is None:
        return _stale(out, ctx)  # the route changed meanwhile: the file is kept in the table
    record = _item_record(out, item["key"])
    previous = record.get("file")
    if previous:
        record.setdefault("history", []).append(previous)
    record["file"] = {
        "name": incoming.get("name") or event.path.rsplit("/", 1)[-1],
        "mime": event.mime,
        "size": event.size,
        "sha256": event.sha256,
        "path": event.path,
        "at": ctx.now.isoformat(timespec="seconds"),
    }
    _clear_target(out)
    out.notice = "saved"
    out.screens.append(
        checklist_screen(
            out,
            ctx,
            chosen,
            edit=edit,
            stored={
                "item": item["name"],
                "file": record["file"],
                "replaced": bool(previous),
                "versions": len(record.get("history") or []),
            },
        )
    )
    return out


def on_rejected(out: Outcome, ctx: Context, event: Rejected) -> Outcome:
    """The adapter refused the file: explain why; nothing else changes."""
    _chosen, item, incoming = _file_item(out, ctx, event.item)
    edit = bool(incoming.get("press"))
    out.screens.append(_refused(out, item, event.reason, event.detail, edit=edit))
    return out


def on_file(out: Outcome, ctx: Context, event: Event) -> Outcome:
    """The router's entry for Upload, Stored and Rejected."""
    if isinstance(event, Upload):
        return on_upload(out, ctx, event)
    if isinstance(event, Stored):
        return on_stored(out, ctx, event)
    if isinstance(event, Rejected):
        return on_rejected(out, ctx, event)
    return _stale(out, ctx)


COMMANDS = {"docs": cmd_docs}
ACTIONS = {
    "docs": press_docs,
    "dcl": press_list,
    "dci": press_item,
    "dcm": press_mark,
    "dcu": press_upload,
    "dcc": press_change,
    "dcq": press_answer,
    "dcw": press_which,
    "dcp": press_pick,
    "dcn": press_discard,
}
INPUTS: dict = {}
UPLOAD = on_file
