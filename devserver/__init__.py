"""A local, strict Telegram Bot API server for the tests, the `chat` playground and the
benchmarks. A development tool: it is not part of the installed bot (the wheel holds bot/,
flows/ and content/ only) and needs aiohttp (`pip install -e '.[dev]'`).

    async with BotApiServer() as server:      # base_url / base_file_url for PTB
        server.user_sends_text(1001, "/start")
        call = await server.wait_for(lambda c: c.method == "sendMessage")
        server.observers.append(print)        # every later call, as it is recorded

How strict, and on whose word. Where Telegram refuses a request, the emulator refuses it with
Telegram's wording. Where Telegram quietly repairs or ignores what a bot sent, the emulator
either does the same repair (so that what the merchant would see is what the tests see) or,
when the bot's intent would be lost without a trace, refuses with a 400 that says "Telegram
would ignore it" (or clamp, or read it as false):

* parameters (params.py): names a method does not take; booleans other than true/false,
  1/0, yes/no; integers that are not. getUpdates (updates.py): limit outside 1-100, a negative
  timeout, an unknown update type in allowed_updates (names in any case; a timeout over 50 s is
  shortened, as Telegram does);
* JSON objects (objects.py): fields an object does not have (markups, buttons, reply
  parameters, link preview options, entities, commands, scopes, menu buttons); inside an
  object a Boolean must be a JSON boolean (Telegram's own rule); an inline button needs exactly
  one action; callback_data 1-64 bytes (an empty one counts as absent);
* HTML (bot/telegram_html.py): malformed or unsupported markup is refused; entities that may
  not nest are dropped as Telegram drops them (e.g. bold does not apply over <code>).

Sources: the Bot API documentation (core.telegram.org/bots/api: the methods' parameter
tables, the objects' fields, "Formatting options"), as python-telegram-bot 22.8 (Bot API 10.0)
builds requests; Telegram's Bot API server tdlib/telegram-bot-api (Client.cpp: to_bool,
get_integer_arg, getUpdates' clamps, get_allowed_update_types, get_inline_keyboard_button,
get_reply_markup, the error wordings) and tdlib/td (JsonObject field readers; MessageEntity.cpp
parse_html and fix_entities for nesting).
"""

from devserver.errors import ApiError
from devserver.server import ApiCall, BotApiServer
from devserver.world import Message

__all__ = ["ApiCall", "ApiError", "BotApiServer", "Message"]
