"""A local, strict Telegram Bot API server (emulator) for end-to-end tests, the playground and
benchmarks.

The bot reaches it only over HTTP through PTB's ``base_url`` / ``base_file_url``, exactly as it
reaches Telegram. Simulated merchants (private chats, chat id == user id) are driven in-process
(``user_sends_text``, ``user_clicks`` ...) and every request the bot makes is recorded in
``calls``. Validation follows Telegram's rules and wording, erring on the strict side.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import mimetypes
import os
import re
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from aiohttp import BodyPartReader, web

from bot.devserver.html_check import HtmlError, ParsedText, parse_html, strip_text, utf16_len

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_ANSWER = 200
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses larger files for bots
MAX_UPLOAD = 50 * 1024 * 1024
MAX_POLL_TIMEOUT = 50.0

# PTB sends every parameter as a string in a form; these are decoded back to their types.
_INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "message_thread_id",
        "reply_to_message_id",
        "max_connections",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "menu_button",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
    }
)
_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
# Telegram's default when allowed_updates is empty: everything but these
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANG_RE = re.compile(r"[a-z]{2}")

ERR_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
ERR_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
ERR_CHAT_NOT_FOUND = "Bad Request: chat not found"
ERR_TOO_LONG = "Bad Request: message is too long"
ERR_EMPTY = "Bad Request: message text is empty"
ERR_BUTTON_DATA = "Bad Request: BUTTON_DATA_INVALID"
ERR_QUERY_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
ERR_BLOCKED = "Forbidden: bot was blocked by the user"
ERR_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
ERR_FILE_ID = "Bad Request: wrong file_id or the file is temporarily unavailable"


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, with Telegram's description."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after


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


@dataclass
class Message:
    """The current state of one message in a private chat (user's or bot's)."""

    message_id: int
    chat_id: int
    from_bot: bool
    date: int
    text: str | None = None  # as sent: raw HTML when parse_mode is HTML; None for media
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None  # as sent (only inline keyboards go on the wire)
    edits: int = 0
    document: dict[str, Any] | None = None  # file_name, content, mime, file_id, file_size ...
    photo: dict[str, Any] | None = None  # content, file_id, file_size, sizes (wire PhotoSizes)
    caption: str | None = None  # as sent
    plain_text: str = ""  # text or caption as displayed: tags removed, entities decoded
    entities: list[dict[str, Any]] = field(default_factory=list)
    edit_date: int | None = None
    reply_to_message_id: int | None = None


@dataclass
class _Chat:
    id: int
    first_name: str
    language_code: str
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, Message] = field(default_factory=dict)
    wire_chat: dict[str, Any] = field(default_factory=dict)
    wire_user: dict[str, Any] = field(default_factory=dict)

    def rename(self, first_name: str, language_code: str) -> None:
        self.first_name = first_name
        self.language_code = language_code
        self.wire_chat = {"id": self.id, "type": "private", "first_name": first_name}
        self.wire_user = {
            "id": self.id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": language_code,
        }

    def new_id(self) -> int:
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    file_name: str | None
    mime_type: str | None


@dataclass
class _Upload:
    file_name: str
    mime_type: str | None
    content: bytes


class _RateWindow:
    """Sliding-window limiter: at most `cap` events within any `window` seconds."""

    __slots__ = ("cap", "stamps", "window")

    def __init__(self, per_sec: float) -> None:
        if per_sec <= 0:
            raise ValueError("rate must be positive")
        self.cap = max(1, math.floor(per_sec))
        self.window = self.cap / per_sec  # 30/s -> 30 per 1.0 s; 0.5/s -> 1 per 2.0 s
        self.stamps: deque[float] = deque()

    def wait(self, now: float) -> float:
        """Seconds until a slot frees; 0.0 if one is free now."""
        stamps = self.stamps
        while stamps and stamps[0] <= now - self.window:
            stamps.popleft()
        if len(stamps) < self.cap:
            return 0.0
        return stamps[0] + self.window - now


_Handler = Callable[[dict[str, Any], dict[str, _Upload]], Awaitable[Any]]


class BotApiServer:
    """A local HTTP Telegram Bot API server with simulated merchants and full call recording."""

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
        self.counters: dict[str, int] = Counter()
        self.callback_answers: dict[str, dict[str, Any]] = {}  # query id -> answer params
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (scope, lang) -> list
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}  # chat id (None: default)
        self.webhook_url = ""
        self._chats: dict[int, _Chat] = {}
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None
        self._update_event = asyncio.Event()
        self._call_event = asyncio.Event()
        self._polling_event = asyncio.Event()
        self._waiting_polls = 0
        self._closing = False
        self._pending_queries: dict[str, int] = {}  # query id -> chat id, until answered
        self._query_chats: dict[str, int] = {}
        self._next_query = 1
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._next_file = 1
        self._flood_global: _RateWindow | None = None
        self._flood_chat_rate: float | None = None
        self._flood_chats: dict[int, _RateWindow] = {}
        self.set_flood(flood_global_per_sec, flood_per_chat_per_sec)
        self._runner: web.AppRunner | None = None
        self._faults: dict[str, int] = {}
        self._failing: dict[str, list[Any]] = {}  # method -> [status, text, until, times]
        self._hanging: set[str] = set()
        self._release_event = asyncio.Event()
        self.held: dict[str, int] = {}  # method -> calls being held now
        self._held_event = asyncio.Event()
        self._redeliveries: list[dict[str, Any]] = []
        handlers: dict[str, _Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "logOut": self._true,
            "close": self._true,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "getChatMenuButton": self._get_chat_menu_button,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
        }
        # Telegram matches method names case-insensitively
        self._methods = {name.lower(): (name, fn) for name, fn in handlers.items()}

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start listening (port 0 picks a free port) and set base_url / base_file_url."""
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("GET", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("POST", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_unknown)
        # no access log (benchmarks); abandoned long polls are cancelled, not left hanging
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self.base_url = f"http://{host}:{self.port}/bot"
        self.base_file_url = f"http://{host}:{self.port}/file/bot"

    async def stop(self) -> None:
        """Release waiting long polls and stop the HTTP server."""
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

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
        self._ensure_chat(user_id, first_name, language_code)

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
        chat = self._ensure_chat(user_id, first_name, language_code)
        entities: list[dict[str, Any]] = []
        match = _COMMAND_RE.match(text)
        if match:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(match[0])})
        msg = self._add_message(
            chat,
            Message(
                chat.new_id(),
                chat.id,
                False,
                int(time.time()),
                text=text,
                plain_text=text,
                entities=entities,
            ),
        )
        wire = self._wire(chat, msg)
        if from_user is not None:
            wire["from"] = self._ensure_chat(from_user).wire_user
        return self._enqueue("message", wire)

    def user_clicks(
        self, user_id: int, message_id: int, callback_data: str, *, from_user: int | None = None
    ) -> dict[str, Any]:
        """A merchant presses a button; a missing message is sent as an inaccessible one.

        from_user: the press comes from that user, not the chat's owner (a forged update:
        Telegram never sends one in a private chat; the bot must not trust it)."""
        chat = self._ensure_chat(user_id)
        presser = chat if from_user is None else self._ensure_chat(from_user)
        msg = chat.messages.get(message_id)
        wire_msg = (
            self._wire(chat, msg)
            if msg is not None
            else {"chat": chat.wire_chat, "message_id": message_id, "date": 0}
        )
        qid = str(4_000_000_000_000_000 + self._next_query)
        self._next_query += 1
        self._pending_queries[qid] = chat.id
        self._query_chats[qid] = chat.id
        query = {
            "id": qid,
            "from": presser.wire_user,
            "message": wire_msg,
            "chat_instance": str(-7_000_000_000 - chat.id),
            "data": callback_data,
        }
        return self._enqueue("callback_query", query)

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
        chat = self._ensure_chat(user_id)
        stored = self._store_file(content, "documents", file_name, mime_type)
        msg = Message(
            chat.new_id(),
            chat.id,
            False,
            int(time.time()),
            document=self._document_info(stored),
            caption=caption,
            plain_text=caption or "",
        )
        return self._enqueue("message", self._wire(chat, self._add_message(chat, msg)))

    def user_sends_photo(
        self, user_id: int, content: bytes, *, caption: str | None = None
    ) -> dict[str, Any]:
        """A merchant sends a photo: two PhotoSizes (thumbnail, then full size)."""
        chat = self._ensure_chat(user_id)
        msg = Message(
            chat.new_id(),
            chat.id,
            False,
            int(time.time()),
            photo=self._photo_info(content),
            caption=caption,
            plain_text=caption or "",
        )
        return self._enqueue("message", self._wire(chat, self._add_message(chat, msg)))

    def block(self, user_id: int, *, notify: bool = True) -> None:
        """The merchant blocks the bot: later calls to the chat get 403.

        notify=False: no my_chat_member update reaches the bot, as when an account is
        deactivated; the bot only learns it from a refused send."""
        self._set_blocked(user_id, True, notify)

    def unblock(self, user_id: int, *, notify: bool = True) -> None:
        """The merchant unblocks (restarts) the bot."""
        self._set_blocked(user_id, False, notify)

    def drop_answers(self, method: str, times: int = 1) -> None:
        """Carry out the next `times` calls of `method` but cut the connection before answering."""
        self._faults[method] = self._faults.get(method, 0) + times

    def fail(
        self,
        method: str,
        *,
        status: int = 502,
        seconds: float | None = None,
        times: int | None = None,
        description: str = "Bad Gateway",
    ) -> None:
        """Answer `method` with an HTTP error (not carried out) for the next `seconds` or the
        next `times` calls, as a proxy in front of Telegram does during a short outage."""
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds if seconds is not None else None
        self._failing[method] = [status, description, until, times]

    def heal(self, method: str) -> None:
        """Stop failing `method` (see `fail`)."""
        self._failing.pop(method, None)

    def hang(self, method: str) -> None:
        """Hold every call of `method` unanswered until `release()` (then it fails with 502
        and was never carried out): a slow Bot API during which the bot may be killed."""
        self._hanging.add(method)

    def release(self) -> None:
        """Let held calls go (they fail with 502: not carried out)."""
        self._hanging.clear()
        event, self._release_event = self._release_event, asyncio.Event()
        event.set()

    async def wait_held(self, method: str, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until a call of `method` is being held by `hang`."""
        async with asyncio.timeout(timeout):
            while self.held.get(method, 0) == 0:
                await self._held_event.wait()

    def continue_update_ids(self, after: int | None) -> None:
        """Number new updates after `after`, as Telegram keeps counting for a bot whose
        database already holds updates (a playground session started again)."""
        if after is not None:
            self._next_update_id = max(self._next_update_id, after + 1)

    def redeliver(self, update: dict[str, Any]) -> None:
        """Deliver an update again with the same update_id, whatever the offset (Telegram
        retries an update whose delivery it could not confirm)."""
        self._redeliveries.append(update)
        self._wake_pollers()

    def set_flood(self, global_per_sec: float | None, per_chat_per_sec: float | None) -> None:
        """Enable (or, with None, disable) flood limits on the sending methods."""
        self._flood_global = _RateWindow(global_per_sec) if global_per_sec else None
        self._flood_chat_rate = per_chat_per_sec or None
        self._flood_chats = {}

    # ------------------------------------------------------------------ observation
    def chat_messages(self, chat_id: int) -> list[Message]:
        """Every (not deleted) message of the chat in order, in its current state."""
        chat = self._chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def last_bot_message(self, chat_id: int) -> Message | None:
        """The most recent message the bot sent to the chat that still exists."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return None
        for msg in reversed(chat.messages.values()):
            if msg.from_bot:
                return msg
        return None

    def pending_callback_queries(self) -> list[str]:
        """Ids of callback queries the bot has not answered yet."""
        return list(self._pending_queries)

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
            while self._waiting_polls == 0:
                await self._polling_event.wait()

    # ------------------------------------------------------------------ internals: state
    def _ensure_chat(
        self, user_id: int, first_name: str | None = None, language_code: str | None = None
    ) -> _Chat:
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise ValueError(f"user_id must be a positive int, got {user_id!r}")
        chat = self._chats.get(user_id)
        if chat is None:
            chat = _Chat(user_id, first_name or "商家", language_code or "zh-hans")
            chat.rename(chat.first_name, chat.language_code)
            self._chats[user_id] = chat
        elif first_name is not None or language_code is not None:
            name, lang = first_name or chat.first_name, language_code or chat.language_code
            if (name, lang) != (chat.first_name, chat.language_code):
                chat.rename(name, lang)
        return chat

    @staticmethod
    def _add_message(chat: _Chat, msg: Message) -> Message:
        chat.messages[msg.message_id] = msg
        return msg

    def _set_blocked(self, user_id: int, blocked: bool, notify: bool = True) -> None:
        chat = self._ensure_chat(user_id)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        if not notify:
            return
        member = {"user": self.bot_user, "status": "member"}
        kicked = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        old, new = (member, kicked) if blocked else (kicked, member)
        # Telegram tells the bot with a my_chat_member update
        self._enqueue(
            "my_chat_member",
            {
                "chat": chat.wire_chat,
                "from": chat.wire_user,
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    def _enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": self._next_update_id, kind: payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._wake_pollers()
        return update

    def _wake_pollers(self) -> None:
        event, self._update_event = self._update_event, asyncio.Event()
        event.set()

    def _store_file(
        self, content: bytes, kind: str, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        n = self._next_file
        self._next_file += 1
        ext = os.path.splitext(file_name or "")[1] or (".jpg" if kind == "photos" else "")
        prefix = "AgAC" if kind == "photos" else "BQAC"
        stored = _StoredFile(
            file_id=f"{prefix}AgUAAxkBAAI{n:06d}{self.bot_id % 100000:05d}",
            file_unique_id=f"AQAD{n:06d}",
            content=bytes(content),
            file_path=f"{kind}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def _document_info(stored: _StoredFile) -> dict[str, Any]:
        return {
            "file_name": stored.file_name,
            "content": stored.content,
            "mime": stored.mime_type,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }

    def _photo_info(self, content: bytes) -> dict[str, Any]:
        thumb = self._store_file(content, "photos", None, "image/jpeg")
        full = self._store_file(content, "photos", None, "image/jpeg")
        sizes = [
            {
                "file_id": f.file_id,
                "file_unique_id": f.file_unique_id,
                "width": w,
                "height": h,
                "file_size": len(content),
            }
            for f, w, h in ((thumb, 90, 68), (full, 1280, 960))
        ]
        return {
            "content": full.content,
            "file_id": full.file_id,
            "file_size": len(content),
            "sizes": sizes,
        }

    def _wire(self, chat: _Chat, msg: Message, *, nested: bool = False) -> dict[str, Any]:
        """The Message object as Telegram would serialise it."""
        out: dict[str, Any] = {
            "message_id": msg.message_id,
            "from": self.bot_user if msg.from_bot else chat.wire_user,
            "chat": chat.wire_chat,
            "date": msg.date,
        }
        if msg.edit_date is not None:
            out["edit_date"] = msg.edit_date
        if msg.reply_to_message_id is not None and not nested:
            target = chat.messages.get(msg.reply_to_message_id)
            if target is not None:
                out["reply_to_message"] = self._wire(chat, target, nested=True)
        if msg.text is not None:
            out["text"] = msg.plain_text
            if msg.entities:
                out["entities"] = msg.entities
        if msg.document is not None:
            doc = msg.document
            out["document"] = {
                "file_name": doc["file_name"],
                "mime_type": doc["mime"],
                "file_id": doc["file_id"],
                "file_unique_id": doc["file_unique_id"],
                "file_size": doc["file_size"],
            }
            if doc["mime"] is None:
                del out["document"]["mime_type"]
        if msg.photo is not None:
            out["photo"] = msg.photo["sizes"]
        if msg.caption is not None and msg.text is None:
            out["caption"] = msg.plain_text
            if msg.entities:
                out["caption_entities"] = msg.entities
        inline = _inline(msg.reply_markup)
        if inline is not None:
            out["reply_markup"] = inline
        return out

    # ------------------------------------------------------------------ internals: HTTP
    def _json(self, payload: dict[str, Any], status: int = 200) -> web.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        return web.Response(body=body, status=status, content_type="application/json")

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
        event, self._call_event = self._call_event, asyncio.Event()
        event.set()

    async def _handle_api(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        entry = self._methods.get(name.lower())
        method = entry[0] if entry else name
        params: dict[str, Any] = {}
        chat_id: int | None = None
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if entry is None:
                raise ApiError(404, "Not Found")
            params, uploads = await self._read_params(request)
            if uploads:  # record what was uploaded, not the bytes
                params = {
                    **params,
                    **{
                        name: {
                            "file_name": up.file_name,
                            "mime_type": up.mime_type,
                            "size": len(up.content),
                        }
                        for name, up in uploads.items()
                    },
                }
            cid = params.get("chat_id")
            if isinstance(cid, int):
                chat_id = cid
            elif method == "answerCallbackQuery":
                chat_id = self._query_chats.get(str(params.get("callback_query_id")))
            await self._injected_faults(method)
            result = await entry[1](params, uploads)
        except ApiError as err:
            self._record(method, params, err, chat_id, None)
            payload: dict[str, Any] = {
                "ok": False,
                "error_code": err.code,
                "description": err.description,
            }
            if err.retry_after is not None:
                payload["parameters"] = {"retry_after": err.retry_after}
            return self._json(payload, err.code)
        except Exception as exc:  # a bug in the emulator: make it loud, not a hang
            log.exception("Bot API emulator failed on %s", method)
            err = ApiError(500, f"Internal Server Error: emulator bug: {exc!r}")
            self._record(method, params, err, chat_id, None)
            return self._json({"ok": False, "error_code": 500, "description": err.description}, 500)
        self._record(method, params, None, chat_id, result)
        if self._faults.get(method, 0) > 0:
            # The request took effect, but the answer is lost on the way back: the client
            # sees a broken connection and cannot know whether the message arrived.
            self._faults[method] -= 1
            self.counters["dropped_answers"] += 1
            if request.transport is not None:
                request.transport.abort()
        return self._json({"ok": True, "result": result})

    async def _injected_faults(self, method: str) -> None:
        """Hold or fail a call as `hang` / `fail` asked (before it is carried out)."""
        if method in self._hanging:
            self.held[method] = self.held.get(method, 0) + 1
            event, self._held_event = self._held_event, asyncio.Event()
            event.set()
            try:
                await self._release_event.wait()
            finally:
                self.held[method] -= 1
            raise ApiError(502, "Bad Gateway")
        failing = self._failing.get(method)
        if failing is None:
            return
        status, description, until, times = failing
        if until is not None and asyncio.get_running_loop().time() >= until:
            del self._failing[method]
            return
        if times is not None:
            if times <= 0:
                del self._failing[method]
                return
            failing[3] = times - 1
        self.counters["injected_failures"] += 1
        raise ApiError(status, description)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._json({"ok": False, "error_code": 401, "description": "Unauthorized"}, 401)
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return self._json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

    async def _handle_unknown(self, request: web.Request) -> web.Response:
        return self._json({"ok": False, "error_code": 404, "description": "Not Found"}, 404)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        """Parameters from query string and JSON / urlencoded / multipart body, decoded."""
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.method == "POST" and request.body_exists:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = json.loads(await request.read())
                except ValueError:
                    raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
                if not isinstance(body, dict):
                    raise ApiError(400, "Bad Request: request body must be a JSON object")
                raw.update(body)
            elif ctype.startswith("multipart/"):
                reader = await request.multipart()
                async for part in reader:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        content = bytes(await part.read(decode=True))
                        if len(content) > MAX_UPLOAD:
                            raise ApiError(413, "Request Entity Too Large")
                        ctype_part = part.headers.get("Content-Type")
                        uploads[part.name] = _Upload(part.filename, ctype_part, content)
                    else:
                        raw[part.name] = await part.text()
            else:
                raw.update(await request.post())
        return _decode_params(raw), uploads

    # ------------------------------------------------------------------ internals: checks
    def _chat(self, params: dict[str, Any], *, check_blocked: bool = True) -> _Chat:
        cid = params.get("chat_id")
        if cid is None or cid == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self._chats.get(cid) if isinstance(cid, int) else None
        if chat is None:
            raise ApiError(400, ERR_CHAT_NOT_FOUND)
        if check_blocked and chat.blocked:
            raise ApiError(403, ERR_BLOCKED)
        return chat

    def _check_flood(self, chat_id: int) -> None:
        """Called by the sending methods (send*, edit*); a refused call takes no slot."""
        now = time.monotonic()
        windows: list[_RateWindow] = []
        if self._flood_global is not None:
            windows.append(self._flood_global)
        if self._flood_chat_rate is not None:
            window = self._flood_chats.get(chat_id)
            if window is None:
                window = self._flood_chats[chat_id] = _RateWindow(self._flood_chat_rate)
            windows.append(window)
        if not windows:
            return
        wait = max(w.wait(now) for w in windows)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        for w in windows:
            w.stamps.append(now)

    @staticmethod
    def _parse_text(text: Any, parse_mode: Any, entities: Any, *, what: str = "text") -> ParsedText:
        """Parse text (or a caption) like Telegram: entities decoded, trimmed."""
        if not isinstance(text, str):
            raise ApiError(400, f"Bad Request: {what} must be a string")
        if entities is not None:
            # explicit entities win over parse_mode, as in Telegram
            if not isinstance(entities, list) or not all(
                isinstance(e, dict)
                and isinstance(e.get("type"), str)
                and isinstance(e.get("offset"), int)
                and isinstance(e.get("length"), int)
                for e in entities
            ):
                raise ApiError(400, "Bad Request: can't parse entities JSON object")
            return strip_text(ParsedText(text, list(entities)))
        if parse_mode is None or parse_mode == "":
            return strip_text(ParsedText(text))
        if not isinstance(parse_mode, str):
            raise ApiError(400, "Bad Request: unsupported parse_mode")
        mode = parse_mode.lower()
        if mode == "html":
            try:
                return strip_text(parse_html(text))
            except HtmlError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        if mode in ("markdown", "markdownv2"):
            raise ApiError(400, "Bad Request: unsupported parse_mode in emulator")
        raise ApiError(400, "Bad Request: unsupported parse_mode")

    def _message_text(self, params: dict[str, Any]) -> ParsedText:
        text = params.get("text")
        if text is None or text == "":
            raise ApiError(400, ERR_EMPTY)
        parsed = self._parse_text(text, params.get("parse_mode"), params.get("entities"))
        if not parsed.text:
            raise ApiError(400, ERR_EMPTY)
        if utf16_len(parsed.text) > MAX_TEXT:
            raise ApiError(400, ERR_TOO_LONG)
        return parsed

    def _caption(self, params: dict[str, Any]) -> ParsedText | None:
        caption = params.get("caption")
        if caption is None:
            return None
        parsed = self._parse_text(
            caption, params.get("parse_mode"), params.get("caption_entities"), what="caption"
        )
        if utf16_len(parsed.text) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        return parsed

    def _reply_to(self, chat: _Chat, params: dict[str, Any]) -> int | None:
        target = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        rp = params.get("reply_parameters")
        if rp is not None:
            if not isinstance(rp, dict) or not isinstance(rp.get("message_id"), int):
                raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
            target = rp["message_id"]
            allow = allow or bool(rp.get("allow_sending_without_reply"))
        if target is None:
            return None
        if target not in chat.messages:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return int(target)

    def _editable(self, params: dict[str, Any]) -> tuple[_Chat, Message]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not supported by the emulator")
        chat = self._chat(params)
        self._check_flood(chat.id)
        mid = params.get("message_id")
        if mid is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        msg = chat.messages.get(mid)
        if msg is None or not msg.from_bot:
            raise ApiError(400, ERR_EDIT_NOT_FOUND)
        return chat, msg

    # ------------------------------------------------------------------ Bot API methods
    async def _true(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        return True

    async def _get_me(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        if self.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p.get("offset") or 0
        limit = min(max(p.get("limit") or 100, 1), 100)
        timeout = min(max(float(p.get("timeout") or 0), 0.0), MAX_POLL_TIMEOUT)
        if "allowed_updates" in p:
            allowed = p["allowed_updates"]
            if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
                raise ApiError(400, "Bad Request: can't parse allowed_updates JSON object")
            self._allowed_updates = frozenset(allowed) if allowed else None  # remembered
        # offset confirms (drops) everything before it; negative keeps only the last -offset
        updates = self._updates
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
            if batch or self._closing or remaining <= 0:
                return batch
            event = self._update_event
            self._waiting_polls += 1
            polling, self._polling_event = self._polling_event, asyncio.Event()
            polling.set()
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return self._collect(limit)
            finally:
                self._waiting_polls -= 1

    def _collect(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        while self._redeliveries and len(batch) < limit:
            batch.append(self._redeliveries.pop(0))
        for update in self._updates:
            kind = next(k for k in update if k != "update_id")
            if allowed is None and kind in _OPT_IN_UPDATES:
                continue
            if allowed is not None and kind not in allowed:
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        return batch

    async def _set_webhook(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        url = p.get("url") or ""
        if url and not str(url).startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook_url = str(url)
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _delete_webhook(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _get_webhook_info(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        info: dict[str, Any] = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _send_message(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._chat(p)
        self._check_flood(chat.id)
        parsed = self._message_text(p)
        markup = _check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        msg = self._add_message(
            chat,
            Message(
                chat.new_id(),
                chat.id,
                True,
                int(time.time()),
                text=p["text"],
                parse_mode=p.get("parse_mode"),
                reply_markup=markup,
                plain_text=parsed.text,
                entities=parsed.entities,
                reply_to_message_id=reply_to,
            ),
        )
        return self._wire(chat, msg)

    async def _edit_message_text(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat, msg = self._editable(p)
        if msg.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parsed = self._message_text(p)
        markup = _check_markup(p.get("reply_markup"), inline_only=True)
        # no reply_markup in an edit removes the keyboard, as in Telegram
        if (
            parsed.text == msg.plain_text
            and parsed.entities == msg.entities
            and _inline(markup) == _inline(msg.reply_markup)
        ):
            raise ApiError(400, ERR_NOT_MODIFIED)
        msg.text, msg.parse_mode = p["text"], p.get("parse_mode")
        msg.plain_text, msg.entities, msg.reply_markup = parsed.text, parsed.entities, markup
        msg.edits += 1
        msg.edit_date = int(time.time())
        return self._wire(chat, msg)

    async def _edit_message_reply_markup(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat, msg = self._editable(p)
        markup = _check_markup(p.get("reply_markup"), inline_only=True)
        if _inline(markup) == _inline(msg.reply_markup):
            raise ApiError(400, ERR_NOT_MODIFIED)
        msg.reply_markup = markup
        msg.edits += 1
        msg.edit_date = int(time.time())
        return self._wire(chat, msg)

    async def _delete_message(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._chat(p, check_blocked=False)
        mid = p.get("message_id")
        if mid is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        if chat.messages.pop(mid, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def _answer_callback_query(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        qid = p.get("callback_query_id")
        text = p.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_CALLBACK_ANSWER):
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if not isinstance(qid, str) or self._pending_queries.pop(qid, None) is None:
            raise ApiError(400, ERR_QUERY_OLD)
        self.callback_answers[qid] = {
            k: p[k] for k in ("text", "show_alert", "url", "cache_time") if k in p
        }
        return True

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        lang = p.get("language_code") or ""
        if lang and not (isinstance(lang, str) and _LANG_RE.fullmatch(lang)):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return json.dumps(scope, sort_keys=True), lang

    async def _set_my_commands(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        for cmd in commands:
            if not isinstance(cmd, dict):
                raise ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name, desc = cmd.get("command"), cmd.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        self.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        return list(self.commands.get(self._commands_key(p), []))

    async def _delete_my_commands(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        self.commands.pop(self._commands_key(p), None)
        return True

    async def _set_chat_menu_button(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat_id = self._chat(p, check_blocked=False).id if "chat_id" in p else None
        button = p.get("menu_button") or {"type": "default"}
        kind = button.get("type") if isinstance(button, dict) else None
        if kind not in ("default", "commands", "web_app"):
            raise ApiError(400, "Bad Request: can't parse menu button JSON object")
        if kind == "web_app" and not (
            button.get("text") and isinstance(button.get("web_app"), dict)
        ):
            raise ApiError(400, "Bad Request: can't parse menu button JSON object")
        self.menu_buttons[chat_id] = button
        return True

    async def _get_chat_menu_button(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat_id = self._chat(p, check_blocked=False).id if "chat_id" in p else None
        return self.menu_buttons.get(chat_id) or self.menu_buttons.get(None) or {"type": "default"}

    async def _send_chat_action(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        self._chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    async def _get_file(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        stored = self._files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, ERR_FILE_ID)
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _input_file(
        self, p: dict[str, Any], files: dict[str, _Upload], name: str
    ) -> tuple[_StoredFile | None, _Upload | None]:
        """The file a send method refers to: an upload, attach://, or a known file_id."""
        upload = files.get(name)
        ref = p.get(name)
        if upload is None and isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
            if upload is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if upload is not None:
            if not upload.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            return None, upload
        if isinstance(ref, str) and ref:
            if ref in self._files:
                return self._files[ref], None
            if ref.startswith(("http://", "https://")):
                raise ApiError(400, "Bad Request: failed to get HTTP URL content")
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    async def _send_document(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._chat(p)
        self._check_flood(chat.id)
        known, upload = self._input_file(p, files, "document")
        caption = self._caption(p)
        markup = _check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        if upload is not None:
            mime = upload.mime_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.file_name)[0] or mime
            known = self._store_file(upload.content, "documents", upload.file_name, mime)
        assert known is not None
        msg = self._add_message(
            chat,
            Message(
                chat.new_id(),
                chat.id,
                True,
                int(time.time()),
                document=self._document_info(known),
                parse_mode=p.get("parse_mode"),
                caption=p.get("caption"),
                plain_text=caption.text if caption else "",
                entities=caption.entities if caption else [],
                reply_markup=markup,
                reply_to_message_id=reply_to,
            ),
        )
        return self._wire(chat, msg)

    async def _send_photo(self, p: dict[str, Any], files: dict[str, _Upload]) -> Any:
        chat = self._chat(p)
        self._check_flood(chat.id)
        known, upload = self._input_file(p, files, "photo")
        caption = self._caption(p)
        markup = _check_markup(p.get("reply_markup"))
        reply_to = self._reply_to(chat, p)
        if upload is not None:
            content = upload.content
        else:
            assert known is not None
            content = known.content
        msg = self._add_message(
            chat,
            Message(
                chat.new_id(),
                chat.id,
                True,
                int(time.time()),
                photo=self._photo_info(content),
                parse_mode=p.get("parse_mode"),
                caption=p.get("caption"),
                plain_text=caption.text if caption else "",
                entities=caption.entities if caption else [],
                reply_markup=markup,
                reply_to_message_id=reply_to,
            ),
        )
        return self._wire(chat, msg)


# ---------------------------------------------------------------------- module helpers
def _decode_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Turn form strings back into ints, bools and JSON objects, by parameter name."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            if key in _JSON_PARAMS:
                try:
                    value = json.loads(value)
                except ValueError:
                    if key == "reply_markup":
                        raise ApiError(400, ERR_MARKUP) from None
                    raise ApiError(400, f"Bad Request: can't parse {key} JSON object") from None
            elif key in _INT_PARAMS:
                try:
                    value = int(value)
                except ValueError:
                    if key == "chat_id":
                        raise ApiError(400, ERR_CHAT_NOT_FOUND) from None
                    raise ApiError(400, f'Bad Request: field "{key}" must be a number') from None
            elif key in _BOOL_PARAMS:
                value = value.strip().lower() in ("true", "1")
        out[key] = value
    return out


def _inline(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The inline keyboard of a markup, or None (an empty keyboard counts as none)."""
    if not markup or "inline_keyboard" not in markup:
        return None
    if not any(markup["inline_keyboard"]):
        return None
    return markup


def _check_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; return it as sent (None if absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, ERR_MARKUP)
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(
                400,
                "Bad Request: can't parse inline keyboard button: "
                'field "inline_keyboard" must be an Array of Arrays',
            )
        for row in rows:
            for button in row:
                _check_inline_button(button)
        return markup
    if inline_only:
        raise ApiError(400, "Bad Request: inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise ApiError(400, ERR_MARKUP)
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text.strip():
                    raise ApiError(400, "Bad Request: keyboard button text is empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise ApiError(400, ERR_MARKUP)


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict):
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: "
            "InlineKeyboardButton must be an Object",
        )
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
    actions = [a for a in _BUTTON_ACTIONS if a in button]
    if not actions:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are "
            "unallowed in the inline keyboard",
        )
    if len(actions) > 1:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: exactly one of "
            f"the optional fields must be used, got {', '.join(actions)}",
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= 64:
            raise ApiError(400, ERR_BUTTON_DATA)
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
