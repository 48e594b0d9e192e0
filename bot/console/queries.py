"""What the console reads from the store: the queue, the merchant list, one merchant, the audit.

Operators (BOT_ADMIN_IDS) have merchant rows of their own (they talk to the bot too); they are
left out of every list. Filters, search and sorting use indexed columns of `merchants`
(migration 0006 adds `shop_name` and `contact`, generated from the JSON state; 0007 the
review's `submitted_on` and `need_more_by` the queue reads, and `merchant_search`, a compact
copy of the two texts the search scans); pages follow each other by keyset (the last row's
sort key and id), so page 500 costs what page 1 costs. bench/console.py measures them at
100,000 merchants.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bot.store import Store
from flows import review
from flows.core import Context
from flows.workdays import nth_working_day_after

PAGE_SIZE = 50
QUEUE_LIMIT = 50  # rows shown per queue section (the count above says how many in all)
NEED_MORE_NEAR_DAYS = 2  # a need_more deadline this close counts as "near"
NEW_UPLOAD_DAYS = 30  # uploads older than this are no longer "new"

SORTS = {
    # key: (column, descending)
    "updated": ("updated_at", True),
    "created": ("created_at", True),
    "id": ("user_id", False),
}


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text, as the store writes times."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _not_operator(operators: frozenset[int], column: str = "m.user_id") -> tuple[str, list[Any]]:
    """A WHERE fragment leaving the operators out, and its parameters."""
    ids = sorted(operators)
    if not ids:
        return "1 = 1", []
    return f"{column} NOT IN ({', '.join('?' * len(ids))})", list(ids)


def _row(row: Any) -> dict[str, Any]:
    """A merchant row as the templates use it."""
    item = dict(row)
    item.pop("state", None)
    return item


# --- the queue ------------------------------------------------------------------------------


@dataclass
class Queue:
    """The sections of the home page, each with its full count and its first rows."""

    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


_BASE = (
    "SELECT m.user_id, m.shop_name, m.contact, m.route, m.stage, m.status, m.unreachable,"
    " m.updated_at, m.submitted_on FROM merchants m"
)


def overdue_cutoffs(ctx: Context) -> dict[str, date]:
    """Per route, the last submission date whose review window (its last_n-th working day
    after) ended before today: every submission up to it is overdue, none after it is (the
    window's end never moves back as the submission moves forward)."""
    today = ctx.today
    cutoffs = {}
    for code, rules in ctx.catalog["application"]["review"].items():
        last_n = int(rules["last_n"])
        day = today - timedelta(days=last_n)  # its window ends on today at the earliest
        while nth_working_day_after(day, last_n) >= today:
            day -= timedelta(days=1)
        cutoffs[str(code)] = day
    return cutoffs


async def queue(
    store: Store, operators: frozenset[int], ctx: Context, *, limit: int = QUEUE_LIMIT
) -> Queue:
    """Merchants who need someone now (see the module docstring of bot.console)."""
    result = Queue()
    others, params = _not_operator(operators)
    db = store.db
    today = ctx.today

    # 1. the review window has passed and no result was recorded: for each route, every
    # submission up to the last date whose window has closed before today (an index range;
    # the windows of the rows shown are then computed as the merchant sees them)
    # each arm an index range of merchants_review, (status, route, submitted_on, user_id):
    # the count and the first rows never read the table (nor its JSON) but for the rows shown
    plain, ids = _not_operator(operators, "user_id")
    arms, args = [], []
    for status in ("submitted", "reviewing"):
        for code, latest in overdue_cutoffs(ctx).items():
            arms.append(
                "SELECT user_id, submitted_on FROM merchants"
                f" WHERE status = ? AND route = ? AND submitted_on <= ? AND {plain}"
            )
            args += [status, code, latest.isoformat(), *ids]
    union = " UNION ALL ".join(arms) or (
        "SELECT CAST(NULL AS BIGINT) AS user_id, CAST(NULL AS TEXT) AS submitted_on WHERE 1 = 0"
    )
    result.counts["overdue"] = await _count(store, f"SELECT COUNT(*) FROM ({union}) u", args)
    rows = await db.execute_fetchall(
        f"{_BASE} JOIN (SELECT user_id AS id, submitted_on AS day FROM ({union}) u"
        f" ORDER BY day, id LIMIT ?) o ON m.user_id = o.id ORDER BY o.day, o.id",
        [*args, limit],
    )
    overdue = []
    for row in rows:
        window = review.window_data(
            {"submitted_on": row["submitted_on"], "route": row["route"]}, ctx
        )
        overdue.append({**_row(row), "window": window})
    result.sections["overdue"] = overdue

    # 2. asked for more documents, and the deadline is near or has passed
    near = (today + timedelta(days=NEED_MORE_NEAR_DAYS)).isoformat()
    deadline = "m.need_more_by"
    where = f"m.status = 'need_more' AND {deadline} IS NOT NULL AND {deadline} <= ? AND {others}"
    result.counts["need_more"] = await _count(
        store, f"SELECT COUNT(*) FROM merchants m WHERE {where}", [near, *params]
    )
    rows = await db.execute_fetchall(
        f"{_BASE.replace(' FROM', f', {deadline} AS deadline FROM')} WHERE {where}"
        f" ORDER BY {deadline}, m.user_id LIMIT ?",
        [near, *params, limit],
    )
    result.sections["need_more"] = [
        {**_row(r), "passed": str(r["deadline"]) < today.isoformat()} for r in rows
    ]

    # 3. uploads since an operator last opened the merchant's page: upload_latest (migration
    # 0007) holds each merchant's latest upload, read in order from its index; the number of
    # new files is counted for the rows shown only
    since = _iso(ctx.now - timedelta(days=NEW_UPLOAD_DAYS))
    plain, ids = _not_operator(operators, "u.user_id")
    fresh = (
        "FROM upload_latest u LEFT JOIN console_seen s ON s.user_id = u.user_id"
        f" WHERE u.last_upload >= ? AND u.last_upload > COALESCE(s.seen_at, '') AND {plain}"
    )
    result.counts["uploads"] = await _count(store, f"SELECT COUNT(*) {fresh}", [since, *ids])
    rows = await db.execute_fetchall(
        f"SELECT m.user_id, m.shop_name, m.contact, m.route, m.stage, m.status, m.unreachable,"
        f" m.updated_at, n.last_upload, (SELECT COUNT(*) FROM documents d"
        f" WHERE d.user_id = n.user_id AND d.uploaded_at >= ? AND d.uploaded_at > n.seen)"
        f" AS files FROM (SELECT u.user_id, u.last_upload, COALESCE(s.seen_at, '') AS seen"
        f" {fresh} ORDER BY u.last_upload DESC LIMIT ?) n"
        f" JOIN merchants m ON m.user_id = n.user_id ORDER BY n.last_upload DESC",
        [since, since, *ids, limit],
    )
    result.sections["uploads"] = [_row(r) for r in rows]

    # 4. reminders that failed, or whose delivery is uncertain, since someone last looked
    states = (
        "string_agg(DISTINCT r.state, ',')"
        if store.dialect == "postgresql"
        else "GROUP_CONCAT(DISTINCT r.state)"
    )
    failed = (
        "SELECT r.user_id, COUNT(*) AS reminders, MAX(r.due_at) AS last_due,"
        f" {states} AS states FROM reminders r"
        " LEFT JOIN console_seen s ON s.user_id = r.user_id"
        " WHERE r.state IN ('failed', 'uncertain') AND r.due_at > COALESCE(s.seen_at, '')"
        " GROUP BY r.user_id"
    )
    result.counts["reminders"] = await _count(
        store,
        f"SELECT COUNT(*) FROM ({failed}) f JOIN merchants m ON m.user_id = f.user_id"
        f" WHERE {others}",
        params,
    )
    rows = await db.execute_fetchall(
        f"SELECT m.user_id, m.shop_name, m.contact, m.route, m.stage, m.status, m.unreachable,"
        f" m.updated_at, f.reminders, f.last_due, f.states FROM ({failed}) f"
        f" JOIN merchants m ON m.user_id = f.user_id WHERE {others}"
        f" ORDER BY f.last_due DESC LIMIT ?",
        [*params, limit],
    )
    result.sections["reminders"] = [_row(r) for r in rows]

    # 5. merchants who blocked the bot
    where = f"m.unreachable = 1 AND {others}"
    result.counts["blocked"] = await _count(
        store, f"SELECT COUNT(*) FROM merchants m WHERE {where}", params
    )
    rows = await db.execute_fetchall(
        f"{_BASE} WHERE {where} ORDER BY m.updated_at DESC LIMIT ?", [*params, limit]
    )
    result.sections["blocked"] = [_row(r) for r in rows]
    return result


async def _count(store: Store, sql: str, params: Sequence[Any]) -> int:
    """One COUNT(*)."""
    rows = await store.db.execute_fetchall(sql, params)
    row = next(iter(rows), None)
    return int(row[0]) if row else 0


# --- the merchant list ----------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The list's filters, search and sort, as read from the query string."""

    route: str = ""  # "agency" | "platform" | "none" | ""
    stage: str = ""  # a stage key, "done", or ""
    status: str = ""  # a status code, "none", or ""
    reach: str = ""  # "yes" | "no" | ""
    q: str = ""
    sort: str = "updated"

    @classmethod
    def parse(cls, query: Any, stages: Sequence[str]) -> Filters:
        """From a request's query (unknown values are dropped, never an error)."""

        def one(name: str, allowed: Sequence[str]) -> str:
            value = str(query.get(name, "") or "")
            return value if value in allowed else ""

        return cls(
            route=one("route", ("agency", "platform", "none")),
            stage=one("stage", (*stages, "done")),
            status=one("status", (*review.STATUSES, "none")),
            reach=one("reach", ("yes", "no")),
            q=" ".join(str(query.get("q", "") or "").split())[:80],
            sort=one("sort", tuple(SORTS)) or "updated",
        )

    def where(self, operators: frozenset[int]) -> tuple[str, list[Any]]:
        """The WHERE clause (without the word) and its parameters."""
        clauses, params = [], []
        others, ids = _not_operator(operators)
        clauses.append(others)
        params.extend(ids)
        for column, value in (("m.route", self.route), ("m.status", self.status)):
            if value == "none":
                clauses.append(f"{column} IS NULL")
            elif value:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.stage:
            clauses.append("m.stage = ?")
            params.append(self.stage)
        if self.reach:
            clauses.append("m.unreachable = ?")
            params.append(0 if self.reach == "yes" else 1)
        if self.q:
            # merchant_search (migration 0007): the shop name and contact of those who typed
            # one, compact, so that a "%term%" scan does not parse every JSON state
            term = self.q.lower()
            like = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            # lower() on both sides: SQLite's LIKE ignores ASCII case, PostgreSQL's does not
            search = [
                "m.user_id IN (SELECT user_id FROM merchant_search"
                " WHERE lower(text) LIKE ? ESCAPE '\\')"
            ]
            params.append(like)
            digits = self.q.strip()
            if digits.isascii() and digits.isdigit() and len(digits) <= 15:
                search.append("m.user_id = ?")
                params.append(int(digits))
            clauses.append("(" + " OR ".join(search) + ")")
        return " AND ".join(clauses), params

    def query(self, **changes: str) -> dict[str, str]:
        """The non-empty query parameters, with changes (for links and the next page)."""
        values = {
            "route": self.route,
            "stage": self.stage,
            "status": self.status,
            "reach": self.reach,
            "q": self.q,
            "sort": self.sort if self.sort != "updated" else "",
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v}


@dataclass
class Page:
    """One page of the list: its rows, how many match, the cursor of the next page."""

    rows: list[dict[str, Any]]
    total: int
    after: str | None


def _cursor(row: dict[str, Any], sort: str) -> str:
    """The keyset cursor after a row: its sort value and id."""
    column, _desc = SORTS[sort]
    return f"{row[column]}|{row['user_id']}"


def _after(cursor: str, sort: str) -> tuple[str, list[Any]] | None:
    """The keyset condition of a cursor (None when it is malformed)."""
    column, desc = SORTS[sort]
    value, _, uid = cursor.rpartition("|")
    if not uid.lstrip("-").isdigit() or len(cursor) > 80:
        return None
    op = "<" if desc else ">"
    if column == "user_id":
        return f"m.user_id {op} ?", [int(uid)]
    return f"(m.{column}, m.user_id) {op} (?, ?)", [value, int(uid)]


_LIST_COLUMNS = (
    "m.user_id, m.shop_name, m.contact, m.route, m.stage, m.status, m.unreachable,"
    " m.created_at, m.updated_at"
)


async def merchants(
    store: Store,
    operators: frozenset[int],
    filters: Filters,
    after: str = "",
    *,
    size: int = PAGE_SIZE,
) -> Page:
    """One page of the filtered, sorted list."""
    where, params = filters.where(operators)
    total = await _count(store, f"SELECT COUNT(*) FROM merchants m WHERE {where}", params)
    column, desc = SORTS[filters.sort]
    keyset = _after(after, filters.sort) if after else None
    if keyset:
        where = f"{where} AND {keyset[0]}"
        params = [*params, *keyset[1]]
    direction = "DESC" if desc else "ASC"
    order = "m.user_id" if column == "user_id" else f"m.{column} {direction}, m.user_id"
    rows = await store.db.execute_fetchall(
        f"SELECT {_LIST_COLUMNS} FROM merchants m WHERE {where}"
        f" ORDER BY {order} {direction} LIMIT ?",
        [*params, size + 1],
    )
    found = [dict(r) for r in rows]
    more = len(found) > size
    found = found[:size]
    return Page(found, total, _cursor(found[-1], filters.sort) if more and found else None)


async def export_rows(
    store: Store, operators: frozenset[int], filters: Filters, *, batch: int = 2000
) -> AsyncIterator[list[dict[str, Any]]]:
    """Every merchant of the filtered list, in the list's order, batch by batch."""
    after = ""
    while True:
        page = await merchants(store, operators, filters, after, size=batch)
        if page.rows:
            yield page.rows
        if page.after is None:
            return
        after = page.after


# --- one merchant ---------------------------------------------------------------------------


async def merchant_row(store: Store, user_id: int) -> dict[str, Any] | None:
    """The merchant's row (without the state), or None."""
    rows = await store.db.execute_fetchall(
        f"SELECT {_LIST_COLUMNS}, m.language, m.chat_id FROM merchants m WHERE m.user_id = ?",
        (user_id,),
    )
    row = next(iter(rows), None)
    return dict(row) if row else None


async def documents(store: Store, user_id: int) -> list[dict[str, Any]]:
    """Every stored file of the merchant, newest first."""
    rows = await store.db.execute_fetchall(
        "SELECT id, item, sha256, size, mime, original_name, uploaded_at, replaced_at"
        " FROM documents WHERE user_id = ?",
        (user_id,),
    )
    # sorted here, by code point as SQLite's BINARY would: PostgreSQL's order of text follows
    # the database's collation
    return sorted((dict(r) for r in rows), key=lambda r: (str(r["item"]), -int(r["id"])))


async def document(store: Store, doc_id: int) -> dict[str, Any] | None:
    """One stored file's row."""
    rows = await store.db.execute_fetchall(
        "SELECT id, user_id, item, path, mime, original_name, size FROM documents WHERE id = ?",
        (doc_id,),
    )
    row = next(iter(rows), None)
    return dict(row) if row else None


async def seen(store: Store, user_id: int, operator_id: int, now: datetime) -> None:
    """Remember that an operator opened the merchant's page now."""
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO console_seen (user_id, seen_at, operator_id) VALUES (?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET seen_at = excluded.seen_at,"
            " operator_id = excluded.operator_id",
            (user_id, _iso(now), operator_id),
        )


# --- the audit ------------------------------------------------------------------------------


async def audit(
    store: Store,
    operator_id: int,
    action: str,
    target: int | None,
    before: str,
    after: str,
    detail: dict[str, Any],
    now: datetime,
) -> int:
    """Write one audit row; its id."""
    async with store.transaction() as db:
        rows = await db.execute_fetchall(
            "INSERT INTO console_audit (at, operator_id, action, target, before, after, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                _iso(now),
                operator_id,
                action,
                target,
                before,
                after,
                json.dumps(detail, ensure_ascii=False, sort_keys=True),
            ),
        )
        return int(rows[0][0]) if rows else 0


