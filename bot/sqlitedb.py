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
slow statements (the console's pages, the scheduler's scans) stay on aiosqlite's thread.

Checkpoints (copying the WAL's frames into the database, with an fsync) are the one slow part
of a write: about 16 µs a frame, so SQLite's automatic checkpoint at 1,000 frames held the
loop 15–30 ms once every few hundred commits, and that was the tail of `/status` (p99 11.8 ms
against 4.3 ms without it, 20,000 merchants). `Checkpointer` now copies them in a thread of
its own: one after every 64 commits, or a quarter of a second after the last commit when
fewer came (PASSIVE: it never blocks a writer, and the fsync releases the GIL). Each costs
about a millisecond of CPU, mostly the kernel's fsync, so they are counted in commits: one
every 10 ms cost 16 % more CPU per update at one merchant, and ten a second 9 % more per
reminder in the fan-out. SQLite's automatic checkpoint stays on the loop's connection as the
backstop: under steady writes the WAL never empties by itself (frames keep arriving while
the thread copies), so at 1,000 frames the loop checkpoints what the thread has not copied
yet (at most 64 commits' worth, not the whole WAL) and the WAL starts again from the top.
Measured at 20,000 merchants, `/status` p99 11.8 → 5.5 ms. Without that backstop a thread
alone was tried before and starved: the WAL grew without bound.
Another process writing the same file (a `merchant-bot` command) can still hold the loop for
the moment its own write takes.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.dbapi import Cursor, Result

log = logging.getLogger(__name__)


class Checkpointer:
    """PASSIVE checkpoints of one database file in a thread of its own (see above): one
    after every `BATCH` commits of the loop's connection, or `IDLE` after the last commit
    when fewer came; never two at once (SQLite refuses a second one: `truncate` runs on the
    same thread too)."""

    # commits: one fsync for that many. 64 let the WAL pass SQLite's 1,000-frame backstop at
    # scale, so the loop checkpointed again (/status p99 13.7 ms at 1,000,000; 5.9 with 16)
    BATCH = 16
    IDLE = 0.25  # s

    def __init__(self, path: str) -> None:
        self.path = path
        self.runs = 0
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        self._conn: sqlite3.Connection | None = None  # opened and used in that thread only
        self._commits = 0  # since the last checkpoint started
        self._last = 0.0  # the loop's time of the last commit
        self._timer: asyncio.TimerHandle | None = None
        self._running: asyncio.Future[None] | None = None
        self._closed = False

    def committed(self) -> None:
        """The loop's connection committed a write."""
        self._commits += 1
        self._last = asyncio.get_running_loop().time()
        self._next()

    def _next(self) -> None:
        if self._closed or self._running is not None or not self._commits:
            return
        if self._commits >= self.BATCH:
            self._start()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.IDLE, self._idle)

    def _idle(self) -> None:
        """IDLE after the first of fewer than BATCH commits: start once IDLE passed since
        the last one (a steady trickle reaches BATCH first)."""
        self._timer = None
        loop = asyncio.get_running_loop()
        wait = self._last + self.IDLE - loop.time()
        if wait > 0 and not self._closed:
            self._timer = loop.call_later(wait, self._idle)
        else:
            self._start()

    def _start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._closed or self._running is not None:
            return
        self._commits = 0
        self._running = asyncio.get_running_loop().run_in_executor(self._pool, self._checkpoint)
        self._running.add_done_callback(self._done)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        return self._conn

    def _checkpoint(self) -> None:
        self._connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.runs += 1

    async def truncate(self) -> list[Any]:
        """PRAGMA wal_checkpoint(TRUNCATE) on this thread, after the PASSIVE one in flight
        (bot.store.scrub_deleted; the caller holds the store's write lock); its row."""

        def run() -> list[Any]:
            return self._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

        return await asyncio.get_running_loop().run_in_executor(self._pool, run)

    def _done(self, fut: asyncio.Future[None]) -> None:
        self._running = None
        if not fut.cancelled() and fut.exception() is not None:
            # a busy or failing checkpoint loses nothing: the loop's own one is the backstop
            log.warning("background checkpoint failed: %s", fut.exception())
        self._next()  # the commits that came meanwhile

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    async def close(self) -> None:
        """After the one running (if any); its connection closed in its own thread."""
        if self._closed:
            return
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._running is not None:
            await asyncio.wait([self._running])
        await asyncio.get_running_loop().run_in_executor(self._pool, self._close_conn)
        self._pool.shutdown(wait=True)


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
        self.checkpointer = Checkpointer(path) if path != ":memory:" else None
        self._changes = self.conn.total_changes

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        return Result(self._run, sql, params)

    async def execute_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        rows = self.conn.execute(sql, params).fetchall()
        self._after()
        return rows

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)
        self._after()

    async def _run(self, sql: str, params: Sequence[Any]) -> Cursor:
        cur = self.conn.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        self._after()
        return Cursor(rows, cur.rowcount)

    def _after(self) -> None:
        """A write committed (outside a transaction, changes counted): checkpoint it soon."""
        if self.checkpointer is None or self.conn.in_transaction:
            return
        changes = self.conn.total_changes
        if changes != self._changes:
            self._changes = changes
            self.checkpointer.committed()

    async def close(self) -> None:
        try:
            if self.checkpointer is not None:
                await self.checkpointer.close()
        finally:
            self.conn.close()
