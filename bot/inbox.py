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
from datetime import timedelta
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.clock import Clock
from bot.store import Store

log = logging.getLogger(__name__)

KEEP_ANSWERED = timedelta(days=2)  # Telegram keeps an unconfirmed update for 24 hours


class DurableQueue(asyncio.Queue):  # type: ignore[type-arg]
    """The Application's update queue: an update is on disk before it is confirmed."""

    def __init__(self, store: Store, clock: Clock) -> None:
        super().__init__()
        self.store = store
        self.clock = clock
        self.duplicates = 0

    async def put(self, item: Any) -> None:
        """Record a new update, then queue it; a redelivered one is dropped."""
        if isinstance(item, Update):
            user = item.effective_user
            fresh = await self.store.receive_update(
                item.update_id, user.id if user else None, item.to_json(), self.clock.now()
            )
            if not fresh:
                self.duplicates += 1
                log.info("update %s delivered again: already handled once", item.update_id)
                return
        await super().put(item)

    async def requeue(self, item: Update) -> None:
        """Queue an update recorded by an earlier process (already on disk)."""
        await super().put(item)


def reply(chat_id: int, text: str, markup: InlineKeyboardMarkup | None, edit: int | None) -> dict:
    """A rendered reply as it is kept until sent (edit: the message id to replace)."""
    rows = (
        [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
        if markup
        else []
    )
    return {"chat_id": chat_id, "text": text, "rows": rows, "edit": edit}


def markup_of(stored: dict) -> InlineKeyboardMarkup | None:
    """The keyboard of a kept reply."""
    rows = stored.get("rows") or []
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def recover(bot: Bot, store: Store, queue: DurableQueue, clock: Clock) -> tuple[int, int]:
    """After a stop: handle what was received but not applied, send what was applied but not
    answered. Returns (requeued, replies resent)."""
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
        for stored in json.loads(row["replies"] or "[]"):
            try:
                await _resend(bot, stored)
                resent += 1
            except TelegramError as exc:
                log.warning("update %s: a kept reply could not be sent: %s", row["update_id"], exc)
        await store.finish_update(row["update_id"])
    if requeued or resent:
        log.warning(
            "after the last stop: %d update(s) handled now, %d reply(ies) sent now",
            requeued,
            resent,
        )
    return requeued, resent


async def _resend(bot: Bot, stored: dict) -> None:
    """Send a kept reply (editing its message when it was an edit, else a new message)."""
    markup = markup_of(stored)
    if stored.get("edit"):
        try:
            await bot.edit_message_text(
                stored["text"],
                chat_id=stored["chat_id"],
                message_id=stored["edit"],
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return
        except Forbidden:
            raise
    await bot.send_message(
        stored["chat_id"], stored["text"], parse_mode=ParseMode.HTML, reply_markup=markup
    )
