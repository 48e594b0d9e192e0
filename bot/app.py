"""The Telegram adapter: updates in, flows decide, screens out.

Data flows one way: an update is decoded into a flow event, the merchant's state is loaded,
flows/ decides, the new state is committed, then the screens are rendered and sent. Updates of
one chat are processed strictly in order (a per-user lock) while different chats proceed
concurrently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import (
    BotCommand,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot import callbacks, documents
from bot.clock import Clock
from bot.content import Content, ContentRegistry
from bot.store import Store
from flows import journey, operator, router, status
from flows import reminders as rem
from flows.core import (
    Command,
    Context,
    Event,
    MerchantState,
    Outcome,
    Press,
    Screen,
    Text,
    Upload,
)

log = logging.getLogger(__name__)

Observer = Callable[[Update], Awaitable[None]]
MAX_RETRIES = 3  # attempts after a 429 before giving up on one message


class KeyedLocks:
    """One asyncio.Lock per key, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: int) -> AsyncIterator[None]:
        """Hold the key's lock; waiters are served in arrival order."""
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


@dataclass
class Runtime:
    """What the handlers share: configuration, store, content, clock."""

    store: Store
    contents: ContentRegistry
    clock: Clock
    timezone: ZoneInfo
    admin_ids: frozenset[int] = frozenset()
    files_dir: Path = Path("data/files")
    # Called after a merchant's reminder plan changed (the scheduler wakes up).
    on_plan_change: Callable[[], None] = lambda: None
    locks: KeyedLocks = field(default_factory=KeyedLocks)


def decode_update(update: Update, bot_username: str | None) -> Event | None:
    """Turn an update into a flow event; None for what the bot ignores."""
    if update.callback_query is not None:
        press = callbacks.decode(update.callback_query.data)
        return press or Press("__forged__")
    message = update.message
    if message is None:
        return None
    if message.text is not None:
        text = message.text
        if text.startswith("/"):
            head, _, args = text[1:].partition(" ")
            name, _, target = head.partition("@")
            if target and bot_username and target.lower() != bot_username.lower():
                return None  # a command for another bot
            return Command(name.lower(), args.strip())
        return Text(text)
    if message.document is not None:
        doc = message.document
        return Upload(doc.file_id, doc.file_name or "", doc.file_size, "document", doc.mime_type)
    if message.photo:
        photo = message.photo[-1]  # the largest size comes last
        return Upload(photo.file_id, "photo.jpg", photo.file_size, "photo", "image/jpeg")
    return Text("")  # stickers, voice, locations…: answered like unknown text


def keyboard(content: Content, screen: Screen) -> InlineKeyboardMarkup | None:
    """The inline keyboard of a screen, labels from content and data from the codec."""
    rows = content.keyboard(screen)
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=data) for label, data in row] for row in rows]
    )


async def _with_retry(call: Callable[[], Awaitable[Message | bool]]) -> Message | bool:
    """Run one Bot API call, honouring 429 retry_after a few times."""
    for attempt in range(MAX_RETRIES + 1):
        try:
            return await call()
        except RetryAfter as exc:
            if attempt == MAX_RETRIES:
                raise
            delay = exc.retry_after
            seconds = delay.total_seconds() if hasattr(delay, "total_seconds") else float(delay)
            await asyncio.sleep(seconds)
    raise AssertionError("unreachable")


async def show(
    update: Update, ctx: ContextTypes.DEFAULT_TYPE, content: Content, screen: Screen
) -> None:
    """Send a screen as a new message, or edit the pressed message in place."""
    text = content.render_text(screen.template, screen.data)
    markup = keyboard(content, screen)
    chat_id = update.effective_chat.id if update.effective_chat else update.effective_user.id
    query = update.callback_query
    if screen.edit and query is not None and query.message is not None:
        message_id = query.message.message_id
        try:
            await _with_retry(
                lambda: ctx.bot.edit_message_text(
                    text,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                )
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return  # the screen already shows exactly this
            log.info("edit failed (%s); sending the screen as a new message", exc.message)
    await _with_retry(
        lambda: ctx.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)
    )


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Answer a button press so the client's spinner stops; a stale query is not an error."""
    try:
        await query.answer(text)
    except BadRequest as exc:
        log.info("callback answer refused: %s", exc.message)


