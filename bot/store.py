"""The aiosqlite store: WAL mode, numbered migrations at start-up, one transaction per change."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite

from flows.core import MerchantState
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


class Store:
    """All database access of the bot."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path | str) -> Store:
        """Open (creating if needed) the database and apply pending migrations."""
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(str(path), isolation_level=None)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db)
        await store.migrate()
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
        records: list[dict[str, Any]] | None = None,
        plan: list[Planned] | None = None,
        stage: str | None = None,
        from_merchant: bool = True,
    ) -> None:
        """Insert or update the merchant row, append its records and reconcile its reminders
        with the plan (when given), all in one transaction."""
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
        if plan is None and not records:
            # The common case is one statement, atomic and committed on its own (autocommit):
            # one round trip instead of BEGIN … COMMIT. The lock keeps it out of another
            # task's open transaction on this shared connection.
            async with self._write_lock:
                await self.db.execute(*upsert)
            return
        async with self.transaction() as db:
            if plan is not None:
                await self._reconcile(db, state.user_id, plan, now)
            for record in records or ():
                if record.get("kind") == "status":
                    await db.execute(
                        "INSERT INTO status_history (user_id, at, by, old, new, note)"
                        " VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            state.user_id,
                            _iso(now),
                            str(record.get("by", "")),
                            record.get("old"),
                            record["new"],
                            str(record.get("note", "")),
                        ),
                    )
            await db.execute(*upsert)

    async def _reconcile(
        self, db: aiosqlite.Connection, user_id: int, plan: list[Planned], now: datetime
    ) -> None:
        """Make the pending reminders equal the plan: add new keys, move changed due times,
        revive cancelled ones that are planned again, cancel pending ones no longer planned."""
        keys = [p.key for p in plan]
        # A reminder whose moment has already passed when it is first planned (a submission
        # recorded late) is moot: the screen the merchant sees now says the same. It is kept
        # as 'skipped' so that it is never sent later either.
        await db.executemany(
            """
            INSERT INTO reminders (user_id, key, kind, chain, due_at, data, created_at, state)
            VALUES (?, ?, ?, ?, ?, ?, ?, CASE WHEN ? THEN 'skipped' ELSE 'pending' END)
            ON CONFLICT (user_id, key) DO UPDATE SET due_at = excluded.due_at,
                data = excluded.data,
                -- unchanged due time: a pending reminder stays pending even if overdue
                -- (it fell due while the bot was down and must still be delivered)
                state = CASE WHEN reminders.due_at = excluded.due_at THEN reminders.state
                             ELSE excluded.state END
            WHERE reminders.state = 'pending'
               OR (reminders.state = 'cancelled' AND excluded.state = 'pending')
            """,
            [
                (
                    user_id,
                    p.key,
                    p.kind,
                    p.chain,
                    _iso(p.due),
                    json.dumps(p.data),
                    _iso(now),
                    p.due < now,
                )
                for p in plan
            ],
        )
        marks = ",".join("?" * len(keys))
        await db.execute(
            f"UPDATE reminders SET state = 'cancelled' WHERE user_id = ? AND state = 'pending'"
            f" AND key NOT IN ({marks})"
            if keys
            else "UPDATE reminders SET state = 'cancelled' WHERE user_id = ? AND state = 'pending'",
            (user_id, *keys),
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

    async def stage_counts(self) -> dict[str, Any]:
        """How many merchants per route and per status (for /stats)."""
        result: dict[str, Any] = {"total": await self.count_merchants()}
        for column in ("route", "status"):
            async with self.db.execute(
                f"SELECT COALESCE({column}, ''), COUNT(*) FROM merchants GROUP BY 1"
            ) as cur:
                result[column] = {row[0]: row[1] for row in await cur.fetchall()}
        async with self.db.execute("SELECT COUNT(*) FROM merchants WHERE unreachable = 1") as cur:
            row = await cur.fetchone()
        result["unreachable"] = int(row[0]) if row else 0
        async with self.db.execute("SELECT COUNT(*) FROM reminders WHERE state = 'pending'") as cur:
            row = await cur.fetchone()
        result["pending_reminders"] = int(row[0]) if row else 0
        return result

    async def status_history(self, user_id: int) -> list[dict[str, Any]]:
        """Every recorded status change of a merchant, oldest first."""
        async with self.db.execute(
            "SELECT at, by, old, new, note FROM status_history WHERE user_id = ? ORDER BY id",
            (user_id,),
        ) as cur:
            return [dict(row) for row in await cur.fetchall()]

    async def export_merchant(self, user_id: int) -> dict[str, Any] | None:
        """Everything stored about a merchant except files (see bot.documents), as plain data."""
        async with self.db.execute("SELECT * FROM merchants WHERE user_id = ?", (user_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            return None
        merchant = dict(row)
        merchant["state"] = json.loads(merchant["state"])
        return {
            "merchant": merchant,
            "status_history": await self.status_history(user_id),
            "reminders": await self.reminders_of(user_id),
        }

    async def delete_merchant(self, user_id: int) -> None:
        """Remove every row about a merchant (files are removed by bot.documents)."""
        async with self.transaction() as db:
            for table in MERCHANT_TABLES:
                await db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user_id,))

    async def count_merchants(self) -> int:
        """How many merchants are stored."""
        async with self.db.execute("SELECT COUNT(*) FROM merchants") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no semicolons in literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
