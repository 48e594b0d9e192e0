"""The baseline: a minimal python-telegram-bot echo bot, built and polled like ours.

Same ApplicationBuilder settings as bot.app.build_application (base URLs, concurrent_updates,
default HTTPX pools) and the same polling parameters as bot.app.start_polling, so the only
difference measured is what happens inside the handlers: one reply per update, like ours.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)


async def echo(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
    """Send the text back."""
    assert update.effective_chat is not None and update.message is not None
    await ctx.bot.send_message(update.effective_chat.id, update.message.text or "")


async def pressed(update: Update, ctx: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the pressed message (the text always changes)."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"pressed {query.data} #{update.update_id}")


def build_echo(token: str, base_url: str, base_file_url: str, concurrency: int) -> Application:
    """The echo Application."""
    app = (
        ApplicationBuilder()
        .token(token)
        .base_url(base_url)
        .base_file_url(base_file_url)
        .concurrent_updates(concurrency)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, echo))
    app.add_handler(CallbackQueryHandler(pressed))
    return app


async def start_echo(app: Application, *, timeout: int = 30) -> None:
    """Start an initialised echo Application with bot.app.start_polling's parameters."""
    await app.start()
    await app.updater.start_polling(  # type: ignore[union-attr]
        poll_interval=0.0, timeout=timeout, allowed_updates=Update.ALL_TYPES
    )
