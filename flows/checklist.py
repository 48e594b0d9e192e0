"""The document record and the checklist screen, shared by /docs and the uploads.

flows/docs.py (the /docs topic: items, their conditions, marks) and flows/uploads.py (files
sent by the merchant) both read and change the record below and both end on the checklist;
this module holds what they share, so that neither imports the other's screens (docs imports
uploads to register its actions, never the other way round).

Items come from content/documents.yaml (`routes.<route>`), keyed by their stable `key`; an item
with a `condition` (brand, permit) is needed only if the merchant answers yes to the condition's
question. An item is ready when the merchant marked it or sent a file for it.

State under data["docs"] (every key optional):
    items:      {key: {"marked": bool, "file": FileInfo, "history": [FileInfo, ...]}}
    conditions: {"brand": bool, "permit": bool}          True = needed, False = not needed
    target:     {"item": key, "at": iso}                 the item the next upload is for: set
                when the item's screen (or its upload prompt) is shown; dropped when another
                docs screen (checklist, question, file choice) is shown or a file is saved;
                ignored after TARGET_TTL. Screens of other topics do not touch it.
    pending:    [{"id", "file_id", "file_name", "size", "kind", "mime_type", "at"}, ...]
                files that came with no target item, oldest first, each waiting for the
                merchant to pick its item (at most uploads.MAX_PENDING; a single dict from
                older versions is read as a list of one). id: a short hash of the file_id.
    incoming:   {"item", "name", "kind", "press": bool}  between the two passes only
FileInfo = {"name", "mime", "size", "sha256", "path", "at"}; path is relative to BOT_FILES_DIR.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from flows import route
from flows.core import Button, Context, Outcome, Screen
from flows.state import DocsRecord, ItemRecord, MerchantData, PendingFile

if TYPE_CHECKING:
    from flows.catalog import Catalog

TARGET_TTL = timedelta(hours=2)  # an upload target older than this is asked about again

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

# --- reading the content and the state --------------------------------------------------------


def route_items(catalog: Catalog, chosen: str) -> list[dict[str, Any]]:
    """The checklist of a route, in order (documents.yaml routes.<route>)."""
    return list(catalog["documents"]["routes"][chosen])


def docs_of(data: MerchantData) -> DocsRecord:
    """The merchant's document record as stored (may be empty; never mutated here)."""
    docs = data.get("docs")
    return docs if isinstance(docs, dict) else {}


def record(out: Outcome) -> DocsRecord:
    """The merchant's document record, created on first change."""
    docs = out.state.data.get("docs")
    if not isinstance(docs, dict):
        docs = out.state.data["docs"] = {}
    return docs


def item_record(out: Outcome, key: str) -> ItemRecord:
    """One item's record, created on first change."""
    return record(out).setdefault("items", {}).setdefault(key, {})


def item_state(docs: DocsRecord, key: str) -> ItemRecord:
    """One item's stored record (empty if never touched)."""
    items = docs.get("items") or {}
    found = items.get(key)
    return found if isinstance(found, dict) else {}


def status_of(docs: DocsRecord, item: dict[str, Any]) -> str:
    """file / marked / todo / skip (not needed) / ask (the condition is not answered yet)."""
    condition = item.get("condition")
    if condition:
        answer = (docs.get("conditions") or {}).get(condition)
        if answer is False:
            return SKIP
        if answer is None:
            state = item_state(docs, item["key"])
            if not (state.get("file") or state.get("marked")):
                return ASK
    state = item_state(docs, item["key"])
    if state.get("file"):
        return FILE
    if state.get("marked"):
        return MARKED
    return TODO


def progress(docs: DocsRecord, items: list[dict[str, Any]]) -> tuple[int, int]:
    """(ready, needed): items not needed are not counted; unanswered ones count as needed."""
    statuses = [status_of(docs, item) for item in items]
    needed = sum(1 for s in statuses if s != SKIP)
    ready = sum(1 for s in statuses if s in READY)
    return ready, needed


def find_item(items: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The route's item with this key, or None (forged, or from the other route)."""
    return next((i for i in items if i["key"] == key), None)


def route_and_item(out: Outcome, ctx: Context, key: str) -> tuple[str, dict[str, Any]] | None:
    """The route and the item named by a button's argument, if both are valid."""
    chosen = route.route_of(out)
    if chosen is None:
        return None
    item = find_item(route_items(ctx.catalog, chosen), key)
    return (chosen, item) if item else None


# --- where the next file goes -----------------------------------------------------------------


def target(docs: DocsRecord, items: list[dict[str, Any]], now: datetime) -> str | None:
    """The item the merchant said the next file is for, if still valid."""
    wanted = docs.get("target")
    if not isinstance(wanted, dict):
        return None
    item = find_item(items, str(wanted.get("item", "")))
    if item is None or status_of(docs, item) == SKIP:
        return None
    try:
        since = datetime.fromisoformat(str(wanted.get("at")))
    except ValueError:
        return None
    if since.tzinfo is None or not timedelta(0) <= now - since <= TARGET_TTL:
        return None
    key: str = item["key"]
    return key


def set_target(out: Outcome, ctx: Context, key: str) -> None:
    """The next file is for this item (its screen is open)."""
    record(out)["target"] = {"item": key, "at": ctx.now.isoformat()}


def clear_target(out: Outcome) -> None:
    """Forget the upload target (the merchant moved on)."""
    docs = out.state.data.get("docs")
    if isinstance(docs, dict):
        docs.pop("target", None)


def pending_id(file_id: str) -> str:
    """A short, stable id of a waiting file for callback data (the file_id is too long)."""
    return hashlib.sha256(file_id.encode("utf-8")).hexdigest()[:8]


def pending(docs: DocsRecord) -> list[PendingFile]:
    """The files waiting to be sorted, oldest first (an older single record reads as one)."""
    raw = docs.get("pending")
    entries = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    found: list[PendingFile] = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("file_id"):
            found.append({**entry, "id": entry.get("id") or pending_id(str(entry["file_id"]))})
    return found


# --- the checklist ----------------------------------------------------------------------------


def _checklist_data(out: Outcome, ctx: Context, chosen: str) -> dict[str, Any]:
    """What the checklist template shows: route, progress, items with their status."""
    docs = docs_of(out.state.data)
    items = route_items(ctx.catalog, chosen)
    ready, needed = progress(docs, items)
    waiting = pending(docs)
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


def show_checklist(out: Outcome, ctx: Context) -> Outcome:
    """The checklist in place, or the route choice when no route is chosen."""
    chosen = route.route_of(out)
    if chosen is None:
        route.require(out, "docs", edit=True)
        return out
    out.screens.append(checklist_screen(out, ctx, chosen, edit=True))
    return out


def stale(out: Outcome, ctx: Context) -> Outcome:
    """A forged or outdated button: a short notice and the current checklist."""
    out.notice = "stale"
    return show_checklist(out, ctx)
