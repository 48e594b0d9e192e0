"""Files the merchant sends for the document checklist: which item each is for, and the result.

Files take two passes through the flows. The first (an `Upload`) decides which item the file is
for and asks the adapter to fetch it (a `Download` effect); the adapter downloads, checks and
stores it, then hands back `Stored` or `Rejected` for the second pass, which updates the item
and shows the result. The state saved is the one after the second pass.

Which item a file is for: while an item's own screen is open (the merchant pressed the item, or
its upload button) the file belongs to that item. Otherwise it waits in `pending` and the
merchant is asked which item it is; several such files wait side by side, each with its own
question, and none replaces another. An empty file (0 bytes) or one over 20 MB is refused at
once and changes nothing.

The state (data["docs"]: target, pending, incoming, items) is described in flows/checklist.py.
flows/docs.py registers these actions and `on_file` with the router.

Callback data (keys are the ASCII item keys of documents.yaml; id: checklist.pending_id):
    dcw[:<id>]              pick the item for a pending file (no id: the oldest)
    dcp:<key>[:<id>]        that pending file is for this item: fetch it (no id: the oldest,
                            as buttons sent before several files could wait)
    dcn[:<id>]              discard that pending file (no id: the oldest)
"""

from __future__ import annotations

from typing import Any

from flows import route
from flows.checklist import (
    ITEM_LABELS,
    SKIP,
    checklist_screen,
    clear_target,
    docs_of,
    find_item,
    item_record,
    pending,
    pending_id,
    record,
    route_and_item,
    route_items,
    show_checklist,
    stale,
    status_of,
    target,
)
from flows.core import Button, Context, Download, Event, Outcome, Rejected, Screen, Stored, Upload
from flows.feature import Action, Arg, token
from flows.state import DocsRecord, Incoming, PendingFile

MAX_BYTES = 20 * 1024 * 1024  # the Bot API lets bots download files up to 20 MB
MAX_PENDING = 10  # files waiting to be sorted; one more is refused (and said so), none dropped


def _pending_entry(docs: DocsRecord, wanted: str | None) -> PendingFile | None:
    """The waiting file with this id; without an id the oldest one."""
    entries = pending(docs)
    if wanted is None:
        return entries[0] if entries else None
    return next((e for e in entries if e["id"] == wanted), None)


def _drop_pending(out: Outcome, entry_id: str) -> None:
    """Remove one waiting file; the key goes when none is left."""
    docs = record(out)
    rest = [e for e in pending(docs) if e["id"] != entry_id]
    if rest:
        docs["pending"] = rest
    else:
        docs.pop("pending", None)


def _which_screen(
    out: Outcome, ctx: Context, chosen: str, entry: PendingFile, *, edit: bool
) -> Screen:
    """Which item is this waiting file for? One button per needed item."""
    docs = docs_of(out.state.data)
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
            "others": len(pending(docs)) - 1,
        },
        tuple(rows),
        edit=edit,
    )


def press_which(out: Outcome, ctx: Context, wanted: str | None) -> Outcome:
    """Show the item choice for a waiting file (the oldest, unless one is named)."""
    chosen = route.route_of(out)
    entry = _pending_entry(docs_of(out.state.data), wanted)
    if chosen is None or entry is None:
        return stale(out, ctx)
    out.screens.append(_which_screen(out, ctx, chosen, entry, edit=True))
    return out


def press_pick(out: Outcome, ctx: Context, key: str, wanted: str | None) -> Outcome:
    """The waiting file is for this item: ask the adapter to fetch and store it."""
    found = route_and_item(out, ctx, key)
    entry = _pending_entry(docs_of(out.state.data), wanted)
    if found is None or entry is None:
        return stale(out, ctx)
    chosen, item = found
    if status_of(docs_of(out.state.data), item) == SKIP:
        return stale(out, ctx)
    upload = Upload(
        str(entry.get("file_id", "")),
        str(entry.get("file_name") or ""),
        entry.get("size"),
        str(entry.get("kind") or "document"),
        entry.get("mime_type"),
    )
    _drop_pending(out, entry["id"])
    return _download(out, upload, item["key"], press=True)


def press_discard(out: Outcome, ctx: Context, wanted: str | None) -> Outcome:
    """Forget a waiting file (it was never downloaded); the others keep waiting."""
    entry = _pending_entry(docs_of(out.state.data), wanted)
    if entry is None:
        return stale(out, ctx)
    _drop_pending(out, entry["id"])
    out.notice = "dc_discarded"
    return show_checklist(out, ctx)


# --- files ------------------------------------------------------------------------------------


def _download(out: Outcome, upload: Upload, key: str, *, press: bool) -> Outcome:
    """Hand the file to the adapter; the result comes back as Stored or Rejected."""
    record(out)["incoming"] = {
        "item": key,
        "name": upload.file_name,
        "kind": upload.kind,
        "press": press,
    }
    out.effects.append(Download(upload, key))
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
    docs = docs_of(out.state.data)
    items = route_items(ctx.catalog, chosen) if chosen else []
    key = target(docs, items, ctx.now) if chosen else None
    item = find_item(items, key) if key else None
    if event.size is not None and event.size > MAX_BYTES:
        out.screens.append(_refused(out, item, "size", str(event.size), edit=False))
        return out
    if event.size == 0:
        out.screens.append(_refused(out, item, "empty", "", edit=False))
        return out
    if item is not None:
        return _download(out, event, item["key"], press=False)
    waiting = pending(docs)
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
        record(out)["pending"] = [*waiting, entry]
    clear_target(out)
    if not route.require(out, "docs", edit=False):
        return out  # the checklist offers to sort the files once a route is chosen
    assert chosen is not None
    out.screens.append(_which_screen(out, ctx, chosen, entry, edit=False))
    return out


def _file_item(
    out: Outcome, ctx: Context, key: str
) -> tuple[str | None, dict[str, Any] | None, Incoming]:
    """Route, item and the pass-one note for a Stored / Rejected event (consumes the note)."""
    incoming = record(out).pop("incoming", None)
    if not out.state.data["docs"]:
        del out.state.data["docs"]
    chosen = route.route_of(out)
    item = find_item(route_items(ctx.catalog, chosen), key) if chosen else None
    return chosen, item, incoming if isinstance(incoming, dict) else {}


def on_stored(out: Outcome, ctx: Context, event: Stored) -> Outcome:
    """The adapter stored the file: it becomes the item's current file; the old one is history."""
    chosen, item, incoming = _file_item(out, ctx, event.item)
    edit = bool(incoming.get("press"))
    if chosen is None or item is None:
        return stale(out, ctx)  # the route changed meanwhile: the file is kept in the table
    record = item_record(out, item["key"])
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
    clear_target(out)
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
    return stale(out, ctx)


def actions(item: Arg) -> tuple[Action, ...]:
    """The waiting files' actions (an optional pending-file id names one), for the documents
    feature; `item` is its item argument."""
    entry = token("file", optional=True)
    return (
        Action("dcw", press_which, (entry,)),
        Action("dcp", press_pick, (item, entry)),
        Action("dcn", press_discard, (entry,)),
    )
