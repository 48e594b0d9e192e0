"""The console's pages and actions (bot.console.server routes here once the session and, for a
POST, the CSRF token are checked).

Recording a review result goes through the same code as `/setstatus`: an OperatorOrder carried
out by bot.app.run_operator (the merchant's lock, flows.router.apply_order, the history row and
the reminder plan committed in one transaction, then the push), so the two can never differ.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from aiohttp import web
from telegram.ext import CallbackContext

from bot.app import run_operator
from bot.console import funnel, queries
from bot.console.auth import Session
from flows import apply, journey, review
from flows.core import Context, OperatorOrder
from flows.operator import MAX_NOTE

if TYPE_CHECKING:
    from bot.console.server import Console

MAX_BULK = 200  # merchants in one bulk result
VIEW_AGAIN_MINUTES = 10  # a document opened again this soon is not audited again
BULK_PER_SECOND = 20  # a bulk result's pushes, under Telegram's ~30 messages/s overall
INLINE_TYPES = {"image/jpeg", "image/png"}
SERVED_TYPES = INLINE_TYPES | {"application/pdf"}
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _ctx(console: Console) -> Context:
    """A flow context at the bot's current time (for journey marks and review windows)."""
    return Context(console.runtime.contents.default.catalog, console.now())


def _base(console: Console, session: Session, nav: str) -> dict[str, Any]:
    """What every signed-in page's layout needs."""
    return {"session": session, "nav": nav, "pages": console.pages}


async def write_audit(
    console: Console,
    operator_id: int,
    action: str,
    target: int | None,
    before: str,
    after: str,
    detail: dict[str, Any],
) -> int:
    """One audit row, at the bot's current time."""
    return await queries.audit(
        console.runtime.store,
        operator_id,
        action,
        target,
        before,
        after,
        detail,
        console.runtime.clock.now(),
    )


# --- session ------------------------------------------------------------------------------


async def logout(console: Console, request: web.Request, session: Session) -> web.StreamResponse:
    """End the session and forget the cookie."""
    from bot.console.server import COOKIE

    await console.auth.end(request.cookies.get(COOKIE))
    await write_audit(console, session.operator_id, "logout", None, "", "", {})
    response = console.message(200, "logged_out")
    response.del_cookie(COOKIE, path="/")
    return response


# --- the queue ----------------------------------------------------------------------------


async def queue_page(console: Console, request: web.Request, session: Session) -> web.Response:
    """Home: merchants who need someone now, counts on top."""
    found = await queries.queue(console.runtime.store, console.runtime.admin_ids, _ctx(console))
    return console.html(
        "queue", **_base(console, session, "queue"), queue=found, today=console.now().date()
    )


# --- the merchant list --------------------------------------------------------------------


def _stage_keys() -> list[str]:
    """The journey's stage keys, in order (the list's stage filter)."""
    return ["route", "qualify", "docs", "apply", "submit", "review", "join"]


async def merchants_page(console: Console, request: web.Request, session: Session) -> web.Response:
    """The list: filters, search, sort, keyset pages, the bulk form."""
    filters = queries.Filters.parse(request.query, _stage_keys())
    after = request.query.get("after", "")[:80]
    page = await queries.merchants(console.runtime.store, console.runtime.admin_ids, filters, after)
    next_url = "/merchants?" + urlencode(filters.query(after=page.after)) if page.after else None
    done = request.query.get("bulk")
    return console.html(
        "merchants",
        **_base(console, session, "merchants"),
        filters=filters,
        page=page,
        stages=_stage_keys(),
        statuses=review.STATUSES,
        next_url=next_url,
        paged=bool(after),
        first_url="/merchants?" + urlencode(filters.query()),
        csv_url="/merchants.csv?" + urlencode(filters.query()),
        bulk=_bulk_result(request.query) if done else None,
        max_note=MAX_NOTE,
    )


def _csv_cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


