"""A merchant at the keyboard of the local Bot API server: send text, press buttons, read replies.

Used by the end-to-end tests, the `chat` playground and the benchmarks, so that conversations
read like a transcript. It synchronises on events: the Application's observer reports each
update it finished, and the server records every call the bot made.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass

from telegram import Update

from devserver.server import BotApiServer

SHOWING_METHODS = frozenset(
    {"sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument"}
)


class UpdateTracker:
    """The observer given to build_application: remembers which updates are fully handled."""

    def __init__(self) -> None:
        self.done: set[int] = set()
        self._cond = asyncio.Condition()

    async def __call__(self, update: Update) -> None:
        """Record one handled update."""
        async with self._cond:
            self.done.add(update.update_id)
            self._cond.notify_all()

    async def wait(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the update has been handled by the Application."""
        async with self._cond:
            await asyncio.wait_for(self._cond.wait_for(lambda: update_id in self.done), timeout)


_TAG = re.compile(r"<[^>]+>")


def html_to_plain(text: str) -> str:
    """What a person sees: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", text))


@dataclass
class Shown:
    """A message the bot sent, or edited, as the merchant sees it."""

    message_id: int
    text: str
    html: str
    buttons: list[list[tuple[str, str]]]
    edited: bool
    document: str | None = None

    @property
    def labels(self) -> list[str]:
        """All button labels, row by row."""
        return [label for row in self.buttons for label, _ in row]

    def button(self, part: str) -> str:
        """The callback data of the first button whose label contains `part`."""
        for row in self.buttons:
            for label, data in row:
                if part in label:
                    return data
        raise LookupError(f"no button containing {part!r}; buttons: {self.labels}")


def _buttons(markup: object) -> list[list[tuple[str, str]]]:
    """(label, callback_data) rows of an inline keyboard as the server received it."""
    if not isinstance(markup, dict):
        return []
    return [
        [(b.get("text", ""), b.get("callback_data") or b.get("url") or "") for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


def shown_since(server: BotApiServer, since: int) -> list[tuple[int, Shown]]:
    """(chat id, message) for everything the bot sent or edited since a server mark."""
    shown: list[tuple[int, Shown]] = []
    for call in server.calls[since:]:
        if not call.ok or call.method not in SHOWING_METHODS or call.chat_id is None:
            continue
        result = call.result if isinstance(call.result, dict) else {}
        raw = call.params.get("text") or result.get("text") or ""
        document = None
        if call.method == "sendDocument":
            doc = result.get("document") or {}
            document = doc.get("file_name") or "document"
            raw = call.params.get("caption") or ""
        item = Shown(
            message_id=int(result.get("message_id") or call.params.get("message_id") or 0),
            text=html_to_plain(raw) if call.params.get("parse_mode") == "HTML" else raw,
            html=raw,
            buttons=_buttons(call.params.get("reply_markup")),
            edited=call.method.startswith("edit"),
            document=document,
        )
        shown.append((call.chat_id, item))
    return shown


class MerchantClient:
    """One simulated merchant in a private chat with the bot."""

    def __init__(
        self,
        server: BotApiServer,
        tracker: UpdateTracker,
        user_id: int,
        *,
        first_name: str = "商家",
        language_code: str = "zh-hans",
        timeout: float = 10.0,
    ) -> None:
        self.server = server
        self.tracker = tracker
        self.user_id = user_id
        self.first_name = first_name
        self.language_code = language_code
        self.timeout = timeout
        self.last: Shown | None = None  # the last screen with buttons

    async def _round(self, update: dict, since: int) -> list[Shown]:
        """Wait until the update is handled; return what the bot showed in this chat."""
        await self.tracker.wait(update["update_id"], self.timeout)
        shown = [item for chat, item in shown_since(self.server, since) if chat == self.user_id]
        for item in shown:
            if item.buttons:
                self.last = item
        return shown

    async def send(self, text: str) -> list[Shown]:
        """Type a message (or a /command) and wait for the bot's answer."""
        since = self.server.mark()
        update = self.server.user_sends_text(
            self.user_id, text, first_name=self.first_name, language_code=self.language_code
        )
        return await self._round(update, since)

    async def press_data(self, message_id: int, data: str) -> list[Shown]:
        """Press a button given its raw callback data (also forged or stale data)."""
        since = self.server.mark()
        update = self.server.user_clicks(self.user_id, message_id, data)
        return await self._round(update, since)

    async def press(self, part: str, screen: Shown | None = None) -> list[Shown]:
        """Press the button whose label contains `part` on the last screen (or the one given)."""
        target = screen or self.last
        if target is None:
            raise LookupError("no screen with buttons yet")
        return await self.press_data(target.message_id, target.button(part))

    async def send_document(self, content: bytes, file_name: str, mime_type: str) -> list[Shown]:
        """Send a file as a document."""
        since = self.server.mark()
        update = self.server.user_sends_document(self.user_id, content, file_name, mime_type)
        return await self._round(update, since)

    async def send_photo(self, content: bytes) -> list[Shown]:
        """Send a photo."""
        since = self.server.mark()
        update = self.server.user_sends_photo(self.user_id, content)
        return await self._round(update, since)
