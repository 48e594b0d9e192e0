"""The aiosqlite store: WAL mode, numbered migrations at start-up, one transaction per change."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from bot.config import ConfigError
from flows.core import MerchantState, StatusChange
from flows.reminders import Planned

# Every table holding a merchant's rows, children first: /deletedata empties them all.
MERCHANT_TABLES = ("reminders", "status_history", "merchants")  # documents: see bot.documents

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every migration shipped in bot/migrations, in order."""
    found = []
    for entry in resources.files("bot.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    numbers = [n for n, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return found


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text for storage."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


# --- refusing a database the bot must not use --------------------------------------------

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite 3 database file


class DatabaseRefused(ConfigError):
    """BOT_DATABASE is not a database the bot may use: not SQLite, damaged, another program's,
    or made by a newer merchant-bot. Reported in one line, exit status 2, before polling."""


def _refused(path: Path | str, problem: str) -> DatabaseRefused:
    """The one-line refusal, naming the file."""
    return DatabaseRefused(f"BOT_DATABASE: {os.fspath(path)!r} {problem}")


def _one_line(text: str, limit: int = 120) -> str:
    """The first line of SQLite's (possibly multi-line) report, short."""
    lines = [line for line in str(text).splitlines() if line.strip() and "***" not in line]
    flat = " ".join((lines[0] if lines else str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _schema_of(conn: sqlite3.Connection) -> dict[str, frozenset[str]]:
    """{table: its column names} of a database, SQLite's own tables left out."""
    names = [
        row[0]
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
        )
    ]
    return {
        name: frozenset(
            row[0] for row in conn.execute("SELECT name FROM pragma_table_info(?)", (name,))
        )
        for name in names
    }


@lru_cache(maxsize=16)
def _expected_schema(version: int) -> dict[str, frozenset[str]]:
    """The tables and columns migrations 1..version create (built in memory)."""
    conn = sqlite3.connect(":memory:")
    try:
        for number, _name, sql in migrations():
            if number > version:
                break
            for statement in _split_sql(sql):
                conn.execute(statement)
        return _schema_of(conn)
    finally:
        conn.close()


def check_database(path: Path | str) -> None:
    """Refuse (DatabaseRefused) a database file the bot must not open, before anything writes
    to it; a missing or empty file is fine (Store.open creates the schema in it).

    Otherwise the file must start like a SQLite database, pass PRAGMA quick_check, and hold
    merchant-bot's schema: user_version is the number of the last migration applied (0 with
    no tables at all for a new file, never above the newest migration shipped), and every
    table and column those migrations create is there. Tables or columns added beside them
    are tolerated.
    """
    if str(path) == ":memory:":
        return
    try:
        with open(path, "rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _refused(path, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        return  # SQLite takes an empty file for a new database
    if head != SQLITE_MAGIC:
        raise _refused(path, "is not a SQLite database (wrong file, or encrypted?)")
    try:
        # mode=rw: never creates a file; nothing below writes to it
        conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=rw", uri=True)
        try:
            _check_schema(path, conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or (
            type(exc) is sqlite3.DatabaseError
        ):
            raise _refused(
                path, f"is damaged ({_one_line(str(exc))}); restore it from a backup"
            ) from None
        raise _refused(path, f"cannot be opened ({_one_line(str(exc))})") from None


def _check_schema(path: Path | str, conn: sqlite3.Connection) -> None:
    """check_database on an open connection: integrity first, then the schema's identity."""
    # quick_check, not integrity_check: it reads every page and checks the b-tree structure,
    # the free list, cell sizes and record formats (what scrambled pages break, and what
    # made the bot die with "database disk image is malformed" after start-up), in O(N).
    # integrity_check also cross-checks every index against its table, O(N log N): minutes
    # on a large file at every start, for damage quick_check already catches in practice.
    problems = [str(row[0]) for row in conn.execute("PRAGMA quick_check(3)")]
    if problems != ["ok"]:
        raise _refused(
            path, f"is damaged (quick_check: {_one_line(problems[0])}); restore it from a backup"
        )
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    known = len(migrations())
    tables = _schema_of(conn)
    tables.pop("_probe", None)  # bot.config.check_writable_database's, if it was interrupted
    if version > known:
        raise _refused(
            path,
            f"has schema version {version}, newer than this merchant-bot knows ({known}):"
            " run the newer merchant-bot, or use a backup made for this one",
        )
    if version <= 0:
        if tables:
            shown = ", ".join(sorted(tables)[:4]) + (", …" if len(tables) > 4 else "")
            raise _refused(
                path,
                f"holds another program's tables ({shown}) and no merchant-bot schema"
                " version: point BOT_DATABASE at a new file",
            )
        return
    missing = []
    for table, columns in sorted(_expected_schema(version).items()):
        if table not in tables:
            missing.append(f"table {table}")
        else:
            missing.extend(f"{table}.{column}" for column in sorted(columns - tables[table]))
    if missing:
        shown = ", ".join(missing[:4]) + (", …" if len(missing) > 4 else "")
        raise _refused(
            path,
            f"says schema version {version} but lacks {shown}: another program's database?"
            " Point BOT_DATABASE at merchant-bot's own file",
        )


def export_role(by: object) -> str:
    """Who changed a status, as the merchant's own export shows it: the role, never an
    operator's Telegram id ("operator:999000" → "operator", "merchant" stays "merchant").
    The readable /mydata text (mydata.j2) says what the roles mean."""
    role = str(by or "").split(":", 1)[0].strip()
    if not role:
        return ""
    return "operator" if role.lstrip("-").isdigit() else role


# --- erasing deleted data from the files -------------------------------------------------


async def scrub_deleted(store: Store) -> bool:
    """After a deletion has committed (outside any transaction): PRAGMA wal_checkpoint(TRUNCATE).

    secure_delete (see Store.open) zeroes what a DELETE or UPDATE removes, but only in the
    new versions of the pages, which go to the WAL; the earlier versions, holding the deleted
    texts, stay in the main file until a checkpoint copies the new ones over them, and in the
    -wal file itself until it is rewritten. TRUNCATE checkpoints every frame, then cuts the
    -wal file to zero bytes. True when it completed; False (logged) when a reader held it back:
    the next checkpoint finishes the job.
    """
    async with store._write_lock:  # no transaction of another task is open meanwhile
        rows = await store.db.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    row = next(iter(rows), None)
    if row is not None and row[0]:
        log.warning("deleted data may stay in the WAL until the next checkpoint (busy)")
        return False
    return True


class Store:
    """All database access of the bot."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database and apply pending migrations.

        A file that is not SQLite, is damaged, belongs to another program or to a newer
        merchant-bot is refused (DatabaseRefused, see check_database) before anything is
        written to it.
        """
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(check_database, path)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA synchronous=NORMAL")
            await db.execute("PRAGMA foreign_keys=ON")
            await db.execute("PRAGMA busy_timeout=5000")
            # Deleted content is overwritten with zeros instead of being left in the page's
            # free space or on the free list, where it stays readable in the file: after
            # /deletedata a merchant's texts must be gone from the bytes on disk, not merely
            # unreachable. A little more writing on DELETE and UPDATE; our rows are small.
            # (The copies a WAL holds are removed by scrub_deleted after a deletion.)
            await db.execute("PRAGMA secure_delete=ON")
            store = cls(db)
            await store.migrate()
        except BaseException as exc:
            await db.close()  # its thread would otherwise keep the process from exiting
            if isinstance(exc, sqlite3.Error):
                raise _refused(path, f"cannot be prepared ({_one_line(str(exc))})") from None
            raise
        return store

    async def close(self) -> None:
        """Close the connection."""
        await self.db.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on any error.

        All tasks share one connection, so transactions are serialised by a lock: two
        merchants saving at the same moment must not nest their BEGINs.
        """
        async with self._write_lock:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        async with self.db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def migrate(self) -> int:
        """Apply every migration newer than the database, each in its own transaction."""
        current = await self.schema_version()
        known = len(migrations())
        if current > known:  # check_database says so first, naming the file
            raise DatabaseRefused(
                f"BOT_DATABASE: schema version {current} is newer than this merchant-bot"
                f" knows ({known})"
            )
        for number, _name, sql in migrations():
            if number <= current:
                continue
            async with self.transaction() as db:
                for statement in _split_sql(sql):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
            current = number
        return current

    # --- merchants -------------------------------------------------------------------------

    async def load_merchant(self, user_id: int) -> MerchantState:
        """The merchant's state; a fresh one (created=True) when never seen."""
        # one round trip to the database thread (execute + fetch + close would be three)
        rows = await self.db.execute_fetchall(
            "SELECT state, unreachable FROM merchants WHERE user_id = ?", (user_id,)
        )
        if not rows:
            return MerchantState(user_id, created=True)
        row = next(iter(rows))
        return MerchantState(
            user_id,
            created=False,
            data=json.loads(row["state"]),
            unreachable=bool(row["unreachable"]),
        )

    async def save_merchant(
        self,
        state: MerchantState,
        *,
        chat_id: int,
        language: str | None,
        now: datetime,
        records: list[StatusChange] | None = None,
        plan: list[Planned] | None = None,
        stage: str | None = None,
        from_merchant: bool = True,
        update_id: int | None = None,
        replies: list[dict[str, Any]] | None = None,
    ) -> None:
        """Insert or update the merchant row, append its records, reconcile its reminders with
        the plan (when given) and mark the update that caused it applied (keeping the rendered
        replies until they are sent), all in one transaction."""
        data = state.data
        upsert = (
            """
            INSERT INTO merchants (user_id, chat_id, language, route, stage, status, state,
                                   created_at, updated_at, unreachable)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
            ON CONFLICT (user_id) DO UPDATE SET
                chat_id = excluded.chat_id,
                language = COALESCE(excluded.language, merchants.language),
                route = excluded.route, stage = excluded.stage, status = excluded.status,
                state = excluded.state, updated_at = excluded.updated_at,
                -- a message from the merchant proves they can be reached again
                unreachable = CASE WHEN ? THEN 0 ELSE merchants.unreachable END
            """,
            (
                state.user_id,
                chat_id,
                language,
                data.get("route"),
                stage,
                data.get("status"),
                json.dumps(data, ensure_ascii=False, sort_keys=True),
                _iso(now),
                _iso(now),
                from_merchant,
            ),
        )
        if plan is None and not records and update_id is None:
            # The common case is one statement, atomic and committed on its own (autocommit):
            # one round trip instead of BEGIN … COMMIT. The lock keeps it out of another
            # task's open transaction on this shared connection.
            async with self._write_lock:
                await self.db.execute(*upsert)
            return
        async with self.transaction() as db:
            if plan is not None:
                await self._reconcile(db, state.user_id, plan, now)
            await db.executemany(
                "INSERT INTO status_history (user_id, at, by, old, new, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(state.user_id, _iso(now), r.by, r.old, r.new, r.note) for r in records or ()],
            )
            await db.execute(*upsert)
            if update_id is not None:
                await mark_applied(db, update_id, replies)

    async def _reconcile(
        self, db: aiosqlite.Connection, user_id: int, plan: list[Planned], now: datetime
    ) -> None:
        """Make the merchant's pending reminders exactly the plan.

        - a planned key never seen is added: pending, or 'skipped' when its moment has already
          passed (a submission recorded late: the screen the merchant sees now says the same);
        - a pending one keeps waiting; if its moment moved it is re-timed (and skipped when the
          new moment is already past); an unchanged pending one stays pending even if overdue
          (it fell due while the bot was down and must still be delivered);
        - a cancelled one that is planned again is revived the same way;
        - one already sent (or dropped, skipped, uncertain, failed) for the same moment is
          never sent again; planned for another moment, it is a new reminder;
        - a pending one no longer planned is cancelled. Rows being sent are left alone.
        """
        rows = await db.execute_fetchall(
            "SELECT id, key, due_at, state FROM reminders WHERE user_id = ?", (user_id,)
        )
        existing = {row["key"]: row for row in rows}
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for p in plan:
            due = _iso(p.due)
            fresh = "pending" if p.due >= now else "skipped"
            row = existing.get(p.key)
            if row is None:
                inserts.append(
                    (user_id, p.key, p.kind, p.chain, due, json.dumps(p.data), _iso(now), fresh)
                )
                continue
            same_moment = row["due_at"] == due
            if row["state"] == "sending":
                continue
            if row["state"] == "pending":
                state = "pending" if same_moment else fresh
            elif row["state"] == "cancelled" or not same_moment:
                state = fresh
            else:
                continue  # sent, dropped, skipped, uncertain or failed for this very moment
            updates.append((due, json.dumps(p.data), state, row["id"]))
        if inserts:
            await db.executemany(
                "INSERT INTO reminders (user_id, key, kind, chain, due_at, data, created_at, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
        if updates:
            await db.executemany(
                "UPDATE reminders SET due_at = ?, data = ?, state = ?, sent_at = NULL WHERE id = ?",
                updates,
            )
        planned = {p.key for p in plan}
        gone = [r["id"] for r in rows if r["state"] == "pending" and r["key"] not in planned]
        if gone:
            await db.executemany(
                "UPDATE reminders SET state = 'cancelled' WHERE id = ?", [(i,) for i in gone]
            )

    async def replan(self, user_id: int, plan: list[Planned], now: datetime) -> None:
        """Reconcile a merchant's reminders with a fresh plan (no state change)."""
        async with self.transaction() as db:
            await self._reconcile(db, user_id, plan, now)

    async def reminders_of(self, user_id: int) -> list[dict[str, Any]]:
        """Every reminder row of a merchant (for /mydata and operators)."""
        async with self.db.execute(
            "SELECT key, kind, chain, due_at, state, sent_at FROM reminders WHERE user_id = ?"
            " ORDER BY due_at",
            (user_id,),
        ) as cur:
            return [dict(row) for row in await cur.fetchall()]

    async def due_reminders(self, now: datetime, limit: int = 5000) -> list[dict[str, Any]]:
        """Pending reminders due by `now` of reachable merchants, oldest first."""
        async with self.db.execute(
            """
            SELECT r.id, r.user_id, r.key, r.kind, r.chain, r.due_at, r.data, m.chat_id,
                   m.language, m.state AS merchant_state
            FROM reminders r JOIN merchants m ON m.user_id = r.user_id
            WHERE r.state = 'pending' AND r.due_at <= ? AND m.unreachable = 0
            ORDER BY r.due_at, r.id LIMIT ?
            """,
            (_iso(now), limit),
        ) as cur:
            return [dict(row) for row in await cur.fetchall()]

    async def next_due(self) -> datetime | None:
        """When the soonest pending reminder of a reachable merchant falls due."""
        async with self.db.execute(
            "SELECT MIN(r.due_at) FROM reminders r JOIN merchants m ON m.user_id = r.user_id"
            " WHERE r.state = 'pending' AND m.unreachable = 0"
        ) as cur:
            row = await cur.fetchone()
        return datetime.fromisoformat(row[0]) if row and row[0] else None

    async def set_reminder_state(
        self, ids: list[int], state: str, *, sent_at: datetime | None = None
    ) -> None:
        """Move reminders to a new state (committed before returning)."""
        if not ids:
            return
        async with self.transaction() as db:
            await db.executemany(
                "UPDATE reminders SET state = ?, sent_at = COALESCE(?, sent_at),"
                " attempts = attempts + (? = 'sending') WHERE id = ?",
                [(state, _iso(sent_at) if sent_at else None, state, i) for i in ids],
            )

    async def claim(self, reminder_id: int, due_at: str) -> bool:
        """Mark a pending reminder 'sending' (committed); False if it is no longer pending at
        that moment (the merchant changed something since the pass read it: not sent now)."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE reminders SET state = 'sending', attempts = attempts + 1"
                " WHERE id = ? AND state = 'pending' AND due_at = ?",
                (reminder_id, due_at),
            )
            return cur.rowcount > 0

    async def recover_interrupted(self) -> int:
        """After a crash, a reminder left 'sending' may or may not have arrived: never resend."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE reminders SET state = 'uncertain' WHERE state = 'sending'"
            )
            return cur.rowcount

    async def set_reachable(self, user_id: int, reachable: bool) -> bool:
        """Mark a merchant (un)reachable; True if that changed anything."""
        async with self.transaction() as db:
            cur = await db.execute(
                "UPDATE merchants SET unreachable = ? WHERE user_id = ? AND unreachable = ?",
                (0 if reachable else 1, user_id, 1 if reachable else 0),
            )
            return cur.rowcount > 0

    async def is_unreachable(self, user_id: int) -> bool:
        """True if the merchant blocked the bot (as far as we know)."""
        async with self.db.execute(
            "SELECT unreachable FROM merchants WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return bool(row and row[0])

    async def stage_counts(
        self, exclude: frozenset[int] | set[int] | tuple[int, ...] = ()
    ) -> dict[str, Any]:
        """How many merchants per route and per status (for /stats); the users in `exclude`
        (the operators, BOT_ADMIN_IDS) are not merchants and are not counted."""
        ids = sorted({int(i) for i in exclude})
        others = f"user_id NOT IN ({', '.join('?' * len(ids))})" if ids else "1 = 1"

        async def one(sql: str) -> int:
            async with self.db.execute(sql, ids) as cur:
                row = await cur.fetchone()
            return int(row[0]) if row else 0

        result: dict[str, Any] = {
            "total": await one(f"SELECT COUNT(*) FROM merchants WHERE {others}")
        }
        for column in ("route", "status"):
            async with self.db.execute(
                f"SELECT COALESCE({column}, ''), COUNT(*) FROM merchants WHERE {others} GROUP BY 1",
                ids,
            ) as cur:
                result[column] = {row[0]: row[1] for row in await cur.fetchall()}
        result["unreachable"] = await one(
            f"SELECT COUNT(*) FROM merchants WHERE unreachable = 1 AND {others}"
        )
        result["pending_reminders"] = await one(
            f"SELECT COUNT(*) FROM reminders WHERE state = 'pending' AND {others}"
        )
        return result

    async def status_history(self, user_id: int) -> list[dict[str, Any]]:
        """Every recorded status change of a merchant, oldest first."""
        async with self.db.execute(
            "SELECT at, by, old, new, note FROM status_history WHERE user_id = ? ORDER BY id",
            (user_id,),
        ) as cur:
            return [dict(row) for row in await cur.fetchall()]

    async def export_merchant(self, user_id: int) -> dict[str, Any] | None:
        """Everything stored about a merchant except files (see bot.documents), as plain data.

        Who changed a status is given as a role (see export_role), never an operator's id.
        """
        async with self.db.execute("SELECT * FROM merchants WHERE user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        merchant = dict(row)
        merchant["state"] = json.loads(merchant["state"])
        history = [
            {**entry, "by": export_role(entry.get("by"))}
            for entry in await self.status_history(user_id)
        ]
        return {
            "merchant": merchant,
            "status_history": history,
            "reminders": await self.reminders_of(user_id),
        }

    async def erase_merchant(
        self,
        user_id: int,
        *,
        update_id: int | None = None,
        replies: list[dict[str, Any]] | None = None,
    ) -> None:
        """/deletedata, in one transaction: every row about the merchant (documents too), what
        their other updates still hold, and the update that asked marked applied with its reply;
        then a checkpoint so the deleted texts leave the files (scrub_deleted). The caller
        removes the files first: a crash in between leaves the update to be done again."""
        async with self.transaction() as db:
            for table in ("documents", *MERCHANT_TABLES):
                await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))
            await db.execute(
                "UPDATE updates SET payload = NULL, replies = NULL, user_id = NULL,"
                " state = CASE WHEN state = 'received' THEN 'answered' ELSE state END"
                " WHERE user_id = ? AND update_id IS NOT ?",
                (user_id, update_id),
            )
            if update_id is not None:
                await mark_applied(db, update_id, replies)
                await db.execute(
                    "UPDATE updates SET user_id = NULL WHERE update_id = ?", (update_id,)
                )
        await scrub_deleted(self)

    # --- updates (the inbox: each update takes effect exactly once) -------------------------

    async def receive_update(
        self, update_id: int, user_id: int | None, payload: str, now: datetime
    ) -> bool:
        """Record an update before it is confirmed to the Bot API; False if it was seen
        before (a redelivery: it is not handled again)."""
        async with self._write_lock:
            cur = await self.db.execute(
                "INSERT OR IGNORE INTO updates (update_id, user_id, payload, received_at)"
                " VALUES (?, ?, ?, ?)",
                (update_id, user_id, payload, _iso(now)),
            )
            return cur.rowcount > 0

    async def finish_update(self, update_id: int, state: str = "answered") -> None:
        """The update's replies went out (or finally failed): forget its contents."""
        async with self._write_lock:
            await self.db.execute(
                "UPDATE updates SET state = ?, payload = NULL, replies = NULL WHERE update_id = ?",
                (state, update_id),
            )

    async def keep_replies(self, update_id: int, replies: list[dict[str, Any]]) -> None:
        """The replies of an applied update that are still to be sent (after a partial resend)."""
        async with self._write_lock:
            await self.db.execute(
                "UPDATE updates SET replies = ? WHERE update_id = ?",
                (json.dumps(replies, ensure_ascii=False), update_id),
            )

    async def unfinished_updates(self) -> list[dict[str, Any]]:
        """Updates a stopped process left behind, oldest first: received (to handle) or
        applied (replies to send)."""
        rows = await self.db.execute_fetchall(
            "SELECT update_id, user_id, state, payload, replies FROM updates"
            " WHERE state IN ('received', 'applied') ORDER BY update_id"
        )
        return [dict(row) for row in rows]

    async def last_update_id(self) -> int | None:
        """The highest update_id ever received."""
        rows = await self.db.execute_fetchall("SELECT MAX(update_id) FROM updates")
        row = next(iter(rows), None)
        return int(row[0]) if row and row[0] is not None else None

    async def prune_updates(self, before: datetime) -> int:
        """Forget answered updates older than `before` (Telegram redelivers within a day)."""
        async with self._write_lock:
            cur = await self.db.execute(
                "DELETE FROM updates WHERE state IN ('answered', 'failed') AND received_at < ?",
                (_iso(before),),
            )
            return cur.rowcount

    async def chat_ids(self) -> list[int]:
        """The chat of every stored merchant."""
        rows = await self.db.execute_fetchall("SELECT chat_id FROM merchants")
        return [int(row[0]) for row in rows]

    async def count_merchants(self) -> int:
        """How many merchants are stored."""
        async with self.db.execute("SELECT COUNT(*) FROM merchants") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


async def mark_applied(
    db: aiosqlite.Connection, update_id: int, replies: list[dict[str, Any]] | None
) -> None:
    """Within a transaction: the update's effects are committed; its replies wait to be sent."""
    await db.execute(
        "UPDATE updates SET state = 'applied', payload = NULL, replies = ? WHERE update_id = ?",
        (json.dumps(replies or [], ensure_ascii=False), update_id),
    )


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no semicolons in literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
