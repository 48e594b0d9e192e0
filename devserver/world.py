"""What Telegram holds for one bot: private chats and their messages, the update queue, files,
callback queries, and the bot's settings (commands, menu buttons, webhook).

Private chats only: chat id == user id. Messages are kept in their current state (edits
overwrite); `wire()` serialises one as Telegram's Message object. Nothing here speaks HTTP or
validates a request: the Bot API methods (methods.py) do that and then change this state.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from bot.telegram_html import utf16_len

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{1,64})?")


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
class Chat:
    """A private chat with one merchant (chat id == user id)."""

    id: int
    first_name: str
    language_code: str
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, Message] = field(default_factory=dict)
    wire_chat: dict[str, Any] = field(default_factory=dict)
    wire_user: dict[str, Any] = field(default_factory=dict)

    def rename(self, first_name: str, language_code: str) -> None:
        """Set the user's name and language (and their wire forms)."""
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
        """The next message id of this chat."""
        mid = self.next_message_id
        self.next_message_id += 1
        return mid


@dataclass
class StoredFile:
    """A file Telegram keeps: sent by a merchant or uploaded by the bot."""

    file_id: str
    file_unique_id: str
    content: bytes
    file_path: str
    file_name: str | None
    mime_type: str | None


@dataclass
class Upload:
    """One file part of a multipart request."""

    file_name: str
    mime_type: str | None
    content: bytes


class World:
    """Chats, updates, files and settings of one bot, as Telegram would hold them."""

    def __init__(self, bot_user: dict[str, Any]) -> None:
        self.bot_user = bot_user
        self.chats: dict[int, Chat] = {}
        self.updates: deque[dict[str, Any]] = deque()
        self.next_update_id = 1
        self.redeliveries: list[dict[str, Any]] = []
        self.allowed_updates: frozenset[str] | None = None  # None: Telegram's default
        self.update_event = asyncio.Event()  # replaced (after set) on every new update
        self.pending_queries: dict[str, int] = {}  # query id -> chat id, until answered
        self.query_chats: dict[str, int] = {}  # every query id -> chat id
        self.next_query = 1
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.next_file = 1
        self.callback_answers: dict[str, dict[str, Any]] = {}  # query id -> answer params
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}  # (scope, lang) -> list
        self.menu_buttons: dict[int | None, dict[str, Any]] = {}  # chat id (None: default)
        self.webhook_url = ""

    # ------------------------------------------------------------------ chats and messages
    def ensure_chat(
        self, user_id: int, first_name: str | None = None, language_code: str | None = None
    ) -> Chat:
        """The chat with `user_id`, created on first use; renamed when a name is given."""
        if not isinstance(user_id, int) or isinstance(user_id, bool) or user_id <= 0:
            raise ValueError(f"user_id must be a positive int, got {user_id!r}")
        chat = self.chats.get(user_id)
        if chat is None:
            chat = Chat(user_id, first_name or "商家", language_code or "zh-hans")
            chat.rename(chat.first_name, chat.language_code)
            self.chats[user_id] = chat
        elif first_name is not None or language_code is not None:
            name, lang = first_name or chat.first_name, language_code or chat.language_code
            if (name, lang) != (chat.first_name, chat.language_code):
                chat.rename(name, lang)
        return chat

    @staticmethod
    def add_message(chat: Chat, msg: Message) -> Message:
        """Keep `msg` in its chat."""
        chat.messages[msg.message_id] = msg
        return msg

    def user_message(
        self, chat: Chat, *, text: str | None = None, caption: str | None = None, **media: Any
    ) -> Message:
        """A message from the merchant: a text (a leading /command gets its entity) or media."""
        entities: list[dict[str, Any]] = []
        match = _COMMAND_RE.match(text) if text is not None else None
        if match:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(match[0])})
        shown = text if text is not None else caption or ""
        msg = Message(
            chat.new_id(),
            chat.id,
            False,
            int(time.time()),
            text=text,
            caption=caption,
            plain_text=shown,
            entities=entities,
            **media,
        )
        return self.add_message(chat, msg)

    def set_blocked(self, user_id: int, blocked: bool, notify: bool = True) -> None:
        """Block or unblock; Telegram tells the bot with a my_chat_member update."""
        chat = self.ensure_chat(user_id)
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        if not notify:
            return
        member = {"user": self.bot_user, "status": "member"}
        kicked = {"user": self.bot_user, "status": "kicked", "until_date": 0}
        old, new = (member, kicked) if blocked else (kicked, member)
        self.enqueue(
            "my_chat_member",
            {
                "chat": chat.wire_chat,
                "from": chat.wire_user,
                "date": int(time.time()),
                "old_chat_member": old,
                "new_chat_member": new,
            },
        )

    # ------------------------------------------------------------------ updates
    def enqueue(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates and wake the long polls; return it."""
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.updates.append(update)
        self.wake_pollers()
        return update

    def wake_pollers(self) -> None:
        """Wake every parked getUpdates."""
        event, self.update_event = self.update_event, asyncio.Event()
        event.set()

    def new_callback_query(self, chat: Chat) -> str:
        """A fresh callback query id, pending until the bot answers it."""
        qid = str(4_000_000_000_000_000 + self.next_query)
        self.next_query += 1
        self.pending_queries[qid] = chat.id
        self.query_chats[qid] = chat.id
        return qid

    # ------------------------------------------------------------------ files
    def store_file(
        self, content: bytes, kind: str, file_name: str | None, mime_type: str | None
    ) -> StoredFile:
        """Keep a file for getFile and the file endpoint; kind is "documents" or "photos"."""
        n = self.next_file
        self.next_file += 1
        ext = os.path.splitext(file_name or "")[1] or (".jpg" if kind == "photos" else "")
        prefix = "AgAC" if kind == "photos" else "BQAC"
        bot_id = int(self.bot_user["id"])
        stored = StoredFile(
            file_id=f"{prefix}AgUAAxkBAAI{n:06d}{bot_id % 100000:05d}",
            file_unique_id=f"AQAD{n:06d}",
            content=bytes(content),
            file_path=f"{kind}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[stored.file_id] = stored
        self.files_by_path[stored.file_path] = stored
        return stored

    @staticmethod
    def document_info(stored: StoredFile) -> dict[str, Any]:
        """Message.document for a stored file."""
        return {
            "file_name": stored.file_name,
            "content": stored.content,
            "mime": stored.mime_type,
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }

    def photo_info(self, content: bytes) -> dict[str, Any]:
        """Message.photo: two stored PhotoSizes (thumbnail, then full size)."""
        thumb = self.store_file(content, "photos", None, "image/jpeg")
        full = self.store_file(content, "photos", None, "image/jpeg")
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

    # ------------------------------------------------------------------ wire format
    def wire(self, chat: Chat, msg: Message, *, nested: bool = False) -> dict[str, Any]:
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
                out["reply_to_message"] = self.wire(chat, target, nested=True)
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
        inline = inline_keyboard(msg.reply_markup)
        if inline is not None:
            out["reply_markup"] = inline
        return out


def inline_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The inline keyboard of a markup, or None (an empty keyboard counts as none)."""
    if not markup or "inline_keyboard" not in markup:
        return None
    if not any(markup["inline_keyboard"]):
        return None
    return markup