async def merchants_csv(
    console: Console, request: web.Request, session: Session
) -> web.StreamResponse:
    """The filtered list as CSV (UTF-8 with a BOM, so that Excel reads the Chinese)."""
    filters = queries.Filters.parse(request.query, _stage_keys())
    pages = console.pages
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="merchants.csv"',
        }
    )
    await response.prepare(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(pages.labels["csv"]["columns"])
    async for rows in queries.export_rows(
        console.runtime.store, console.runtime.admin_ids, filters
    ):
        for row in rows:
            writer.writerow(
                [
                    _csv_cell(v)
                    for v in (
                        row["user_id"],
                        row["shop_name"],
                        row["contact"],
                        pages.route_name(row["route"]),
                        pages.stage_name(row["stage"], row["route"]),
                        pages.status_name(row["status"]),
                        pages.labels["list"]["reach"]["no" if row["unreachable"] else "yes"],
                        pages.env.filters["local"](row["created_at"]),
                        pages.env.filters["local"](row["updated_at"]),
                    )
                ]
            )
        await response.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
    await write_audit(
        console, session.operator_id, "export", None, "", "", {"filters": filters.query()}
    )
    await response.write_eof()
    return response


# --- one merchant -------------------------------------------------------------------------


def _item_names(console: Console) -> dict[str, str]:
    """Checklist item keys → their names (both routes)."""
    names: dict[str, str] = {}
    for items in console.runtime.contents.default.data["documents"]["routes"].values():
        for item in items:
            names.setdefault(str(item["key"]), str(item["name"]))
    return names


async def merchant_page(
    console: Console,
    request: web.Request,
    session: Session,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """One merchant: journey, application, documents, history, reminders, the result form."""
    store = console.runtime.store
    target = int(request.match_info["user_id"])
    row = await queries.merchant_row(store, target)
    if row is None or target in console.runtime.admin_ids:
        return console.message(404, "not_found")
    state = await store.load_merchant(target)
    ctx = _ctx(console)
    data = state.data
    filled = (data.get("application") or {}).get("fields") or {}
    fields = [
        {"key": f["key"], "label": f["label"], "value": filled.get(f["key"])}
        for f in apply.fields(ctx)
    ]
    names = _item_names(console)
    docs: dict[str, list[dict[str, Any]]] = {}
    for doc in await queries.documents(store, target):
        docs.setdefault(str(doc["item"]), []).append(doc)
    done_id = request.query.get("done", "")
    done = (
        await queries.audit_row(store, int(done_id))
        if done_id.isascii() and done_id.isdigit() and len(done_id) < 12
        else None
    )
    if done is not None and done["target"] != target:
        done = None
    response = console.html(
        "merchant",
        status,
        **_base(console, session, "merchants"),
        row=row,
        data=data,
        stages=journey.stages(data, ctx),
        window=review.window_data(data, ctx),
        fields=fields,
        documents=[(key, names.get(key, key), versions) for key, versions in docs.items()],
        history=await store.status_history(target),
        reminders=await store.reminders_of(target),
        audit=await queries.audit_rows(store, target=target, size=20),
        statuses=review.STATUSES,
        error=error,
        form=form or {},
        done=done,
        max_note=MAX_NOTE,
    )
    await queries.seen(store, target, session.operator_id, console.runtime.clock.now())
    return response


def _read_result(console: Console, form: Any) -> tuple[str, str, str]:
    """(status, note, error key) of a result form; the deadline goes into the note, where
    flows.status reads it (as from a /setstatus note)."""
    labels = console.pages.labels["record"]
    status = str(form.get("status", ""))
    note = " ".join(str(form.get("note", "")).split())
    deadline = str(form.get("deadline", "")).strip()
    if status not in review.STATUSES:
        return status, note, "status"
    if deadline and status == "need_more":
        try:
            if not _DAY.match(deadline):
                raise ValueError(deadline)
            day = date.fromisoformat(deadline)
        except ValueError:
            return status, note, "deadline"
        if day.isoformat() not in note:
            suffix = labels["deadline_note"].format(day=day.isoformat())
            note = f"{note}（{suffix}）" if note else suffix
    if len(note) > MAX_NOTE:
        return status, note, "note_too_long"
    return status, note, ""


async def record(
    console: Console, operator_id: int, target: int, status: str, note: str
) -> dict[str, Any] | None:
    """Record one result exactly as /setstatus does, then audit it; the audit row (None when
    the bot has never seen the merchant; {"refused": why} when /setstatus refuses it: no route
    or no submission, nothing changed)."""
    runtime = console.runtime
    before = (await runtime.store.load_merchant(target)).data.get("status") or ""
    order = OperatorOrder("setstatus", target, status, note, f"operator:{operator_id}")
    now = console.now()
    screen = await run_operator(CallbackContext(console.app), runtime, order, now)
    assert screen is not None  # None only for an update handled by another replica
    if screen.template != "operator_done":
        why = str(screen.data.get("error") or "")
        # an unknown merchant, or a result without a submission: nothing was changed
        return None if why == "unknown_user" else {"refused": why}
    delivered = bool(screen.data.get("delivered"))
    detail = {"note": note, "delivered": delivered, "reason": screen.data.get("reason") or ""}
    audit_id = await write_audit(console, operator_id, "set_status", target, before, status, detail)
    return {"id": audit_id, **detail}


async def record_status(
    console: Console, request: web.Request, session: Session
) -> web.StreamResponse:
    """The result form of a merchant's page."""
    target = int(request.match_info["user_id"])
    if target in console.runtime.admin_ids:
        return console.message(404, "not_found")
    form = await request.post()
    status, note, error = _read_result(console, form)
    values = {k: str(form.get(k, "")) for k in ("status", "note", "deadline")}
    if error:
        return await merchant_page(console, request, session, error=error, form=values, status=400)
    done = await record(console, session.operator_id, target, status, note)
    if done is None:
        return await merchant_page(
            console, request, session, error="unknown", form=values, status=404
        )
    if done.get("refused"):
        why = str(done["refused"])
        return await merchant_page(console, request, session, error=why, form=values, status=409)
    return see_other(f"/merchants/{target}?done={done['id']}#result")


async def bulk_status(
    console: Console, request: web.Request, session: Session
) -> web.StreamResponse:
    """One result for the merchants ticked in the list, each pushed in turn (paced)."""
    form = await request.post()
    targets: list[int] = []
    for value in form.getall("user", []):
        text = str(value)
        if text.isascii() and text.isdigit() and len(text) <= 15:
            uid = int(text)
            if uid not in console.runtime.admin_ids and uid not in targets:
                targets.append(uid)
    back = str(form.get("back", ""))
    back = back if back.startswith("/merchants") and "\n" not in back else "/merchants"
    status, note, error = _read_result(console, form)
    if not targets or error:
        params = {"bulk": "error", "error": error or "none"}
        return see_other(_with_query(back, params))
    ok = failed = skipped = 0
    for target in targets[:MAX_BULK]:
        async with console.bulk_rate:
            done = await record(console, session.operator_id, target, status, note)
        if done and done.get("refused"):
            skipped += 1  # no route or no submission: nothing recorded
        elif done and done["delivered"]:
            ok += 1
        else:
            failed += 1
    params = {"bulk": "done", "n": str(ok + failed), "ok": str(ok), "failed": str(failed)}
    params["skipped"] = str(skipped)
    return see_other(_with_query(back, params))


def see_other(location: str) -> web.Response:
    """303: after a POST, the browser GETs the page that shows the outcome."""
    return web.Response(status=303, headers={"Location": location})


def _with_query(url: str, params: dict[str, str]) -> str:
    """A local URL with more query parameters."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}{urlencode(params)}"


def _bulk_result(query: Any) -> dict[str, Any]:
    """The outcome of a bulk result, as the redirect's query tells it."""

    def number(name: str) -> int:
        value = str(query.get(name, "0"))
        return int(value) if value.isdigit() and len(value) < 6 else 0

    return {
        "kind": str(query.get("bulk", "")),
        "error": str(query.get("error", ""))[:20],
        "n": number("n"),
        "ok": number("ok"),
        "failed": number("failed"),
        "skipped": number("skipped"),
    }


# --- files --------------------------------------------------------------------------------


async def document_file(
    console: Console, request: web.Request, session: Session
) -> web.StreamResponse:
    """A stored document: an image inline, a PDF as a download; never outside BOT_FILES_DIR."""
    doc = await queries.document(console.runtime.store, int(request.match_info["doc_id"]))
    if doc is None or doc["mime"] not in SERVED_TYPES:
        return console.message(404, "not_found")
    root = console.runtime.files_dir.resolve()
    path = (console.runtime.files_dir / str(doc["path"])).resolve()
    if not path.is_relative_to(root):
        return console.message(404, "not_found")
    try:
        body = await asyncio.to_thread(Path.read_bytes, path)
    except OSError:
        return console.message(404, "not_found")
    name = str(doc["original_name"] or f"{doc['item']}-{doc['id']}")
    inline = doc["mime"] in INLINE_TYPES and request.query.get("download") != "1"
    disposition = "inline" if inline else "attachment"
    if not inline:
        how = "download"
    else:
        how = "preview" if request.query.get("preview") == "1" else "open"
    await _audit_view(console, session, doc, how)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:80] or "document"
    return web.Response(
        body=body,
        headers={
            "Content-Type": str(doc["mime"]),
            "Content-Disposition": (
                f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
            ),
            # a file is shown as what it is, never run (its type was checked at upload)
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


async def _audit_view(console: Console, session: Session, doc: dict[str, Any], how: str) -> None:
    """Who opened which document when: one audit row, unless the same operator opened the
    same document the same way in the last VIEW_AGAIN_MINUTES (a page reloaded, a preview
    shown again, is not a new look)."""
    now = console.runtime.clock.now()
    recent = await queries.audit_rows(console.runtime.store, target=int(doc["user_id"]), size=50)
    since = (now - timedelta(minutes=VIEW_AGAIN_MINUTES)).astimezone(UTC)
    since_iso = since.isoformat(timespec="seconds")
    for row in recent:
        if str(row["at"]) < since_iso:
            break
        detail = row["detail"]
        if (
            row["action"] == "view_document"
            and row["operator_id"] == session.operator_id
            and detail.get("document") == doc["id"]
            and detail.get("how") == how
        ):
            return
    detail = {
        "document": doc["id"],
        "item": doc["item"],
        "name": doc["original_name"] or "",
        "size": doc["size"],
        "how": how,
    }
    await write_audit(
        console, session.operator_id, "view_document", int(doc["user_id"]), "", "", detail
    )


# --- the funnel ---------------------------------------------------------------------------


async def funnel_page(console: Console, request: web.Request, session: Session) -> web.Response:
    """How far merchants got, per route, this week and all time; the review's pace."""
    period = request.query.get("period", "all")
    period = period if period in funnel.PERIODS else "all"
    route = request.query.get("route", "")
    route = route if route in funnel.ROUTES else ""
    found = await funnel.funnel(console.runtime.store, console.runtime.admin_ids, console.now())
    return console.html(
        "funnel",
        **_base(console, session, "funnel"),
        funnel=found,
        period=period,
        route=route,
        chart=funnel.chart_data(found, period, route),
        stages=funnel.STAGES,
        routes=funnel.ROUTES,
        periods=funnel.PERIODS,
    )


# --- the audit ----------------------------------------------------------------------------


async def audit_page(console: Console, request: web.Request, session: Session) -> web.Response:
    """Every operator action, newest first, 100 a page."""
    before = request.query.get("before", "")
    before_id = int(before) if before.isascii() and before.isdigit() and len(before) < 12 else None
    action = request.query.get("action", "")
    action = action if action in console.pages.labels["audit"]["actions"] else ""
    rows = await queries.audit_rows(
        console.runtime.store, before_id=before_id, size=100, action=action
    )
    more = None
    if len(rows) == 100:
        query = {"before": str(rows[-1]["id"]), "action": action}
        more = "/audit?" + urlencode({k: v for k, v in query.items() if v})
    return console.html(
        "audit", **_base(console, session, "audit"), rows=rows, more=more, action=action
    )
