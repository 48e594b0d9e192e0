"""The Telegram adapter: updates in, flows decide, screens out.

Data flows one way: an update is decoded into a flow event, the merchant's state is loaded,
flows/ decides (`flows.router.handle` returns the new state, the screens, the reminder plan,
the stage and the effects only the adapter can perform), the decision is committed, then the
screens are rendered and sent by the presenter. Updates of one chat are processed strictly in
order (a per-user lock) while different chats proceed concurrently.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import nullcontext
from datetime import datetime
from typing import Any, Literal, cast

from telegram import BotCommand, Chat, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    TypeHandler,
    Updater,
)

from bot import callbacks, documents, inbox, presenter
from bot.content import Content
from bot.replica import Liveness
from bot.request import AiohttpRequest
from bot.runtime import Runtime
from bot.store import merchant_state
from flows import router
from flows.core import (
    Command,
    ConsoleLogin,
    Context,
    Download,
    Erase,
    Event,
    Export,
    OperatorOrder,
    Outcome,
    Press,
    Screen,
    Text,
    Upload,
)

log = logging.getLogger(__name__)

ELSEWHERE = "elsewhere"  # an update another replica handled (or is handling) already
FINISHED = "finished"  # an update recorded as finished by its handler, under the lock

Observer = Callable[[Update], Awaitable[None]]


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


def _pressed(update: Update) -> int | None:
    """The id of the message whose button was pressed (None for a message)."""
    query = update.callback_query
    if query is not None and query.message is not None:
        return query.message.message_id
    return None


async def commit(
    runtime: Runtime,
    outcome: Outcome,
    user_id: int,
    chat: Chat | None,
    language: str | None,
    now: datetime,
    *,
    update_id: int | None = None,
    replies: list[presenter.Rendered] | None = None,
) -> None:
    """Make the flow's decision durable before anything is shown to the merchant: the state,
    its history records and reminder plan (when changed) in one transaction, together with the
    update marked applied and its rendered replies (bot.inbox)."""
    kept = [r.kept() for r in replies or ()]
    if outcome.effect(Erase):
        # files first, then every row at once with the update marked applied: a crash in
        # between leaves the update to be handled again, never a file without its row
        await documents.remove_files(runtime.store, runtime.files_dir, user_id)
        await runtime.store.erase_merchant(
            user_id,
            update_id=update_id,
            replies=kept,
        )
        runtime.on_plan_change()
        return
    reachable_again = outcome.state.unreachable and chat is not None
    if outcome.changed or reachable_again or outcome.records:
        await runtime.store.save_merchant(
            outcome.state,
            chat_id=chat.id if chat else user_id,
            language=language,
            now=now,
            records=outcome.records,
            plan=outcome.plan,
            stage=outcome.stage,
            from_merchant=chat is not None,
            update_id=update_id,
            replies=kept,
        )
    if outcome.plan is not None or reachable_again:
        runtime.on_plan_change()  # new reminders, or a merchant reachable again


async def run_operator(
    ctx: ContextTypes.DEFAULT_TYPE,
    runtime: Runtime,
    order: OperatorOrder,
    now: datetime,
    *,
    update_id: int | None = None,
    operator_chat: int | None = None,
) -> Screen | None:
    """Carry out an operator command on another merchant; the operator's confirmation (None
    when another replica carried out that update already).

    A status change is committed with the operator's update marked applied, keeping the push
    and a confirmation, so that a crash before they are sent does not lose them."""
    catalog = runtime.contents.default.catalog
    if order.op == "stats":
        return router.stats_screen(await runtime.store.stage_counts(runtime.admin_ids))
    target = int(order.target or 0)
    async with runtime.locks.hold(target):
        if update_id is not None and not await runtime.store.still_received(update_id):
            return None
        state = await runtime.store.load_merchant(target)
        if state.created:
            return router.unknown_merchant(target)
        target_ctx = Context(catalog, now)
        if order.op == "merchant":
            history = await runtime.store.status_history(target)
            extra = {
                "unreachable": state.unreachable,
                "reminders": await runtime.store.reminders_of(target),
            }
            return router.merchant_card(state, history, target_ctx, extra)
        refused = router.refused_order(state, order, target_ctx)
        if refused is not None:
            return refused  # no route or no submission: nothing changes, nothing is pushed
        outcome = router.apply_order(state, order, target_ctx)
        content = runtime.contents.default
        # a result recorded at night arrives at once but silently (no sound or vibration)
        pushes = [
            presenter.render(content, screen, target, silent=outcome.quiet)
            for screen in outcome.screens
        ]
        kept = list(pushes)
        if operator_chat is not None:
            unsent = router.done_screen(target, order.status, order.note, None, "", now.date())
            kept.append(presenter.render(content, unsent, operator_chat))
        await commit(runtime, outcome, target, None, None, now, update_id=update_id, replies=kept)
        delivered, reason = await presenter.push(ctx.bot, runtime, target, pushes)
    return router.done_screen(target, order.status, order.note, delivered, reason, now.date())


async def console_link(ctx: ContextTypes.DEFAULT_TYPE, login: ConsoleLogin) -> Screen:
    """/console: a fresh one-time link from the running console (bot.console), or the notice
    that it is turned off (BOT_CONSOLE_PORT=0)."""
    console = ctx.bot_data.get("console")  # put there by bot.console.Console.start
    if console is None:
        return router.console_screen(None, 0)
    return router.console_screen(await console.issue_link(login.by), console.link_minutes)


def make_dispatch(
    runtime: Runtime,
) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]:
    """The one handler every update goes through."""

    async def dispatch(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle one update, then record it as finished (bot.inbox): its contents are
        forgotten, and a restart will not handle it again."""
        final = "failed"
        try:
            final = await handle(update, ctx) or "answered"
        finally:
            if final not in (ELSEWHERE, FINISHED):
                await runtime.store.finish_update(update.update_id, final)

    async def replay(row: dict[str, Any], ctx: ContextTypes.DEFAULT_TYPE) -> None:
        """Handle, under its merchant's lock already held, an update of theirs recorded
        earlier than the one at hand and not handled yet (see handle)."""
        update = Update.de_json(json.loads(row["payload"]), ctx.bot)
        final = "failed"
        try:
            final = await handle(update, ctx, held=True) or "answered"
        except Exception:
            log.exception("update %s (handled before a later one) failed", row["update_id"])
        finally:
            if final not in (ELSEWHERE, FINISHED):
                await runtime.store.finish_update(update.update_id, final)

    async def handle(
        update: Update, ctx: ContextTypes.DEFAULT_TYPE, *, held: bool = False
    ) -> str | None:
        """Decode, decide, commit, then answer and show; "failed" if the replies could not
        be delivered, ELSEWHERE if another replica handled it.

        Under the merchant's lock, their updates recorded earlier and not handled yet go
        first: with several replicas (or a webhook's parallel requests) a later update may
        take the lock before an earlier one, and with it the earlier ones are handled here,
        in the order Telegram numbered them; whoever holds the earlier one then finds it
        done. `held`: called for such an earlier update (the lock is held already)."""
        user = update.effective_user
        chat = update.effective_chat
        if user is None or (chat is not None and chat.type != ChatType.PRIVATE):
            return None  # the bot works in private chats only
        if chat is not None and chat.id != user.id:
            # A private chat has one user: a press or message from anyone else (Telegram sends
            # none) changes nothing, neither the owner's screen nor anyone's chat_id.
            if update.callback_query is not None:
                stale = runtime.contents.for_language(user.language_code).notice("stale")
                await presenter.answer(update.callback_query, stale)
            return None
        if update.my_chat_member is not None:
            # Telegram tells us when the merchant blocks or unblocks the bot: pause or resume
            # their reminders at once instead of learning it from a failed send.
            member = update.my_chat_member.new_chat_member.status
            reachable = member not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
            if await runtime.store.set_reachable(user.id, reachable) and reachable:
                runtime.on_plan_change()
            return None
        event = decode_update(update, ctx.bot.username)
        query = update.callback_query
        if event is None:
            if query is not None:
                await presenter.answer(query, None)
            return None
        content = runtime.contents.for_language(user.language_code)
        chat_id = chat.id if chat else user.id
        answered = False
        try:
            async with nullcontext() if held else runtime.locks.hold(user.id):
                if held:
                    state = await runtime.store.load_merchant(user.id)
                else:
                    earlier, waiting, row = await runtime.store.in_order(user.id, update.update_id)
                    for pending in earlier:
                        await replay(pending, ctx)
                    if not waiting:
                        answered = True  # with the rest, by whoever handled it
                        return ELSEWHERE
                    state = (
                        await runtime.store.load_merchant(user.id)  # changed by those
                        if earlier
                        else merchant_state(user.id, row)
                    )
                now = runtime.clock.now().astimezone(runtime.timezone)
                flow_ctx = Context(content.catalog, now, user.id in runtime.admin_ids)
                outcome = router.handle(state, event, flow_ctx)
                download = outcome.effect(Download)
                if download is not None:
                    # The flow accepted a file: fetch, check and store it, then let the flow
                    # see the result (a second pass; the state saved is the final one).
                    result = await documents.fetch_and_store(
                        ctx.bot,
                        runtime.store,
                        runtime.files_dir,
                        user.id,
                        download.upload,
                        download.item,
                        now,
                    )
                    outcome = router.handle(outcome.state, result, flow_ctx, since=state)
                pressed = _pressed(update)
                replies = [presenter.render(content, s, chat_id, pressed) for s in outcome.screens]
                order = outcome.effect(OperatorOrder)
                await commit(
                    runtime,
                    outcome,
                    user.id,
                    chat,
                    user.language_code,
                    now,
                    # an operator's order is applied with the target merchant's change
                    update_id=None if order else update.update_id,
                    replies=replies,
                )
                if query is not None:
                    answered = True
                    notice = outcome.notice
                    await presenter.answer(
                        query, content.notice(notice, outcome.notice_params) if notice else None
                    )
                for out in replies:
                    await presenter.deliver(ctx.bot, out)
                if outcome.effect(Export):
                    await presenter.send_export(ctx.bot, runtime, user.id, chat_id)
                login = outcome.effect(ConsoleLogin)
                if login is not None:
                    link = await console_link(ctx, login)
                    await presenter.deliver(ctx.bot, presenter.render(content, link, chat_id))
                if order is None:
                    # finished before the lock is let go: the merchant's next update must not
                    # find this one still waiting and handle it again (see above)
                    await runtime.store.finish_update(update.update_id)
                    return FINISHED
            if order is not None:
                # outside the operator's own lock: the target merchant's lock is taken instead
                reply = await run_operator(
                    ctx, runtime, order, now, update_id=update.update_id, operator_chat=chat_id
                )
                if reply is None:
                    return ELSEWHERE
                await presenter.deliver(ctx.bot, presenter.render(content, reply, chat_id))
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
                await presenter.answer(query, None)
        return None

    return dispatch


