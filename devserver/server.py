"""A local, strict Telegram Bot API server (emulator) for end-to-end tests, the playground and
benchmarks.

The bot reaches it only over HTTP through PTB's ``base_url`` / ``base_file_url``, exactly as it
reaches Telegram. Simulated merchants (private chats, chat id == user id) are driven in-process
(``user_sends_text``, ``user_clicks`` ...) and every request the bot makes is recorded in
``calls`` and shown to every callable in ``observers``. Validation follows Telegram's rules and
wording, erring on the strict side (see the package docstring for what and why).

The pieces: world.py (chats, messages, updates, files), methods.py and updates.py (the Bot
API methods), params.py / objects.py / texts.py (request checks), errors.py, faults.py
(injected failures and flood limits), http.py (aiohttp), client.py (a merchant at the
keyboard, for tests).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from devserver.errors import ApiError
from devserver.faults import Faults
from devserver.http import HttpFront
from devserver.methods import BotApi
from devserver.webhooks import Deliverer
from devserver.world import Message, World

log = logging.getLogger(__name__)


@dataclass
class ApiCall:
    """One request the bot made, as the server saw and answered it."""

    method: str
    params: dict[str, Any]
    ok: bool
    error_code: int | None
    description: str | None
    chat_id: int | None
    t: float
    result: Any = None  # the JSON "result": a dict for messages, a list, or True


Observer = Callable[[ApiCall], None]


class BotApiServer(Faults):
    """A local HTTP Telegram Bot API server with simulated merchants and full call recording.

    The fault controls (drop_answers, fail, heal, hang, release, wait_held, set_flood, held)
    come from Faults."""

    def __init__(
        self,
        token: str = "123456:TEST",
        *,
        bot_username: str = "merchant_test_bot",
        flood_global_per_sec: float | None = None,
        flood_per_chat_per_sec: float | None = None,
    ) -> None:
        head = token.split(":", 1)[0]
        if ":" not in token or not head.isdigit():
            raise ValueError(f"token must look like '<digits>:<secret>', got {token!r}")
        self.token = token
        self.bot_id = int(head)
        self.bot_username = bot_username
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Merchant Test Bot",
            "username": bot_username,
        }
        self.base_url = ""
        self.base_file_url = ""
        self.port = 0
        self.calls: list[ApiCall] = []
        self.counters: Counter[str] = Counter()
        # called with every recorded call, in order, right after it is recorded
        self.observers: list[Observer] = []
        Faults.__init__(self, self.counters)
        self.set_flood(flood_global_per_sec, flood_per_chat_per_sec)
        self.world = World(self.bot_user)
        self.api = BotApi(self.world, self)
        self._http = HttpFront(token, self.api, self, self._record)
        self._call_event = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start listening (port 0 picks a free port) and set base_url / base_file_url."""
        self.api.updates.closing = False
        self.port = await self._http.start(host, port)
        self.base_url = f"http://{host}:{self.port}/bot"
        self.base_file_url = f"http://{host}:{self.port}/file/bot"

    async def stop(self) -> None:
        """Release waiting long polls and stop the HTTP server."""
        self.api.updates.closing = True
        self.world.wake_pollers()
        await self.webhooks.stop()
        await self._http.stop()

    async def __aenter__(self) -> BotApiServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ simulated merchants
    def add_user(
        self, user_id: int, *, first_name: str = "商家", language_code: str = "zh-hans"
    ) -> None:
        """A merchant who started the bot earlier (the chat exists; no update is queued)."""
        self.world.ensure_chat(user_id, first_name, language_code)

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "商家",
        language_code: str = "zh-hans",
        from_user: int | None = None,
    ) -> dict[str, Any]:
        """A merchant types `text`; returns the queued update ("/cmd" gets a bot_command).

        from_user: the message claims to come from that user, not the chat's owner (forged)."""
        world = self.world
        chat = world.ensure_chat(user_id, first_name, language_code)
        wire = world.wire(chat, world.user_message(chat, text=text))
        if from_user is not None:
            wire["from"] = world.ensure_chat(from_user).wire_user
        return world.enqueue("message", wire)

    def user_clicks(
        self, user_id: int, message_id: int, callback_data: str, *, from_user: int | None = None
    ) -> dict[str, Any]:
        """A merchant presses a button; a missing message is sent as an inaccessible one.

        from_user: the press comes from that user, not the chat's owner (a forged update:
        Telegram never sends one in a private chat; the bot must not trust it)."""
        world = self.world
        chat = world.ensure_chat(user_id)
        presser = chat if from_user is None else world.ensure_chat(from_user)
        msg = chat.messages.get(message_id)
        wire_msg = (
            world.wire(chat, msg)
            if msg is not None
            else {"chat": chat.wire_chat, "message_id": message_id, "date": 0}
        )
        query = {
            "id": world.new_callback_query(chat),
            "from": presser.wire_user,
            "message": wire_msg,
            "chat_instance": str(-7_000_000_000 - chat.id),
            "data": callback_data,
        }
        return world.enqueue("callback_query", query)

    def user_sends_document(
        self,
        user_id: int,
        content: bytes,
        file_name: str,
        mime_type: str,
        *,
        caption: str | None = None,
    ) -> dict[str, Any]:
        """A merchant sends a file as a document; the bytes stay available to getFile."""
        world = self.world
        chat = world.ensure_chat(user_id)
        stored = world.store_file(content, "documents", file_name, mime_type)
        msg = world.user_message(chat, caption=caption, document=world.document_info(stored))
        return world.enqueue("message", world.wire(chat, msg))

    def user_sends_photo(
        self, user_id: int, content: bytes, *, caption: str | None = None
    ) -> dict[str, Any]:
        """A merchant sends a photo: two PhotoSizes (thumbnail, then full size)."""
        world = self.world
        chat = world.ensure_chat(user_id)
        msg = world.user_message(chat, caption=caption, photo=world.photo_info(content))
        return world.enqueue("message", world.wire(chat, msg))

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The merchant blocks the bot: later calls to the chat get 403.

        notify=False: no my_chat_member update reaches the bot, as when an account is
        deactivated; the bot only learns it from a refused send."""
        self.world.set_blocked(user_id, True, notify)

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        """The merchant unblocks (restarts) the bot."""
        self.world.set_blocked(user_id, False, notify)

    def continue_update_ids(self, after: int | None) -> None:
        """Number new updates after `after`, as Telegram keeps counting for a bot whose
        database already holds updates (a playground session started again)."""
        if after is not None:
            self.world.next_update_id = max(self.world.next_update_id, after + 1)

    def redeliver(self, update: dict[str, Any]) -> None:
        """Deliver an update again with the same update_id, whatever the offset (Telegram
        retries an update whose delivery it could not confirm)."""
        self.world.redeliveries.append(update)
        self.world.wake_pollers()

    # ------------------------------------------------------------------ observation
    @property
    def callback_answers(self) -> dict[str, dict[str, Any]]:
        """Query id -> the parameters of the bot's answerCallbackQuery."""
        return self.world.callback_answers

    @property
    def commands(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """(scope as JSON, language code) -> the bot's command list."""
        return self.world.commands

    @property
    def menu_buttons(self) -> dict[int | None, dict[str, Any]]:
        """Chat id (None: the default) -> the menu button set for it."""
        return self.world.menu_buttons

    @property
    def webhooks(self) -> Deliverer:
        """Webhook delivery: `route` (stand in for the TLS proxy), `deliveries` (every attempt),
        `parallel_same_user`, `retry_after`."""
        return self.api.updates.deliverer

    @property
    def webhook_url(self) -> str:
        """The webhook the bot set ("" while polling)."""
        return self.world.webhook_url

    def chat_messages(self, chat_id: int) -> list[Message]:
        """Every (not deleted) message of the chat in order, in its current state."""
        chat = self.world.chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def last_bot_message(self, chat_id: int) -> Message | None:
        """The most recent message the bot sent to the chat that still exists."""
        chat = self.world.chats.get(chat_id)
        if chat is None:
            return None
        for msg in reversed(chat.messages.values()):
            if msg.from_bot:
                return msg
        return None

    def pending_callback_queries(self) -> list[str]:
        """Ids of callback queries the bot has not answered yet."""
        return list(self.world.pending_queries)

    def mark(self) -> int:
        """The current position in `calls`, to pass as `since` to wait_for."""
        return len(self.calls)

    async def wait_for(
        self,
        predicate: Callable[[ApiCall], bool],
        *,
        since: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the documented API
    ) -> ApiCall:
        """The first call at index >= since matching predicate, waiting for new calls if needed."""
        idx = since
        try:
            async with asyncio.timeout(timeout):
                while True:
                    event = self._call_event  # taken before scanning: no lost wake-up
                    while idx < len(self.calls):
                        call = self.calls[idx]
                        idx += 1
                        if predicate(call):
                            return call
                    await event.wait()
        except TimeoutError:
            first = max(since, len(self.calls) - 8)
            lines = "\n".join(
                f"  #{i} {c.method} chat={c.chat_id} "
                + ("ok" if c.ok else f"error {c.error_code}: {c.description}")
                for i, c in enumerate(self.calls[first:], start=first)
            )
            raise TimeoutError(
                f"no matching Bot API call within {timeout}s (since #{since}); "
                f"last calls:\n{lines or '  (none)'}"
            ) from None

    async def wait_until_polling(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until some getUpdates request is parked waiting for updates (long polling)."""
        async with asyncio.timeout(timeout):
            while self.api.updates.waiting_polls == 0:
                await self.api.updates.polling_event.wait()

    def _record(
        self,
        method: str,
        params: dict[str, Any],
        err: ApiError | None,
        chat_id: int | None,
        result: Any,
    ) -> None:
        call = ApiCall(
            method=method,
            params=params,
            ok=err is None,
            error_code=err.code if err else None,
            description=err.description if err else None,
            chat_id=chat_id,
            t=time.monotonic(),
            result=result,
        )
        self.calls.append(call)
        counters = self.counters
        counters["calls"] += 1
        counters[method] += 1
        counters["ok" if err is None else str(err.code)] += 1
        for observer in list(self.observers):
            try:
                observer(call)
            except Exception:  # an observer's bug must not turn the bot's call into a 500
                log.exception("Bot API emulator: observer %r failed on %s", observer, method)
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()