async def commit(
    runtime: Runtime,
    before: MerchantState,
    outcome: Outcome,
    user_id: int,
    chat: Chat | None,
    language: str | None,
    now: datetime,
) -> None:
    """Make the flow's decision durable before anything is shown to the merchant.

    The reminder plan is recomputed from the new state; when it differs from the old one the
    reminders table is reconciled in the same transaction as the state.
    """
    if "delete" in outcome.effects:
        await runtime.store.delete_merchant(user_id)
        await documents.delete_documents(runtime.store, runtime.files_dir, user_id)
        runtime.on_plan_change()
        return
    catalog = runtime.contents.default.catalog
    changed_data = outcome.state.created or outcome.state.data != before.data
    # The plan derives from the state, so an unchanged state keeps its plan (the one part that
    # moves with time, the recurring operation check, is re-planned by the scheduler).
    new_plan = rem.plan(outcome.state.data, catalog, runtime.timezone, now) if changed_data else []
    changed_plan = changed_data and (
        new_plan != rem.plan(before.data, catalog, runtime.timezone, now)
        or (outcome.state.created and bool(new_plan))
    )
    if changed_data or outcome.state.unreachable or outcome.records:
        upcoming = journey.next_stage(outcome.state.data, Context(catalog, now))
        await runtime.store.save_merchant(
            outcome.state,
            chat_id=chat.id if chat else user_id,
            language=language,
            now=now,
            records=outcome.records,
            plan=new_plan if changed_plan else None,
            stage=upcoming["key"] if upcoming else "done",
            from_merchant=chat is not None,
        )
    if changed_plan or (outcome.state.unreachable and chat is not None):
        runtime.on_plan_change()  # new reminders, or a merchant reachable again


