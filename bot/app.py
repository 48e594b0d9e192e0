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

import httpx
from telegram import (
    Bot,
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
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot import callbacks, documents, inbox
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
REPLY_RETRY_SECONDS = 30.0  # how long a reply is retried through a Bot API outage
# Connection failures after which the request surely never reached the Bot API.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


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


def _transient(exc: NetworkError) -> bool:
    """A failure after which the request surely did not take effect: the server answered with
    an error status (5xx from a proxy, no JSON), or the connection was never made."""
    cause = exc.__cause__
    if cause is None or isinstance(cause, NOT_SENT):
        return True
    # an error page that is not the Bot API's JSON (a proxy's 502): still an answer
    return isinstance(cause, TelegramError) and not isinstance(cause, NetworkError)


async def _with_retry(
    call: Callable[[], Awaitable[Message | bool]], *, idempotent: bool = False
) -> Message | bool:
    """Run one Bot API call through 429s and short outages.

    retry_after is honoured a few times; 5xx answers, refused connections and connect timeouts
    are retried with backoff for up to REPLY_RETRY_SECONDS. A failure that leaves it unknown
    whether the message arrived (read timeout, cut connection) is not retried for a send, so
    a merchant never gets the same answer twice; edits and callback answers are idempotent."""
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
            wait = exc.retry_after
            await asyncio.sleep(wait.total_seconds() if hasattr(wait, "total_seconds") else wait)
        except BadRequest:
            raise  # a NetworkError in PTB, but a final answer: retrying cannot help
        except NetworkError as exc:
            if not (idempotent or _transient(exc)) or loop.time() + delay > deadline:
                raise
            log.info("Bot API unavailable (%s); retrying in %.2f s", exc.message, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)


@dataclass(frozen=True)
class Rendered:
    """A screen rendered for one chat: what is sent, and the message it replaces (if any)."""

    chat_id: int
    text: str
    markup: InlineKeyboardMarkup | None
    edit: int | None = None  # message id to edit in place

    def kept(self) -> dict:
        """As kept with the applied update until sent (bot.inbox)."""
        return inbox.reply(self.chat_id, self.text, self.markup, self.edit)


def render(content: Content, screen: Screen, chat_id: int, pressed: int | None) -> Rendered:
    """Render a screen; an edit screen replaces the pressed message when there is one."""
    return Rendered(
        chat_id,
        content.render_text(screen.template, screen.data),
        keyboard(content, screen),
        pressed if screen.edit else None,
    )


async def deliver(bot: Bot, out: Rendered, *, silent: bool = False) -> None:
    """Send a rendered screen, or edit the pressed message in place."""
    if out.edit is not None:
        try:
            await _with_retry(
                lambda: bot.edit_message_text(
                    out.text,
                    chat_id=out.chat_id,
                    message_id=out.edit,
                    parse_mode=ParseMode.HTML,
                    reply_markup=out.markup,
                ),
                idempotent=True,
            )
            return
        except BadRequest as exc:
            if "not modified" in exc.message:
                return  # the screen already shows exactly this
            log.info("edit failed (%s); sending the screen as a new message", exc.message)
    await _with_retry(
        lambda: bot.send_message(
            out.chat_id,
            out.text,
            parse_mode=ParseMode.HTML,
            reply_markup=out.markup,
            disable_notification=silent or None,
        )
    )


async def show(
    update: Update, ctx: ContextTypes.DEFAULT_TYPE, content: Content, screen: Screen
) -> None:
    """Send a screen as a new message, or edit the pressed message in place."""
    chat_id = update.effective_chat.id if update.effective_chat else update.effective_user.id
    await deliver(ctx.bot, render(content, screen, chat_id, _pressed(update)))


def _pressed(update: Update) -> int | None:
    """The id of the message whose button was pressed (None for a message)."""
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.message_id
    return None


async def _answer(query: CallbackQuery, text: str | None) -> None:
    """Answer a button press so the client's spinner stops; a stale query is not an error."""
    try:
        await _with_retry(lambda: query.answer(text), idempotent=True)
    except BadRequest as exc:
        log.info("callback answer refused: %s", exc.message)
    except NetworkError as exc:  # BadRequest is caught above
        log.warning("callback answer lost: %s", exc.message)


async def commit(
    runtime: Runtime,
    before: MerchantState,
    outcome: Outcome,
    user_id: int,
    chat: Chat | None,
    language: str | None,
    now: datetime,
    *,
    update_id: int | None = None,
    replies: list[Rendered] = (),  # type: ignore[assignment]
) -> None:
    """Make the flow's decision durable before anything is shown to the merchant.

    The reminder plan is recomputed from the new state; when it differs from the old one the
    reminders table is reconciled in the same transaction as the state. The update that caused
    a change is marked applied in that transaction, with its rendered replies (bot.inbox).
    """
    if "delete" in outcome.effects:
        # what their unfinished updates hold goes first: the deletion's checkpoint then
        # removes every copy from the files
        await runtime.store.forget_update_contents(user_id)
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
            update_id=update_id,
            replies=[r.kept() for r in replies] if update_id is not None else None,
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
    *,
    update_id: int | None = None,
    operator_chat: int | None = None,
) -> Screen:
    """Carry out an operator command on another merchant; the operator's confirmation.

    A status change is committed with the operator's update marked applied, keeping the push
    and a confirmation, so that a crash before they are sent does not lose them."""
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
        content = runtime.contents.default
        pushes = [render(content, screen, target, None) for screen in outcome.screens]
        kept = list(pushes)
        if operator_chat is not None:
            unsent = operator.done_screen(target, order["status"], order["note"], None, "")
            kept.append(render(content, unsent, operator_chat, None))
        await commit(
            runtime, state, outcome, target, None, None, now, update_id=update_id, replies=kept
        )
        delivered, reason = await push(ctx, runtime, target, pushes)
    return operator.done_screen(target, order["status"], order["note"], delivered, reason)


