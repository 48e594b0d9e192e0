"""The store: SQLite (WAL mode) by default, PostgreSQL when BOT_DATABASE is a postgresql://
URL (bot.pgdb, the same connection interface and SQL); numbered migrations at start-up, one
transaction per change. On SQLite the writes and an update's own reads run on the event loop
(bot.sqlitedb, `hot`), the slow reads in aiosqlite's thread (`db`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.reminderlog import ReminderLog
from bot.schema import (
    DatabaseRefused,
    check_database,
    forget_closed,
    mark_closed,
    migrations,
    one_line,
    refused,
    split_sql,
)
from bot.sqlitedb import LoopConnection
from bot.updatelog import UpdateLog, mark_applied
from flows.core import MerchantState, StatusChange
from flows.reminders import Planned

# Every table holding a merchant's rows, children first: /deletedata empties them all.
log = logging.getLogger(__name__)

# documents: see bot.documents; console_seen: when an operator last opened the merchant's page.
# review_results, merchant_progress, merchant_search, upload_latest: the console's funnel,
# search and queue (migration 0007).
MERCHANT_TABLES = (
    "reminders",
    "status_history",
    "console_seen",
    "review_results",
    "merchant_progress",
    "merchant_search",
    "upload_latest",
    "merchants",
)
# A review result an operator records (the console's funnel): from a status under review.
RESULTS = ("approved", "rejected", "need_more")
UNDER_REVIEW = ("submitted", "reviewing", "need_more")


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text for storage."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


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
    -wal file to zero bytes. True when it completed; False (logged) when a reader held it back.

    SQLite runs one checkpoint at a time and refuses a second at once, so it runs on the
    checkpoint thread (bot.sqlitedb.Checkpointer), after a PASSIVE one in flight there.
    """
    if store.dialect != "sqlite":
        return True  # PostgreSQL keeps no WAL copy in the database's own files to checkpoint
    checkpointer = getattr(store.hot, "checkpointer", None)
    async with store._write_lock:  # no transaction of another task is open meanwhile
        if checkpointer is not None:
            rows = await checkpointer.truncate()
        else:  # a database in memory
            rows = await store.db.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
    row = next(iter(rows), None)
    if row is not None and row[0]:
        log.warning("deleted data may stay in the WAL until the next checkpoint (busy)")
        return False
    return True


def is_postgresql(target: Path | str) -> bool:
    """Whether BOT_DATABASE names a PostgreSQL database (a postgresql:// URL)."""
    return str(target).startswith(("postgresql://", "postgres://"))


async def _has_table(db: Any, name: str) -> bool:
    """Whether a PostgreSQL table exists (before the first migration it does not)."""
    rows = await db.execute_fetchall("SELECT to_regclass(?) IS NOT NULL", (name,))
    return bool(rows and rows[0][0])


def _is_result(change: StatusChange) -> bool:
    """A review result recorded by an operator for a submission under review."""
    return (
        change.new in RESULTS
        and change.old in UNDER_REVIEW
        and str(change.by).startswith("operator")
    )


def merchant_state(user_id: int, row: Any | None) -> MerchantState:
    """The merchant's state from their row (state, unreachable); a fresh one (created=True)
    when there is none."""
    if row is None:
        return MerchantState(user_id, created=True)
    return MerchantState(
        user_id,
        created=False,
        data=json.loads(row["state"]),
        unreachable=bool(row["unreachable"]),
    )


