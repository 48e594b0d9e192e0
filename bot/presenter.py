"""The one presenter: screens rendered with content and sent to Telegram, for every sender.

An update's replies, an operator's push and a reminder all go through here: rendering and
keyboards, send-or-edit, the answer to a pressed button, and the Bot API's bad moments —
429 retry_after honoured a few times, 5xx answers and failed connections retried with backoff
for a bounded time, and a failure that leaves it unknown whether a message arrived (a read
timeout, a cut connection) never resent blindly, so nobody gets the same message twice.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import documents, request
from bot.content import Content
from bot.runtime import Runtime
from flows.core import Screen

log = logging.getLogger(__name__)

MAX_RETRIES = 3  # attempts after a 429 before giving up on one message
REPLY_RETRY_SECONDS = 30.0  # how long a send is retried through a Bot API outage
# Connection failures after which the request surely never reached the Bot API.
NOT_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    *request.NOT_SENT,
)

T = TypeVar("T")
OnRetry = Callable[[str], None]  # told "retry_after" or "network_retry" before each wait


def keyboard(content: Content, screen: Screen) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a screen, labels from content and data from the codec."""
    rows = content.keyboard(screen)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


@dataclass(frozen=True)
class Rendered:
    """A screen rendered for one chat: what is sent, and the message it replaces (if any)."""

    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None
    edit: int | None = None  # message id to edit in place
    silent: bool = False  # sent without sound (a push in the merchant's quiet hours)

    def kept(self) -> dict:
        """As kept with the applied update until sent (bot.inbox)."""
        rows = self.markup.inline_keyboard if self.markup else ()
        return {
            "chat_id": self.chat_id,
            "text": self.text,
            "rows": [[(b.text, b.callback_data) for b in row] for row in rows],
            "edit": self.edit,
            "silent": self.silent,
        }

    @classmethod
    def from_kept(cls, kept: dict) -> Rendered:
        """A kept reply, ready to send again."""
        rows = kept.get("rows") or []
        markup = (
            InlineKeyboardMarkup(
                [
                    [InlineKeyboardButton(label, callback_data=data) for label, data in row]
                    for row in rows
                ]
            )
            if rows
            else None
        )
        return cls(
            kept["chat_id"], kept["text"], markup, kept.get("edit"), bool(kept.get("silent"))
        )


# Told every screen with what it rendered to. None (off) in production; the end-to-end tests set
# it to learn which screen each message shows and which button is which (tests/contentkit.py).
on_render: Callable[[Screen, Rendered], None] | None = None


def render(
    content: Content,
    screen: Screen,
    chat_id: int,
    pressed: int | None = None,
    *,
    silent: bool = False,
) -> Rendered:
    """Render a screen; an edit screen replaces the pressed message when there is one."""
    out = Rendered(
        chat_id,
        content.render_text(screen.template, screen.data),
        keyboard(content, screen),
        pressed if screen.edit else None,
        silent,
    )
    if on_render is not None:
        on_render(screen, out)
    return out


# Answers after which the request was not carried out: the gateway could not reach the Bot API
# (502) or it is unavailable (503). A 500 or 504 may come after the message went out.
_NOT_CARRIED_OUT = ("Bad Gateway", "Service Unavailable", "(502)", "(503)")


def surely_not_sent(exc: NetworkError) -> bool:
    """A failure after which the request surely did not take effect: the connection was never
    made, or the server answered 502 / 503 (as a proxy does while the Bot API is away)."""
    if isinstance(exc.__cause__, NOT_SENT):
        return True
    return any(mark in exc.message for mark in _NOT_CARRIED_OUT)


async def with_retry(
    call: Callable[[], Awaitable[T]],  # noqa: UP047 - Python 3.11
    *,
    idempotent: bool = False,
    on_retry: OnRetry | None = None,
) -> T:
    """Run one Bot API call through 429s and short outages (see the module docstring);
    edits and callback answers are idempotent and retried after any network failure."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + REPLY_RETRY_SECONDS
    delay = 0.25
    flood = 0
    while True:
        try:
            return await call()
        except RetryAfter as exc:
            flood += 1
            if flood > MAX_RETRIES:
                raise
            if on_retry:
                on_retry("retry_after")
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
        except BadRequest:
            raise  # a NetworkError in PTB, but a final answer: retrying cannot help
        except NetworkError as exc:
            if not (idempotent or surely_not_sent(exc)) or loop.time() + delay > deadline:
                raise
            if on_retry:
                on_retry("network_retry")
            log.info("Bot API unavailable (%s); retrying in %.2f s", exc.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)


async def deliver(bot: Bot, out: Rendered, *, on_retry: OnRetry | None = None) -> None:
    """Send a rendered screen, or edit the pressed message in place."""
    if out.edit is not None:
        try:
            await with_retry(
                lambda: bot.edit_message_text(
                    out.text,
                    chat_id=out.chat_id,
                    message_id=out.edit,
                    parse_mode=ParseMode.HTML,
                    reply_markup=out.markup,
                ),
                idempotent=True,
                on_retry=on_retry,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return  # the screen already shows exactly this
            log.info("edit failed (%s); sending the screen as a new message", exc.message)
    await with_retry(
        lambda: bot.send_message(
            out.chat_id,
            out.text,
            parse_mode=ParseMode.HTML,
            reply_markup=out.markup,
            disable_notification=out.silent or None,
        ),
        on_retry=on_retry,
    )


async def answer(query: CallbackQuery, text: str | None) -> None:
    """Answer a button press so the client's spinner stops; a stale query is not an error."""
    try:
        await with_retry(lambda: query.answer(text), idempotent=True)
    except BadRequest as exc:
        log.info("callback answer refused: %s", exc.message)
    except NetworkError as exc:  # BadRequest is caught above
        log.warning("callback answer lost: %s", exc.message)


async def push(
    bot: Bot, runtime: Runtime, user_id: int, screens: list[Rendered]
) -> tuple[bool, str]:
    """Send screens to a merchant who did not write just now; (delivered, reason). A blocked
    chat pauses the merchant's reminders."""
    try:
        for screen in screens:
            await deliver(bot, screen)
    except Forbidden:
        await runtime.store.set_reachable(user_id, False)
        return False, "blocked"
    except TelegramError as exc:
        return False, exc.message[:120]
    return True, ""


async def send_export(bot: Bot, runtime: Runtime, user_id: int, chat_id: int) -> None:
    """Send everything stored about the merchant as a JSON document (/mydata)."""
    export = await runtime.store.export_merchant(user_id) or {"merchant": None}
    export["documents"] = await documents.list_documents(runtime.store, user_id)
    payload = json.dumps(export, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    await with_retry(
        lambda: bot.send_document(chat_id, InputFile(payload, filename=f"mydata-{user_id}.json"))
    )
