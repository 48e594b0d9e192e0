"""Which replicas are alive, so that what a dead one left unfinished is picked up at once.

On PostgreSQL every running bot holds, for as long as it lives, a session-level advisory lock
on a key of its own (`Liveness.owner`, recorded with each update it receives, bot.inbox). When
its process dies, its session ends and the server frees the lock: another replica that can
take the lock knows the owner is gone, and takes over its unfinished updates (bot.inbox.recover,
at start-up and every few seconds). A replica restarted after a crash finds its predecessor's
key free at once. Keys are in pg_advisory_lock's two-int4 key space under NAMESPACE, which no
merchant's lock (bot.pgdb.MerchantLocks: the high word of a Telegram id, below 2**21) reaches.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

log = logging.getLogger(__name__)

NAMESPACE = 0x6D62_0003  # "mb" 3
# The server notices a peer that vanished (no FIN) after idle + interval × count seconds.
KEEPALIVE = "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"


class Liveness:
    """This process's key, held on a session of its own."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self.owner: int | None = None
        self._conn: Any = None

    async def start(self) -> int:
        """Connect and take a key nobody holds; the key."""
        from psycopg import AsyncConnection

        self._conn = await AsyncConnection.connect(
            self.conninfo, autocommit=True, connect_timeout=10, options=KEEPALIVE
        )
        while self.owner is None:
            key = secrets.randbelow(2**31 - 1) + 1
            if await self._try(key):
                self.owner = key
        log.info("this process records its updates as owner %d", self.owner)
        return self.owner

    async def gone(self, owners: set[int]) -> set[int]:
        """Those of `owners` whose process is gone (their key is free)."""
        dead = set()
        for owner in owners - {self.owner}:
            if await self._try(owner):
                await self._conn.execute("SELECT pg_advisory_unlock(%s, %s)", (NAMESPACE, owner))
                dead.add(owner)
        return dead

    async def _try(self, key: int) -> bool:
        cur = await self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (NAMESPACE, key))
        row = await cur.fetchone()
        return bool(row and row[0])

    async def stop(self) -> None:
        """Let the key go (closing the session frees it)."""
        if self._conn is not None:
            await self._conn.close()
            self._conn = None