async def audit_rows(
    store: Store,
    *,
    target: int | None = None,
    before_id: int | None = None,
    size: int = 100,
    action: str = "",
) -> list[dict[str, Any]]:
    """Audit rows, newest first (one merchant's when `target` is given; one kind of action,
    such as the document views, when `action` is)."""
    clauses: list[str] = ["1 = 1"]
    params: list[Any] = []
    if action:
        clauses.append("action = ?")
        params.append(action)
    if target is not None:
        clauses.append("target = ?")
        params.append(target)
    if before_id is not None:
        clauses.append("id < ?")
        params.append(before_id)
    rows = await store.db.execute_fetchall(
        f"SELECT id, at, operator_id, action, target, before, after, detail FROM console_audit"
        f" WHERE {' AND '.join(clauses)} ORDER BY id DESC LIMIT ?",
        [*params, size],
    )
    found = []
    for row in rows:
        item = dict(row)
        try:
            item["detail"] = json.loads(item["detail"] or "{}")
        except ValueError:
            item["detail"] = {"text": item["detail"]}
        found.append(item)
    return found


async def audit_row(store: Store, audit_id: int) -> dict[str, Any] | None:
    """One audit row."""
    rows = await audit_rows(store, before_id=audit_id + 1, size=1)
    return rows[0] if rows and rows[0]["id"] == audit_id else None
