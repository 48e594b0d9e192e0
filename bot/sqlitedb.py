"""SQLite on the event loop's own thread, for the statements of one update.

aiosqlite runs every statement in its thread: each one is a queue hop there and a callback
back, and under load the answer then waits for the GIL held by the loop (up to Python's 5 ms
switch interval). One update used to make eight such hops (record, load, BEGIN, records,
upsert, mark applied, COMMIT, finish) for statements that take microseconds in SQLite itself
(WAL, synchronous=NORMAL: a commit writes to the WAL without an fsync). `LoopConnection` runs
them directly, with aiosqlite's interface (`await conn.execute(…)`, `execute_fetchall`,
`executemany`), so the store's code and SQL stay the same on every connection.

What it must not do is wait long. The bot's own writes all go through this one connection
under the store's write lock, so inside the process there is never a lock to wait for, and the
slow statements (the console's pages, the scheduler's scans) stay on aiosqlite's thread. One
commit in a few hundred crosses SQLite's automatic checkpoint (1,000 pages of WAL) and copies
them into the database with an fsync: a few milliseconds on the loop (measured here: p99.9 of
a commit 3.5 ms, against 0.02 ms for the others). A checkpoint in another thread was tried
and starved: under steady writes it never caught up with the end of the WAL, which then grew
without bound. Another process writing the same file (a `merchant-bot` command) can still
hold the loop for the moment its own write takes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from bot.dbapi import Cursor, Result


class LoopConnection:
    """A sqlite3 connection used only on the event loop's thread, behind aiosqlite's
    interface; every call completes before it returns (nothing is awaited)."""

    def __init__(self, path: str) -> None:
        # check_same_thread (the default) makes any use from another thread an error
        self.conn = sqlite3.connect(path, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=5000",
            "secure_delete=ON",  # see Store.open
        ):
            self.conn.execute(f"PRAGMA {pragma}")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return Result(self._run, sql, params)

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    async def _run(self, sql: str, params: Sequence[Any]) -> Cursor:
        cur = self.conn.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        return Cursor(rows, cur.rowcount)

    async def close(self) -> None:
        self.conn.close()
