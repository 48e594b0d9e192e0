"""PostgreSQL behind the same small connection interface the store uses on SQLite (aiosqlite's).

The store is written against aiosqlite's `Connection`: `execute` (awaited, or used with
`async with` for its cursor), `execute_fetchall`, `executemany`, rows readable by position and
by column name. `PgConnection` offers exactly that over a psycopg 3 connection pool, so the
store's code and SQL serve both databases: statements are written with `?` placeholders and
portable SQL (`INSERT … ON CONFLICT`, `RETURNING`), and `?` becomes psycopg's `%s` here.

Outside a transaction each statement runs on a pooled connection in autocommit; `transaction`
holds one connection for BEGIN … COMMIT (rolled back on any error) and yields a PgConnection
bound to it.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool

from bot.dbapi import Cursor, Result

_PLACEHOLDER = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")
_TRANSLATED: dict[str, str] = {}


def translate(sql: str) -> str:
    """`?` placeholders → `%s`, and every literal `%` → `%%` (psycopg reads `%` even inside
    quoted strings); a `?` inside a quoted string or name stays as it is."""
    done = _TRANSLATED.get(sql)
    if done is None:

        def swap(match: re.Match[str]) -> str:
            token = match.group(0)
            return "%s" if token == "?" else token.replace("%", "%%")

        done = _TRANSLATED[sql] = _PLACEHOLDER.sub(swap, sql)
    return done


class Row(tuple[Any, ...]):
    """A result row readable like sqlite3.Row: by position, by column name, keys()."""

    _names: dict[str, int]

    def __new__(cls, names: dict[str, int], values: Sequence[Any]) -> Row:
        row = super().__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


def _row_factory(cursor: psycopg.AsyncCursor[Any]) -> Any:
    names = {d.name: i for i, d in enumerate(cursor.description or ())}
    return lambda values: Row(names, values)


class PgConnection:
    """aiosqlite's Connection interface over a pool (or one connection in a transaction)."""

    dialect = "postgresql"

    def __init__(
        self, pool: AsyncConnectionPool, bound: psycopg.AsyncConnection[Any] | None = None
    ):
        self.pool = pool
        self._bound = bound

    @classmethod
    async def open(cls, url: str, *, min_size: int = 1, max_size: int = 10) -> PgConnection:
        """A pool of connections to the database at `url` (postgresql://…)."""
        pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            kwargs={"autocommit": True, "row_factory": _row_factory},
            open=False,
        )
        await pool.open(wait=True, timeout=10)
        return cls(pool)

    async def close(self) -> None:
        await self.pool.close()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return Result(self._run, sql, params)

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cursor = await self._run(sql, params)
        return await cursor.fetchall()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        query = translate(sql)
        async with self._connection() as conn:
            async with conn.cursor() as cur:
                await cur.executemany(query, list(rows))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgConnection]:
        """BEGIN … COMMIT on one pooled connection; rolled back on any error."""
        if self._bound is not None:
            raise RuntimeError("already in a transaction")
        async with self.pool.connection() as conn:
            async with conn.transaction():
                yield PgConnection(self.pool, conn)

    async def _run(self, sql: str, params: Sequence[Any]) -> Cursor:
        async with self._connection() as conn:
            async with conn.cursor() as cur:
                if params:
                    await cur.execute(translate(sql), tuple(params))
                else:  # as written: no placeholders, and several statements may follow
                    await cur.execute(sql.encode())
                rows = await cur.fetchall() if cur.description else []
                return Cursor(rows, cur.rowcount)

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if self._bound is not None:
            yield self._bound
        else:
            async with self.pool.connection() as conn:
                yield conn


# --- the schema ---------------------------------------------------------------------------
# bot/migrations/postgresql/ holds the PostgreSQL twin of every numbered SQLite migration (same
# numbers, same tables and columns). They are applied at start-up in one transaction under an
# advisory lock, so replicas starting together apply them once, one after the other.

MIGRATION_LOCK = 0x6D62_0001  # pg_advisory_xact_lock key: "mb" 1


def migrations() -> list[tuple[int, str, str]]:
    """(number, name, sql) of every PostgreSQL migration, in order."""
    from bot.schema import migrations as shipped

    return shipped("postgresql")


async def migrate(conn: PgConnection) -> int:
    """Apply the migrations the database does not have yet; how many were applied."""
    async with conn.transaction() as tx:
        await tx.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK,))
        await tx.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        rows = await tx.execute_fetchall("SELECT version FROM schema_version")
        current = int(rows[0][0]) if rows else 0
        pending = [(n, sql) for n, _, sql in migrations() if n > current]
        for _number, sql in pending:
            await tx.execute(sql)
        if pending:
            await tx.execute("DELETE FROM schema_version")
            await tx.execute("INSERT INTO schema_version (version) VALUES (?)", (pending[-1][0],))
        return len(pending)


# --- one merchant at a time across replicas -------------------------------------------------


class MerchantLocks:
    """A session-level advisory lock per merchant, so that replicas sharing the database
    handle one merchant's updates one after the other (bot.runtime.KeyedLocks takes it after
    the process's own lock: one session per merchant in progress, not per waiting update).

    The sessions come from a pool of their own: a holder needs the store's pool for its
    statements meanwhile, and sharing one pool could leave every connection waiting for a
    lock whose holder waits for a connection. A replica that dies closes its sessions; the
    server then frees their locks. Keys use the two-int4 key space of pg_advisory_lock, which
    never meets the single-bigint keys of the migrations and the scheduler (bot.leader)."""

    def __init__(self, conninfo: str, *, max_size: int = 32) -> None:
        self.pool = AsyncConnectionPool(
            conninfo, min_size=1, max_size=max_size, kwargs={"autocommit": True}, open=False
        )
        self._opened = False

    @staticmethod
    def key(user_id: int) -> tuple[int, int]:
        """A Telegram id (up to 52 bits) as two signed int4."""

        def int4(bits: int) -> int:
            return bits - (1 << 32) if bits >= 1 << 31 else bits

        return int4((user_id >> 32) & 0xFFFF_FFFF), int4(user_id & 0xFFFF_FFFF)

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        if not self._opened:
            self._opened = True
            await self.pool.open(wait=True, timeout=10)
        async with self.pool.connection() as conn:
            await conn.execute("SELECT pg_advisory_lock(%s, %s)", self.key(user_id))
            try:
                yield
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s, %s)", self.key(user_id))

    async def close(self) -> None:
        if self._opened:
            await self.pool.close()
