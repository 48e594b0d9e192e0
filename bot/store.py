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

# Every table holding a merchant's rows, children first: /deletedata empties them all.
MERCHANT_TABLES = ("status_history", "merchants")  # documents: see bot.documents

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
        async with self.db.execute(
            "SELECT state FROM merchants WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            return MerchantState(user_id, created=True)
        return MerchantState(user_id, created=False, data=json.loads(row["state"]))

    async def save_merchant(
        self,
        state: MerchantState,
        *,
        chat_id: int,
        language: str | None,
        now: datetime,
        records: list[dict[str, Any]] | None = None,
    ) -> None:
        """Insert or update the merchant row and append its records, in one transaction."""
        data = state.data
        async with self.transaction() as db:
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
            await db.execute(
                """
                INSERT INTO merchants (user_id, chat_id, language, route, stage, status, state,
                                       created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (user_id) DO UPDATE SET
                    chat_id = excluded.chat_id, language = excluded.language,
                    route = excluded.route, stage = excluded.stage, status = excluded.status,
                    state = excluded.state, updated_at = excluded.updated_at
                """,
                (
                    state.user_id,
                    chat_id,
                    language,
                    data.get("route"),
                    data.get("stage"),
                    data.get("status"),
                    json.dumps(data, ensure_ascii=False, sort_keys=True),
                    _iso(now),
                    _iso(now),
                ),
            )

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
        return {"merchant": merchant, "status_history": await self.status_history(user_id)}

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
