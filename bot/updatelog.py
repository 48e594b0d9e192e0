"""The updates table, as the store keeps it: each update recorded before it is confirmed,
marked applied with the state it changed, answered once its replies are sent (bot.inbox)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text for storage."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class UpdateLog:
    """The store's methods for the updates table (mixed into bot.store.Store)."""

    db: Any  # aiosqlite's Connection, or bot.pgdb.PgConnection (the same interface)
    hot: Any  # the connection of an update's own statements (bot.store.Store)
    owner: int | None  # the process recording updates (bot.replica; None on SQLite)

    async def write(self, sql: str, params: Any = ()) -> Any:
        raise NotImplementedError  # bot.store.Store.write

    async def receive_update(
        self, update_id: int, user_id: int | None, payload: str, now: datetime
    ) -> bool:
        """Record an update before it is confirmed to the Bot API; False if it was seen
        before (a redelivery: it is not handled again)."""
        cur = await self.write(
            "INSERT INTO updates (update_id, user_id, payload, received_at, owner)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (update_id, user_id, payload, _iso(now), self.owner),
        )
        return bool(cur.rowcount > 0)

    async def finish_update(self, update_id: int, state: str = "answered") -> None:
        """The update's replies went out (or finally failed): forget its contents."""
        await self.write(
            "UPDATE updates SET state = ?, payload = NULL, replies = NULL WHERE update_id = ?",
            (state, update_id),
        )

    async def keep_replies(self, update_id: int, replies: list[dict[str, Any]]) -> None:
        """The replies of an applied update that are still to be sent (after a partial resend)."""
        await self.write(
            "UPDATE updates SET replies = ? WHERE update_id = ?",
            (json.dumps(replies, ensure_ascii=False), update_id),
        )

    async def unfinished_updates(self) -> list[dict[str, Any]]:
        """Updates not finished yet, oldest first: received (to handle) or applied (replies
        to send), with the process that recorded them (`owner`, bot.replica)."""
        rows = await self.db.execute_fetchall(
            "SELECT update_id, user_id, state, payload, owner FROM updates"
            " WHERE state IN ('received', 'applied') ORDER BY update_id"
        )
        return [dict(row) for row in rows]

    async def in_order(
        self, user_id: int, update_id: int
    ) -> tuple[list[dict[str, Any]], bool, Any | None]:
        """Under the merchant's lock, before an update is handled: the merchant's updates
        recorded before it and not handled yet, oldest first (received by another replica, or
        left by a process that stopped: they go first), whether this one still waits to be
        handled (False: another replica did it already), and the merchant's row (state,
        unreachable; None if never saved), read in the same statement: one step fewer per
        update. The row is as it was before those earlier updates: read it again after them."""
        rows = await self.hot.execute_fetchall(
            "SELECT m.state, m.unreachable, u.update_id, u.payload"
            " FROM (SELECT CAST(? AS BIGINT) AS uid) AS k"
            " LEFT JOIN merchants m ON m.user_id = k.uid"
            # the unfinished ones: a partial index
            " LEFT JOIN updates u ON u.state IN ('received', 'applied') AND u.state = 'received'"
            " AND u.user_id = k.uid AND u.update_id <= ?"
            " ORDER BY u.update_id",
            (user_id, update_id),
        )
        first = rows[0]
        merchant = first if first["state"] is not None else None
        pending = [r for r in rows if r["update_id"] is not None]
        earlier = [
            {"update_id": r["update_id"], "payload": r["payload"]}
            for r in pending
            if r["update_id"] != update_id and r["payload"]
        ]
        return earlier, any(r["update_id"] == update_id for r in pending), merchant

    async def still_received(self, update_id: int) -> bool:
        """Whether the update still waits to be handled (not by another replica already)."""
        rows = await self.hot.execute_fetchall(
            "SELECT 1 FROM updates WHERE update_id = ? AND state = 'received'", (update_id,)
        )
        return bool(rows)

    async def kept_replies(self, update_id: int) -> list[dict[str, Any]] | None:
        """The replies an applied update still has to send; None if it is not applied (not
        handled yet, or answered meanwhile)."""
        rows = await self.hot.execute_fetchall(
            "SELECT replies FROM updates WHERE update_id = ? AND state = 'applied'", (update_id,)
        )
        return json.loads(rows[0]["replies"] or "[]") if rows else None

    async def last_update_id(self) -> int | None:
        """The highest update_id ever received."""
        rows = await self.db.execute_fetchall("SELECT MAX(update_id) FROM updates")
        row = next(iter(rows), None)
        return int(row[0]) if row and row[0] is not None else None

    async def prune_updates(self, before: datetime) -> int:
        """Forget answered updates older than `before` (Telegram redelivers within a day)."""
        cur = await self.write(
            "DELETE FROM updates WHERE state IN ('answered', 'failed') AND received_at < ?",
            (_iso(before),),
        )
        return int(cur.rowcount)


async def mark_applied(db: Any, update_id: int, replies: list[dict[str, Any]] | None) -> None:
    """Within a transaction: the update's effects are committed; its replies wait to be sent."""
    await db.execute(
        "UPDATE updates SET state = 'applied', payload = NULL, replies = ? WHERE update_id = ?",
        (json.dumps(replies or [], ensure_ascii=False), update_id),
    )
