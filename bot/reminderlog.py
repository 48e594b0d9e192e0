"""The reminders table, as the store keeps it: the plan reconciled into rows, what falls due,
claims and outcomes (mixed into bot.store.Store; the scheduler, bot.scheduler, delivers)."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Any

from flows.reminders import Planned


def _iso(moment: datetime) -> str:
    """UTC ISO-8601 text for storage."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


class ReminderLog:
    """The store's methods for the reminders table (mixed into bot.store.Store)."""

    db: Any  # aiosqlite's Connection, or bot.pgdb.PgConnection (the same interface)

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        raise NotImplementedError  # bot.store.Store.transaction

    async def _reconcile(self, db: Any, user_id: int, plan: list[Planned], now: datetime) -> None:
        """Make the merchant's pending reminders exactly the plan.

        - a planned key never seen is added: pending, or 'skipped' when its moment has already
          passed (a submission recorded late: the screen the merchant sees now says the same);
        - a pending one keeps waiting; if its moment moved it is re-timed (and skipped when the
          new moment is already past); an unchanged pending one stays pending even if overdue
          (it fell due while the bot was down and must still be delivered);
        - a cancelled one that is planned again is revived the same way;
        - one already sent (or dropped, skipped, uncertain, failed) for the same moment is
          never sent again; planned for another moment, it is a new reminder;
        - a pending one no longer planned is cancelled. Rows being sent are left alone.
        """
        rows = await db.execute_fetchall(
            "SELECT id, key, due_at, state FROM reminders WHERE user_id = ?", (user_id,)
        )
        existing = {row["key"]: row for row in rows}
        inserts: list[tuple[Any, ...]] = []
        updates: list[tuple[Any, ...]] = []
        for p in plan:
            due = _iso(p.due)
            fresh = "pending" if p.due >= now else "skipped"
            row = existing.get(p.key)
            if row is None:
                inserts.append(
                    (user_id, p.key, p.kind, p.chain, due, json.dumps(p.data), _iso(now), fresh)
                )
                continue
            same_moment = row["due_at"] == due
            if row["state"] == "sending":
                continue
            if row["state"] == "pending":
                state = "pending" if same_moment else fresh
            elif row["state"] == "cancelled" or not same_moment:
                state = fresh
            else:
                continue  # sent, dropped, skipped, uncertain or failed for this very moment
            updates.append((due, json.dumps(p.data), state, row["id"]))
        if inserts:
            await db.executemany(
                "INSERT INTO reminders (user_id, key, kind, chain, due_at, data, created_at, state)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                inserts,
            )
        if updates:
            await db.executemany(
                "UPDATE reminders SET due_at = ?, data = ?, state = ?, sent_at = NULL WHERE id = ?",
                updates,
            )
        planned = {p.key for p in plan}
        gone = [r["id"] for r in rows if r["state"] == "pending" and r["key"] not in planned]
        if gone:
            await db.executemany(
                "UPDATE reminders SET state = 'cancelled' WHERE id = ?", [(i,) for i in gone]
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
        # the index on (state, due_at) in order, stopping at the first reachable merchant's
        # (a MIN over a join read every pending reminder: 0.5 s at 1,000,000 on PostgreSQL)
        async with self.db.execute(
            "SELECT r.due_at FROM reminders r WHERE r.state = 'pending' AND EXISTS"
            " (SELECT 1 FROM merchants m WHERE m.user_id = r.user_id AND m.unreachable = 0)"
            " ORDER BY r.state, r.due_at LIMIT 1"
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
                " attempts = attempts + CASE WHEN ? = 'sending' THEN 1 ELSE 0 END WHERE id = ?",
                [(state, _iso(sent_at) if sent_at else None, state, i) for i in ids],
            )

    async def claim(self, reminder_id: int, due_at: str, *, via: Any = None) -> bool:
        """Mark a pending reminder 'sending' (committed); False if it is no longer pending at
        that moment (the merchant changed something since the pass read it: not sent now).

        `via`: the PostgreSQL session holding the scheduler's leader lock (bot.leader): one
        statement in autocommit there, so only the live leader can claim."""
        sql = (
            "UPDATE reminders SET state = 'sending', attempts = attempts + 1"
            " WHERE id = ? AND state = 'pending' AND due_at = ?"
        )
        if via is not None:
            cur = await via.execute(sql, (reminder_id, due_at))
            return bool(cur.rowcount > 0)
        async with self.transaction() as db:
            cur = await db.execute(sql, (reminder_id, due_at))
            return bool(cur.rowcount > 0)

    async def recover_interrupted(self, *, via: Any = None) -> int:
        """A reminder left 'sending' by a process that stopped (or by an earlier leader) may or
        may not have arrived: never resend. Run by the scheduler when it starts to lead (`via`:
        the leader lock's session on PostgreSQL, as for claim)."""
        sql = "UPDATE reminders SET state = 'uncertain' WHERE state = 'sending'"
        if via is not None:
            cur = await via.execute(sql)
            return int(cur.rowcount)
        async with self.transaction() as db:
            cur = await db.execute(sql)
            return int(cur.rowcount)
