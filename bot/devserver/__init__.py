"""Local development tools: a strict Telegram Bot API emulator and its helpers."""

from bot.devserver.server import ApiCall, BotApiServer, Message

__all__ = ["ApiCall", "BotApiServer", "Message"]