async def push(
    ctx: ContextTypes.DEFAULT_TYPE, runtime: Runtime, user_id: int, screens: list[Rendered]
) -> tuple[bool, str]:
    """Send screens to a merchant who did not write just now; (delivered, reason)."""
    # A result recorded at night arrives at once but silently (no sound or vibration), so
    # the merchant finds it in the morning and the quiet hours hold.
    silent = rem.in_quiet_hours(runtime.clock.now(), runtime.timezone)
    try:
        for screen in screens:
            await deliver(ctx.bot, screen, silent=silent)
    except Forbidden:
        await runtime.store.set_reachable(user_id, False)
        return False, "blocked"
    except TelegramError as exc:
        return False, exc.message[:120]
    return True, ""


def make_dispatch(runtime: Runtime) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable]:
    """The one handler every update goes through."""

    async def dispatch(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update, then record it as finished (bot.inbox): its contents are
        forgotten, and a restart will not handle it again."""
        final = "failed"
        try:
            final = await handle(update, ctx) or "answered"
        finally:
            await runtime.store.finish_update(update.update_id, final)

    async def handle(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> str | None:
        """Decode, decide, commit, then answer and show; "failed" if the replies could not
        be delivered."""
        user = update.effective_user
        chat = update.effective_chat
        if user is None or (chat is not None and chat.type != ChatType.PRIVATE):
            return  # the bot works in private chats only
        if chat is not None and chat.id != user.id:
            # A private chat has one user: a press or message from anyone else (Telegram sends
            # none) changes nothing, neither the owner's screen nor anyone's chat_id.
            if update.callback_query is not None:
                stale = runtime.contents.for_language(user.language_code).notice("stale")
                await _answer(update.callback_query, stale)
            return
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
        chat_id = chat.id if chat else user.id
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
                pressed = _pressed(update)
                replies = [render(content, s, chat_id, pressed) for s in outcome.screens]
                await commit(
                    runtime,
                    state,
                    outcome,
                    user.id,
                    chat,
                    user.language_code,
                    now,
                    update_id=update.update_id,
                    replies=replies,
                )
                if query is not None:
                    answered = True
                    await _answer(
                        query,
                        content.notice(outcome.notice, outcome.notice_params)
                        if outcome.notice
                        else None,
                    )
                for out in replies:
                    await deliver(ctx.bot, out)
                if "export" in outcome.effects:
                    await send_export(ctx, runtime, user.id, chat_id)
            if outcome.operator is not None:
                # outside the operator's own lock: the target merchant's lock is taken instead
                reply = await run_operator(
                    ctx,
                    runtime,
                    user.id,
                    outcome.operator,
                    now,
                    update_id=update.update_id,
                    operator_chat=chat_id,
                )
                await deliver(ctx.bot, render(content, reply, chat_id, None))
        except Forbidden:
            log.info("user %s blocked the bot", user.id)
        except NetworkError as exc:
            if isinstance(exc, BadRequest):
                raise  # the Bot API refused what we sent: a fault of ours, for on_error
            # retried through a short outage already: the merchant's saved state is safe
            log.warning("update %s: reply not delivered: %s", update.update_id, exc.message)
            return "failed"
        finally:
            if query is not None and not answered:
                await _answer(query, None)
        return None

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
        # every update is on disk before the next getUpdates confirms it (bot.inbox)
        .update_queue(inbox.DurableQueue(runtime.store, runtime.clock))
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
    # what a stopped process left half done comes first: handled, or its replies sent
    await inbox.recover(app.bot, runtime.store, app.update_queue, runtime.clock)
    await app.updater.start_polling(  # type: ignore[union-attr]
        poll_interval=0.0, timeout=timeout, allowed_updates=Update.ALL_TYPES
    )


async def stop_polling(app: Application) -> None:
    """Stop polling and the Application (updates in progress are finished first)."""
    await app.updater.stop()  # type: ignore[union-attr]
    await app.stop()
