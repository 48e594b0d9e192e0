"""Which process delivers the reminders: one scheduler leader per database.

SQLite is one process, and it always leads (`Lease`). On PostgreSQL every replica runs a
scheduler and one of them leads (`PgLease`): the one whose own connection (outside the pool)
holds the session-level advisory lock LEADER_LOCK. Only the leader runs passes, so its one
limiter paces every reminder of every replica (30/s overall, 1/s per chat).

- Election: each replica tries `pg_try_advisory_lock` every RETRY seconds. When the leader's
  process dies, its connection closes and the server frees the lock; the next try wins, so
  another replica leads within about RETRY seconds (a machine that vanishes without closing
  its sockets is noticed by the server's TCP keepalives, set low on this connection: ~11 s).
- Fencing: a reminder is claimed (pending → 'sending') through the lock's own session, right
  before its request. A session-level lock lives exactly as long as its session, so a claim
  that succeeds was made by the leader; a leader whose connection dropped (process alive)
  cannot claim any more and stops sending. It reconnects and tries again as a follower.
- Taking over: the new leader marks the reminders left 'sending' 'uncertain' (they may have
  arrived: never resent) — only then, never at a follower's start, which would touch the live
  leader's sends. Having waited for the lock, it also waits one per-chat interval before its
  first send, so that its sends and the old leader's last ones never add up above the limits.
- Waking: a follower whose merchant's plan changed sends NOTIFY on CHANNEL (coalesced); the
  leader LISTENs on its lock connection, where notifications are read with each heartbeat
  (every HEARTBEAT seconds) or claim. A plan change on any replica is seen within a second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when a PgLease is made: SQLite starts without psycopg
    import psycopg

log = logging.getLogger(__name__)

LEADER_LOCK = 0x6D62_0002  # pg_try_advisory_lock key: "mb" 2 (1 is the migrations' lock)
CHANNEL = "merchant_bot_reminders"
RETRY = 1.0  # seconds between a follower's tries for the lock
HEARTBEAT = 1.0  # seconds between the leader's checks that its session is alive
TIMEOUT = 5.0  # seconds a statement on the lock's session may take before it counts as lost
# The server notices a peer that vanished (no FIN) after idle + interval × count seconds.
KEEPALIVE = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"


class Lease:
    """One process alone (SQLite): it always leads, from `start` on."""

    def __init__(self) -> None:
        self.leading = True
        self.term = 0  # +1 each time this process becomes the leader (0: never started)
        self.took_over = False  # became the leader after waiting for another
        self.on_change: Callable[[], None] = lambda: None  # leadership or plan changed

    def holds(self, term: int) -> bool:
        """Still the leader of that term."""
        return self.leading and self.term == term

    async def start(self) -> None:
        self.term = 1

    async def elected(self) -> None:
        """Return once this process leads."""

    async def claim(self, store: Any, reminder_id: int, due_at: str, term: int) -> bool:
        """Mark a pending reminder 'sending' as the leader of `term` (see Store.claim)."""
        return bool(await store.claim(reminder_id, due_at))

    async def recover(self, store: Any) -> int | None:
        """Mark the reminders an earlier leader left 'sending' 'uncertain' (how many; None if
        the lead was lost meanwhile)."""
        return int(await store.recover_interrupted())

    def announce(self) -> None:
        """Tell the leader that a plan changed (it is this process: nothing to do)."""

    async def stop(self) -> None:
        """Give up the lead."""


class PgLease(Lease):
    """The leader lock on PostgreSQL (see the module docstring)."""

    def __init__(
        self,
        store: Any,
        *,
        retry: float = RETRY,
        heartbeat: float = HEARTBEAT,
        timeout: float = TIMEOUT,
    ) -> None:
        import psycopg

        super().__init__()
        self._failures = (psycopg.Error, OSError, TimeoutError)  # the session is gone
        self.store = store
        self.leading = False
        self.retry, self.heartbeat, self.timeout = retry, heartbeat, timeout
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._tries = 0
        self._lost_at = -float("inf")  # loop time of the last failure of the session
        self._elected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._announcing: asyncio.Task[None] | None = None
        self._again = False
        self._stopping = False

    @property
    def backend_pid(self) -> int | None:
        """The server process of the lock's session (None when not connected)."""
        return self._conn.info.backend_pid if self._conn is not None else None

    async def start(self) -> None:
        """Try once now (a lone replica leads from its first pass), then keep trying."""
        self._stopping = False
        await self._attempt()
        self._task = asyncio.create_task(self._keep(), name="reminder-leader-lease")

    async def elected(self) -> None:
        await self._elected.wait()

    async def _keep(self) -> None:
        """Followers try for the lock; the leader checks that its session is alive."""
        while not self._stopping:  # the flag too: a library may swallow the cancellation
            await asyncio.sleep(self.heartbeat if self.leading else self.retry)
            await self._attempt()

    async def _attempt(self) -> None:
        """One try for the lock, or one heartbeat while holding it."""
        conn = self._conn
        loop = asyncio.get_running_loop()
        if conn is None and loop.time() - self._lost_at < self.retry:
            return  # a whole retry interval after a failure: a healthy replica goes first
        try:
            if conn is None:
                from psycopg import AsyncConnection

                async with asyncio.timeout(self.timeout):
                    conn = self._conn = await AsyncConnection.connect(
                        self.store.db.pool.conninfo,
                        autocommit=True,
                        connect_timeout=max(2, int(self.timeout)),
                        options=KEEPALIVE,
                    )
                conn.add_notify_handler(lambda _notify: self.on_change())
            self._tries += 1
            if self.leading:
                await self._run(conn, "SELECT 1")  # also reads the notifications that came
                return
            [won] = await self._run(conn, "SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK,))
            if won:
                await self._run(conn, f"LISTEN {CHANNEL}")
                self._won()
        except self._failures as exc:
            await self._lose(conn, exc)

    async def _run(self, conn: psycopg.AsyncConnection[Any], sql: Any, params: Any = ()) -> Any:
        """One statement on the lock's session, within the timeout; its first row."""
        async with asyncio.timeout(self.timeout):
            cur = await conn.execute(sql, params)
            return await cur.fetchone() if cur.description else None

    def _won(self) -> None:
        self.leading = True
        self.term += 1
        self.took_over = self._tries > 1  # another held it, or this process lost it before
        self._elected.set()
        log.info("this process now delivers the reminders (term %d)", self.term)
        self.on_change()

    async def _lose(self, conn: psycopg.AsyncConnection[Any] | None, exc: BaseException) -> None:
        """The session failed: whatever it held is gone. Close it; try again later."""
        if conn is None or self._conn is not conn:
            return  # already handled (a claim and the heartbeat may both see it)
        was_leading, self.leading, self._conn = self.leading, False, None
        self._lost_at = asyncio.get_running_loop().time()
        self._elected.clear()
        try:
            await conn.close()
        except Exception:  # noqa: S110 - closing a broken connection may fail too
            pass
        if was_leading:
            log.warning("lost the reminder lead (%s): no more sends from this process", exc)
            self.on_change()
        else:
            log.info("reminder leader lock unavailable (%s); trying again", exc)

    async def claim(self, store: Any, reminder_id: int, due_at: str, term: int) -> bool:
        """Claim through the lock's own session: only the live leader of `term` can."""
        from bot.pgdb import PgConnection

        conn = self._conn
        if conn is None or not self.holds(term):
            return False
        try:
            async with asyncio.timeout(self.timeout):
                return bool(
                    await store.claim(reminder_id, due_at, via=PgConnection(store.db.pool, conn))
                )
        except self._failures as exc:
            await self._lose(conn, exc)
            return False

    async def recover(self, store: Any) -> int | None:
        from bot.pgdb import PgConnection

        conn = self._conn
        if conn is None or not self.leading:
            return None
        try:
            async with asyncio.timeout(self.timeout):
                return int(await store.recover_interrupted(via=PgConnection(store.db.pool, conn)))
        except self._failures as exc:
            await self._lose(conn, exc)
            return None

    def announce(self) -> None:
        """NOTIFY the leader, at most one statement in flight (changes meanwhile share the
        next one)."""
        if self._announcing is not None and not self._announcing.done():
            self._again = True
            return
        self._announcing = asyncio.get_running_loop().create_task(self._announce())

    async def _announce(self) -> None:
        while True:
            self._again = False
            try:
                await self.store.db.execute("SELECT pg_notify(?, '')", (CHANNEL,))
            except Exception as exc:  # the leader still looks within its longest sleep
                log.debug("could not notify the reminder leader: %s", exc)
                return
            if not self._again:
                return

    async def stop(self) -> None:
        """Release the lock at once (a successor need not wait for the session to end)."""
        self._stopping = True
        for task in (self._task, self._announcing):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        conn, self._conn = self._conn, None
        self.leading = False
        self._elected.clear()
        if conn is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                await conn.execute("SELECT pg_advisory_unlock_all()")
        except self._failures:
            pass  # closing the session frees it anyway
        await conn.close()


def lease_for(store: Any) -> Lease:
    """The store's election: a lock on PostgreSQL, the process alone on SQLite."""
    return PgLease(store) if getattr(store, "dialect", "sqlite") == "postgresql" else Lease()