class Store(ReminderLog, UpdateLog):
    """All database access of the bot."""

    def __init__(self, db: Any, dialect: str = "sqlite", hot: LoopConnection | None = None) -> None:
        # aiosqlite's Connection, or bot.pgdb.PgConnection (the same interface)
        self.db = db
        # SQLite: the bot's writes and an update's own reads run on the event loop
        # (bot.sqlitedb); the rest (the console, the scheduler's scans) in aiosqlite's thread.
        self.hot: Any = hot or db
        self.dialect = dialect
        self.path: Path | None = None  # SQLite's file, marked when closed cleanly (bot.schema)
        # PostgreSQL: one merchant at a time across replicas (bot.pgdb.MerchantLocks)
        self._merchant_locks: Any = None
        if dialect == "postgresql":
            from bot.pgdb import MerchantLocks

            self._merchant_locks = MerchantLocks(db.pool.conninfo)
        self.merchant_locks = self._merchant_locks.hold if self._merchant_locks else None
        self.owner: int | None = None  # set while serving on PostgreSQL (bot.replica)
        self.liveness: Any = None  # bot.replica.Liveness, let go at close
        # SQLite: one shared connection, one writer at a time. PostgreSQL: each statement or
        # transaction takes its own pooled connection and the server orders the writes.
        self._write_lock: Any = asyncio.Lock() if dialect == "sqlite" else contextlib.nullcontext()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database and apply pending migrations.

        A file that is not SQLite, is damaged, belongs to another program or to a newer
        merchant-bot is refused (DatabaseRefused, see check_database) before anything is
        written to it. A postgresql:// URL opens a PostgreSQL database instead.
        """
        if is_postgresql(path):
            return await cls._open_postgresql(str(path))
        if str(path) == ":memory:":  # one connection: a second would be another database
            hot = LoopConnection(":memory:")
            store = cls(hot, hot=hot)
            await store.migrate()
            return store
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(check_database, path)
        forget_closed(path)  # until this store closes it cleanly
        db = await aiosqlite.connect(str(path), isolation_level=None)
        loop_conn: LoopConnection | None = None
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
            loop_conn = LoopConnection(str(path))
            store = cls(db, hot=loop_conn)
            await store.migrate()
            store.path = Path(path)
        except BaseException as exc:
            await db.close()  # its thread would otherwise keep the process from exiting
            if loop_conn is not None:
                await loop_conn.close()
            if isinstance(exc, sqlite3.Error):
                raise refused(path, f"cannot be prepared ({one_line(str(exc))})") from None
            raise
        return store

    @classmethod
    async def _open_postgresql(cls, url: str) -> Store:
        """A pool to the PostgreSQL database; its migrations applied under a lock (replicas
        starting together apply them once)."""
        from bot import pgdb

        db = await pgdb.PgConnection.open(url)
        store = cls(db, "postgresql")
        try:
            current = await store.schema_version()
            known = len(pgdb.migrations())
            if current > known:
                raise DatabaseRefused(
                    f"BOT_DATABASE: schema version {current} is newer than this merchant-bot"
                    f" knows ({known})"
                )
            await pgdb.migrate(db)
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        """Close the connections."""
        if self.liveness is not None:
            await self.liveness.stop()
        if self._merchant_locks is not None:
            await self._merchant_locks.close()
        await self.db.close()
        if self.hot is not self.db:  # SQLite's event-loop connection
            await self.hot.close()
        if self.path is not None:
            mark_closed(self.path)  # the next start need not read the whole file again

    async def write(self, sql: str, params: Any = ()) -> Any:
        """One statement that writes, committed on its own (autocommit): one step instead of
        BEGIN … COMMIT. On SQLite the lock keeps it out of another task's open transaction on
        the shared connection."""
        async with self._write_lock:
            return await self.hot.execute(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """BEGIN … COMMIT, rolled back on any error.

        SQLite: all tasks share one connection, so transactions are serialised by a lock (two
        merchants saving at the same moment must not nest their BEGINs), and BEGIN IMMEDIATE
        takes the write lock at once. PostgreSQL: one pooled connection per transaction."""
        if self.dialect != "sqlite":
            async with self.db.transaction() as tx:
                yield tx
            return
        async with self._write_lock:
            await self.hot.execute("BEGIN IMMEDIATE")
            try:
                yield self.hot
            except BaseException:
                await self.hot.execute("ROLLBACK")
                raise
            await self.hot.execute("COMMIT")

    async def schema_version(self) -> int:
        """The number of the last migration applied."""
        if self.dialect != "sqlite":
            if not await _has_table(self.db, "schema_version"):
                return 0
            rows = await self.db.execute_fetchall("SELECT version FROM schema_version")
            return int(rows[0][0]) if rows else 0
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
                for statement in split_sql(sql):
                    await db.execute(statement)
                await db.execute(f"PRAGMA user_version = {number}")
            current = number
        return current

    # --- merchants -------------------------------------------------------------------------

    async def load_merchant(self, user_id: int) -> MerchantState:
        """The merchant's state; a fresh one (created=True) when never seen."""
        rows = await self.hot.execute_fetchall(
            "SELECT state, unreachable FROM merchants WHERE user_id = ?", (user_id,)
        )
        return merchant_state(user_id, next(iter(rows), None))

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
            # the common case: one statement, atomic and committed on its own
            await self.write(*upsert)
            return
        async with self.transaction() as db:
            if plan is not None:
                await self._reconcile(db, state.user_id, plan, now)
            await db.executemany(
                "INSERT INTO status_history (user_id, at, by, old, new, note)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [(state.user_id, _iso(now), r.by, r.old, r.new, r.note) for r in records or ()],
            )
            results = [r for r in records or () if _is_result(r)]
            if results:
                await db.executemany(
                    "INSERT INTO review_results (user_id, route, result, first, submitted_on,"
                    " decided_on) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (
                            state.user_id,
                            data.get("route"),
                            r.new,
                            int(r.old != "need_more"),  # 1: a first decision
                            data.get("submitted_on"),
                            data.get("status_on") or now.date().isoformat(),
                        )
                        for r in results
                    ],
                )
            await db.execute(*upsert)
            if update_id is not None:
                await mark_applied(db, update_id, replies)

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
                " WHERE user_id = ? AND update_id IS DISTINCT FROM ?",
                (user_id, update_id),
            )
            if update_id is not None:
                await mark_applied(db, update_id, replies)
                await db.execute(
                    "UPDATE updates SET user_id = NULL WHERE update_id = ?", (update_id,)
                )
        await scrub_deleted(self)

    async def chat_ids(self) -> list[int]:
        """The chat of every stored merchant."""
        rows = await self.db.execute_fetchall("SELECT chat_id FROM merchants")
        return [int(row[0]) for row in rows]

    async def count_merchants(self) -> int:
        """How many merchants are stored."""
        async with self.db.execute("SELECT COUNT(*) FROM merchants") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
