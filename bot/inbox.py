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
from datetime import timedelta
from typing import Any

from telegram import Bot, Update
from telegram.error import BadRequest, Forbidden, NetworkError

from bot import presenter
from bot.clock import Clock
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


async def recover(bot: Bot, runtime: Runtime, queue: DurableQueue, clock: Clock) -> tuple[int, int]:
    """After a stop: handle what was received but not applied, send what was applied but not
    answered. Returns (requeued, replies sent). A reply that cannot be sent through a Bot API
    outage stays kept for the next start; one to a chat that blocked the bot is dropped."""
    store = runtime.store
    await store.prune_updates(clock.now() - KEEP_ANSWERED)
    requeued = resent = 0
    for row in await store.unfinished_updates():
        if row["state"] == "received":
            if row["payload"]:
                await queue.requeue(Update.de_json(json.loads(row["payload"]), bot))
                requeued += 1
            else:
                await store.finish_update(row["update_id"], "failed")
            continue
        kept = json.loads(row["replies"] or "[]")
        while kept:
            out = presenter.Rendered.from_kept(kept[0])
            try:
                await presenter.deliver(bot, out)
                resent += 1
            except Forbidden:
                await store.set_reachable(out.chat_id, False)  # private chat: the user's id
            except BadRequest as exc:
                log.warning("update %s: a kept reply was refused: %s", row["update_id"], exc)
            except NetworkError as exc:
                log.warning(
                    "update %s: kept replies wait for the next start: %s", row["update_id"], exc
                )
                break
            kept.pop(0)
        if kept:
            await store.keep_replies(row["update_id"], kept)
        else:
            await store.finish_update(row["update_id"])
    if requeued or resent:
        log.warning(
            "after the last stop: %d update(s) handled now, %d reply(ies) sent now",
            requeued,
            resent,
        )
    return requeued, resent
