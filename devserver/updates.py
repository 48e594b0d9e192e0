"""Getting updates: getUpdates (long polling, with offset confirmation and allowed_updates)
and the webhook switch that excludes it (setWebhook, deleteWebhook, getWebhookInfo)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from devserver.errors import ApiError
from devserver.webhooks import Deliverer, WebhookSettings
from devserver.world import Upload, World

Handler = Callable[[dict[str, Any], dict[str, Upload]], Awaitable[Any]]

MAX_POLL_TIMEOUT = 50  # Telegram's server shortens longer polls to this (LONG_POLL_MAX_TIMEOUT)

# The update types Telegram's server knows (tdlib/telegram-bot-api Client::get_update_type_name)
UPDATE_TYPES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "inline_query",
        "chosen_inline_result",
        "callback_query",
        "shipping_query",
        "pre_checkout_query",
        "poll",
        "poll_answer",
        "my_chat_member",
        "chat_member",
        "chat_join_request",
        "chat_boost",
        "removed_chat_boost",
        "message_reaction",
        "message_reaction_count",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
        "purchased_paid_media",
        "managed_bot",
        "guest_message",
    }
)
# Telegram's default when allowed_updates is empty: everything but these
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


def allowed_updates(value: Any) -> frozenset[str] | None:
    """The update types a bot asks for (None: Telegram's default). Telegram reads the names in
    any case and ignores one it does not know; the emulator refuses it (a misspelt type means
    updates the bot never gets)."""
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
    names = frozenset(a.lower() for a in value)
    unknown = sorted(names - UPDATE_TYPES)
    if unknown:
        raise ApiError(
            400,
            f'Bad Request: unknown update type "{unknown[0]}" in allowed_updates '
            "(Telegram would ignore it)",
        )
    return names or None


class Updates:
    """The update methods over one world; `waiting_polls` / `polling_event` show parked polls."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.closing = False  # set while the server stops: long polls return at once
        self.waiting_polls = 0
        self.polling_event = asyncio.Event()  # replaced (after set) when a poll parks
        self.deliverer = Deliverer(world)  # POSTs updates while a webhook is set

    def handlers(self) -> dict[str, Handler]:
        """The methods, by their Bot API names."""
        return {
            "getUpdates": self.get_updates,
            "setWebhook": self.set_webhook,
            "deleteWebhook": self.delete_webhook,
            "getWebhookInfo": self.get_webhook_info,
        }

    async def get_updates(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        world = self.world
        if world.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get("offset", 0)
        # Telegram clamps limit to 1-100 and a negative timeout to 0; the emulator refuses
        # them: the documented range is 1-100, and a negative timeout is a bug.
        limit = p.get("limit", 100)
        if not 1 <= limit <= 100:
            raise ApiError(
                400,
                f'Bad Request: parameter "limit" must be between 1 and 100, got {limit} '
                "(Telegram would clamp it)",
            )
        timeout = p.get("timeout", 0)
        if timeout < 0:
            raise ApiError(
                400,
                f'Bad Request: parameter "timeout" must not be negative, got {timeout} '
                "(Telegram would poll without waiting)",
            )
        timeout = min(timeout, MAX_POLL_TIMEOUT)
        if "allowed_updates" in p:
            world.allowed_updates = allowed_updates(p["allowed_updates"])  # remembered
        # offset confirms (drops) everything before it; negative keeps only the last -offset
        updates = world.updates
        if offset > 0:
            while updates and updates[0]["update_id"] < offset:
                updates.popleft()
        elif offset < 0:
            while len(updates) > -offset:
                updates.popleft()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._collect(limit)
            remaining = deadline - loop.time()
            if batch or self.closing or remaining <= 0:
                return batch
            event = world.update_event
            self.waiting_polls += 1
            polling, self.polling_event = self.polling_event, asyncio.Event()
            polling.set()
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return self._collect(limit)
            finally:
                self.waiting_polls -= 1

    def _collect(self, limit: int) -> list[dict[str, Any]]:
        world = self.world
        allowed = world.allowed_updates
        batch: list[dict[str, Any]] = []
        while world.redeliveries and len(batch) < limit:
            batch.append(world.redeliveries.pop(0))
        for update in world.updates:
            kind = next(k for k in update if k != "update_id")
            if allowed is None and kind in _OPT_IN_UPDATES:
                continue
            if allowed is not None and kind not in allowed:
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        return batch

    async def set_webhook(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        url = p.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        secret = str(p.get("secret_token", ""))
        if secret and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
            raise ApiError(400, "Bad Request: secret token contains unallowed characters")
        connections = p.get("max_connections", 40)
        if not 1 <= connections <= 100:
            raise ApiError(400, "Bad Request: max_connections must be between 1 and 100")
        allowed = self.world.allowed_updates  # not given: the previous setting stays
        if "allowed_updates" in p:
            allowed = allowed_updates(p["allowed_updates"])
        self.world.webhook_url, self.world.allowed_updates = str(url), allowed
        if p.get("drop_pending_updates"):
            self.world.updates.clear()
        self.deliverer.set(WebhookSettings(str(url), secret, connections))
        return True

    async def delete_webhook(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.world.webhook_url = ""
        self.deliverer.set(WebhookSettings())
        if p.get("drop_pending_updates"):
            self.world.updates.clear()
        return True

    async def get_webhook_info(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        info: dict[str, Any] = {
            "url": self.world.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self.world.updates),
        }
        if self.world.allowed_updates is not None:
            info["allowed_updates"] = sorted(self.world.allowed_updates)
        return info
