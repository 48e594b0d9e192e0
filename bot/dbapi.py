"""The small connection interface the store is written against (aiosqlite's), for the two
connections that are not aiosqlite: bot.sqlitedb (SQLite on the event loop) and bot.pgdb
(PostgreSQL). A statement's result is read in full when it runs, then handed out as a Cursor.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any


class Cursor:
    """What a statement left: its rows (if it returned any) and rowcount."""

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    async def fetchone(self) -> Any | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        return rows

    async def close(self) -> None:
        self._rows = []


class Result:
    """`await conn.execute(…)` or `async with conn.execute(…) as cur`, as in aiosqlite."""

    def __init__(
        self, run: Callable[[str, Sequence[Any]], Awaitable[Cursor]], sql: str, params: Any
    ) -> None:
        self._run, self._sql, self._params = run, sql, params
        self._cursor: Cursor | None = None

    def __await__(self) -> Any:
        return self._run(self._sql, self._params).__await__()

    async def __aenter__(self) -> Cursor:
        self._cursor = await self._run(self._sql, self._params)
        return self._cursor

    async def __aexit__(self, *exc: object) -> None:
        if self._cursor is not None:
            await self._cursor.close()
