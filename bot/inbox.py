"""Each update takes effect exactly once, whatever the delivery.

python-telegram-bot's Updater confirms the updates it fetched with its next getUpdates call,
right after `await update_queue.put(update)` for each of them. The Application's queue is this
DurableQueue, whose `put` first records the update in SQLite (the `updates` table): by the time
the Bot API forgets an update, it is on disk. A redelivered update_id (a retried webhook, a poll
whose offset was never confirmed) is already there and is dropped instead of handled again.

The dispatcher marks the update `applied` in the same transaction as the merchant's state,
together with the rendered replies, and `answered` once they are sent. At start-up, `recover`
hands the updates a stopped process left `received` to the Application again, and sends the
replies of those left `applied` (the effect is not repeated; a reply may come twice if the
process died between sending it and recording that, never zero times).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot import presenter
from bot.clock import Clock
from bot.replica import Liveness
from bot.runtime import Runtime
from bot.store import Store

log = logging.getLogger(__name__)

KEEP_ANSWERED = timedelta(days=2)  # Telegram keeps an unconfirmed update for 24 hours


class DurableQueue(asyncio.Queue[object]):
    """The Application's update queue: an update is on disk before it is confirmed."""

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.duplicates = 0
        self.requeued: set[int] = set()  # recorded earlier, queued again by recover

    async def put(self, item: Any) -> None:
        """Record a new update, then queue it; a redelivered one is dropped.

        If it cannot be recorded (the database is locked or full), the Updater's retry loop
        sees a NetworkError: the offset is not advanced, the batch is fetched again later, and
        the updates of it already recorded are dropped then as redeliveries."""
        if isinstance(item, Update):
            user = item.effective_user
            try:
                fresh = await self.store.receive_update(
                    item.update_id, user.id if user else None, item.to_json(), self.clock.now()
                )
            except (sqlite3.Error, OSError) as exc:
                log.warning("update %s could not be recorded: %s", item.update_id, exc)
                raise NetworkError(f"update not recorded, fetched again later: {exc}") from exc
            if not fresh:
                self.duplicates += 1
                log.info("update %s delivered again: already handled once", item.update_id)
                return
        await super().put(item)

    async def requeue(self, item: Update) -> None:
        """Queue an update recorded by an earlier process (already on disk)."""
        await super().put(item)


async def recover(
    bot: Bot,
    runtime: Runtime,
    queue: DurableQueue,
    clock: Clock,
    *,
    liveness: Liveness | None = None,
) -> tuple[int, int]:
    """After a stop: handle what was received but not applied, send what was applied but not
    answered. Returns (requeued, replies sent). A reply that cannot be sent through a Bot API
    outage stays kept for the next start; one to a chat that blocked the bot is dropped.

    `liveness` (several replicas on PostgreSQL, bot.replica): only what processes that are
    gone left. Another replica may pick up the same at the same moment: an update requeued
    here is found done under the merchant's lock if the other handled it (bot.app), and kept
    replies are sent only if they are still kept once that lock is held."""
    store = runtime.store
    await store.prune_updates(clock.now() - KEEP_ANSWERED)
    requeued = resent = 0
    rows = await store.unfinished_updates()
    if liveness is not None:
        gone = await liveness.gone({r["owner"] for r in rows if r["owner"] is not None})
        rows = [r for r in rows if r["owner"] is None or r["owner"] in gone]
    for row in rows:
        update_id = row["update_id"]
        if row["state"] == "received":
            if update_id in queue.requeued:
                continue  # still waiting in this process's queue
            if row["payload"]:
                queue.requeued.add(update_id)
                await queue.requeue(Update.de_json(json.loads(row["payload"]), bot))
                requeued += 1
            else:
                await store.finish_update(update_id, "failed")
            continue
        user = row["user_id"]
        async with runtime.locks.hold(user) if user is not None else nullcontext():
            kept = await store.kept_replies(update_id)
            if kept is not None:
                resent += await _send_kept(bot, runtime, update_id, kept)
    if requeued or resent:
        log.warning(
            "after the last stop: %d update(s) handled now, %d reply(ies) sent now",
            requeued,
            resent,
        )
    return requeued, resent


async def _send_kept(bot: Bot, runtime: Runtime, update_id: int, kept: list[Any]) -> int:
    """Send an applied update's kept replies; how many were sent."""
    store = runtime.store
    sent = 0
    while kept:
        out = presenter.Rendered.from_kept(kept[0])
        try:
            await presenter.deliver(bot, out)
            sent += 1
        except Forbidden:
            await store.set_reachable(out.chat_id, False)  # private chat: the user's id
        except BadRequest as exc:
            log.warning("update %s: a kept reply was refused: %s", update_id, exc)
        except NetworkError as exc:
            log.warning("update %s: kept replies wait for the next start: %s", update_id, exc)
            break
        kept.pop(0)
    if kept:
        await store.keep_replies(update_id, kept)
    else:
        await store.finish_update(update_id)
    return sent


async def keep_recovering(
    bot: Bot, runtime: Runtime, queue: DurableQueue, liveness: Liveness, *, every: float = 5.0
) -> None:
    """Several replicas (PostgreSQL): what a replica that died left unfinished is picked up
    by the others within `every` seconds of its death becoming known (bot.replica)."""
    while True:
        await asyncio.sleep(every)
        try:
            await recover(bot, runtime, queue, runtime.clock, liveness=liveness)
        except Exception:
            log.exception("picking up unfinished updates failed; tried again later")