async def on_error(update: object, ctx: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure and tell the merchant politely; nothing they saved is lost."""
    log.error("update failed", exc_info=ctx.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        runtime: Runtime = ctx.bot_data["runtime"]
        content = runtime.contents.default
        try:
            await ctx.bot.send_message(update.effective_chat.id, content.render_text("error"))
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
    http: Literal["aiohttp", "httpx"] = "aiohttp",
) -> Application:
    """The real python-telegram-bot Application, pointed at any Bot API server.

    `http`: the Bot API client: aiohttp (bot.request: a third less CPU per update) or PTB's
    default httpx (kept for the benchmarks' before/after)."""
    builder = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .concurrent_updates(concurrency)
    )
    if http == "aiohttp":
        builder = builder.request(AiohttpRequest(connection_pool_size=concurrency))
        builder = builder.get_updates_request(AiohttpRequest(connection_pool_size=1))
    app = (
        builder
        # every text is HTML (content/ escapes every variable)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
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


async def start_application(app: Application) -> None:
    """Start an initialised Application: register the "/" menu, start handling updates, and
    first finish what a stopped process left half done (handled, or its replies sent)."""
    runtime: Runtime = app.bot_data["runtime"]
    await app.bot.set_my_commands(bot_commands(runtime.contents.default))
    await app.start()
    queue = cast(inbox.DurableQueue, app.update_queue)  # build_application's update queue
    if runtime.store.dialect == "sqlite":  # one process: everything left is this process's
        await inbox.recover(app.bot, runtime, queue, runtime.clock)
        return
    # PostgreSQL, where other replicas may be at work: what processes that are gone left,
    # now and whenever one dies (bot.replica, bot.inbox.keep_recovering, stopped before the
    # Application by stop_recovering)
    liveness = runtime.store.liveness = Liveness(runtime.store.db.pool.conninfo)
    runtime.store.owner = await liveness.start()  # let go when the store closes
    await inbox.recover(app.bot, runtime, queue, runtime.clock, liveness=liveness)
    sweeper = asyncio.create_task(inbox.keep_recovering(app.bot, runtime, queue, liveness))
    app.bot_data["sweeper"] = sweeper


async def start_polling(app: Application, *, timeout: int = 30) -> None:
    """Start an initialised Application (start_application), then poll for updates."""
    await start_application(app)
    await _updater(app).start_polling(
        poll_interval=0.0, timeout=timeout, allowed_updates=Update.ALL_TYPES
    )


async def stop_polling(app: Application) -> None:
    """Stop polling and the Application (updates in progress are finished first); either may
    not have started (a start that failed half way)."""
    await stop_recovering(app)
    if _updater(app).running:
        await _updater(app).stop()
    if app.running:
        await app.stop()


async def stop_recovering(app: Application) -> None:
    """Stop picking up other replicas' unfinished updates (start_application)."""
    sweeper = app.bot_data.pop("sweeper", None)
    if sweeper is not None:
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)


def _updater(app: Application) -> Updater:
    """The Application's Updater (optional to python-telegram-bot; build_application's
    Applications always have one)."""
    if app.updater is None:
        raise RuntimeError("the Application was built without an Updater")
    return app.updater