async def send_export(
    ctx: ContextTypes.DEFAULT_TYPE, runtime: Runtime, user_id: int, chat_id: int
) -> None:
    """Send everything stored about the merchant as a JSON document (/mydata)."""
    export = await runtime.store.export_merchant(user_id) or {"merchant": None}
    export["documents"] = await documents.list_documents(runtime.store, user_id)
    payload = json.dumps(export, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    await _with_retry(
        lambda: ctx.bot.send_document(
            chat_id,
            InputFile(payload, filename=f"mydata-{user_id}.json"),
        )
    )


async def run_operator(
    ctx: ContextTypes.DEFAULT_TYPE,
    runtime: Runtime,
    operator_id: int,
    order: dict,
    now: datetime,
) -> Screen:
    """Carry out an operator command on another merchant; the operator's confirmation."""
    catalog = runtime.contents.default.catalog
    if order["op"] == "stats":
        return operator.stats_screen(await runtime.store.stage_counts(runtime.admin_ids))
    target = int(order["target"])
    async with runtime.locks.hold(target):
        state = await runtime.store.load_merchant(target)
        if state.created:
            return operator.unknown_merchant(target)
        target_ctx = Context(catalog, now)
        if order["op"] == "merchant":
            history = await runtime.store.status_history(target)
            extra = {
                "unreachable": state.unreachable,
                "reminders": await runtime.store.reminders_of(target),
            }
            return operator.merchant_card(state, history, target_ctx, extra)
        outcome = router.route_labels(
            status.change_status(
                Outcome(state.copy()),
                target_ctx,
                order["status"],
                order["note"],
                f"operator:{operator_id}",
            ),
            target_ctx,
        )
        await commit(runtime, state, outcome, target, None, None, now)
        delivered, reason = await push(ctx, runtime, target, outcome.screens)
    return operator.done_screen(target, order["status"], order["note"], delivered, reason)


async def push(
    ctx: ContextTypes.DEFAULT_TYPE, runtime: Runtime, user_id: int, screens: list[Screen]
) -> tuple[bool, str]:
    """Send screens to a merchant who did not write just now; (delivered, reason)."""
    content = runtime.contents.default
    # A result recorded at night arrives at once but silently (no sound or vibration), so
    # the merchant finds it in the morning and the quiet hours hold.
    silent = rem.in_quiet_hours(runtime.clock.now(), runtime.timezone)
    try:
        for screen in screens:
            text = content.render_text(screen.template, screen.data)
            markup = keyboard(content, screen)
            await _with_retry(
                lambda text=text, markup=markup: ctx.bot.send_message(
                    user_id,
                    text,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    disable_notification=silent,
                )
            )
    except Forbidden:
        await runtime.store.set_reachable(user_id, False)
        return False, "blocked"
    except TelegramError as exc:
        return False, exc.message[:120]
    return True, ""


def make_dispatch(runtime: Runtime) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable]:
    """The one handler every update goes through."""

    async def dispatch(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Decode, decide, commit, then answer and show."""
        user = update.effective_user
        chat = update.effective_chat
        if user is None or (chat is not None and chat.type != ChatType.PRIVATE):
            return  # the bot works in private chats only
        if update.my_chat_member is not None:
            # Telegram tells us when the merchant blocks or unblocks the bot: pause or resume
            # their reminders at once instead of learning it from a failed send.
            status = update.my_chat_member.new_chat_member.status
            reachable = status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
            if await runtime.store.set_reachable(user.id, reachable) and reachable:
                runtime.on_plan_change()
            return
        event = decode_update(update, ctx.bot.username)
        query = update.callback_query
        if event is None:
            if query is not None:
                await _answer(query, None)
            return
        content = runtime.contents.for_language(user.language_code)
        answered = False
        try:
            async with runtime.locks.hold(user.id):
                state = await runtime.store.load_merchant(user.id)
                now = runtime.clock.now().astimezone(runtime.timezone)
                flow_ctx = Context(content.catalog, now, user.id in runtime.admin_ids)
                outcome: Outcome = router.handle(state, event, flow_ctx)
                if outcome.download is not None:
                    # The flow accepted a file: fetch, check and store it, then let the flow
                    # see the result (a second pass; the state saved is the final one).
                    result = await documents.fetch_and_store(
                        ctx.bot,
                        runtime.store,
                        runtime.files_dir,
                        user.id,
                        outcome.download,
                        outcome.download_item or "",
                        now,
                    )
                    outcome = router.handle(outcome.state, result, flow_ctx)
                await commit(runtime, state, outcome, user.id, chat, user.language_code, now)
                if query is not None:
                    answered = True
                    await _answer(
                        query,
                        content.notice(outcome.notice, outcome.notice_params)
                        if outcome.notice
                        else None,
                    )
                for screen in outcome.screens:
                    await show(update, ctx, content, screen)
                if "export" in outcome.effects:
                    await send_export(ctx, runtime, user.id, chat.id if chat else user.id)
            if outcome.operator is not None:
                # outside the operator's own lock: the target merchant's lock is taken instead
                reply = await run_operator(ctx, runtime, user.id, outcome.operator, now)
                await show(update, ctx, content, reply)
        except Forbidden:
            log.info("user %s blocked the bot", user.id)
        finally:
            if query is not None and not answered:
                await _answer(query, None)

    return dispatch


async def on_error(update: object, ctx: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure and tell the merchant politely; nothing they saved is lost."""
    log.error("update failed", exc_info=ctx.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        runtime: Runtime = ctx.bot_data["runtime"]
        content = runtime.contents.default
        try:
            await ctx.bot.send_message(
                update.effective_chat.id, content.render_text("error"), parse_mode=ParseMode.HTML
            )
        except TelegramError:
            pass


def bot_commands(content: Content) -> list[BotCommand]:
    """The command list shown in Telegram's "/" menu, in Chinese."""
    return [BotCommand(name, text) for name, text in content.data["ui"]["commands"].items()]


def build_application(
    runtime: Runtime,
    *,
    token: str,
    base_url: str,
    base_file_url: str,
    observer: Observer | None = None,
    concurrency: int = 256,
) -> Application:
    """The real python-telegram-bot Application, pointed at any Bot API server."""
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .concurrent_updates(concurrency)
        .build()
    )
    app.bot_data["runtime"] = runtime
    # Order matters: group 0 does all the work; the observer (tests, playground) runs after it.
    app.add_handler(TypeHandler(Update, make_dispatch(runtime)), group=0)
    if observer is not None:

        async def observe(update: Update, _ctx: ContextTypes.DEFAULT_TYPE) -> None:
            """Tell the observer this update is fully handled."""
            await observer(update)

        app.add_handler(TypeHandler(Update, observe), group=99)
    app.add_error_handler(on_error)
    return app


async def start_polling(app: Application, *, timeout: int = 30) -> None:
    """Start an initialised Application: register the "/" menu, then poll for updates."""
    runtime: Runtime = app.bot_data["runtime"]
    await app.bot.set_my_commands(bot_commands(runtime.contents.default))
    await app.start()
    await app.updater.start_polling(  # type: ignore[union-attr]
        poll_interval=0.0, timeout=timeout, allowed_updates=Update.ALL_TYPES
    )


async def stop_polling(app: Application) -> None:
    """Stop polling and the Application (updates in progress are finished first)."""
    await app.updater.stop()  # type: ignore[union-attr]
    await app.stop()
