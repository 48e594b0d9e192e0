"""Request parameters: which ones each implemented method takes, and their decoding from the
strings of a request (PTB sends a form: every value a string, objects as JSON text).

Telegram's server reads a JSON body the same way: each top-level value becomes a string (a
string as is, anything else as its JSON text), so both kinds of request are decoded here alike.

Stricter than Telegram, on purpose (Telegram accepts these silently, and the bot's intent is
lost without a trace):

* a parameter the method does not take is refused (Telegram ignores it: a misspelt
  ``disable_notification`` would wake a merchant at night);
* a boolean must read as one: ``true``/``false`` (any case), ``1``/``0`` or ``yes``/``no`` (the
  spellings Telegram's ``to_bool`` reads as true are true/yes/1; anything else, "on" included,
  silently counts as false there);
* an integer must be one (Telegram reads "12abc" as 12 and "abc" as 0).

The parameter lists are the Bot API's for these methods (core.telegram.org/bots/api, Bot API
10.0 as python-telegram-bot 22.8 implements it, plus ``ephemeral_message_parameters``), and the
older parameters Telegram's server still reads (``reply_to_message_id``,
``allow_sending_without_reply``, ``disable_web_page_preview``; tdlib/telegram-bot-api
``Client::get_reply_parameters``, ``Client::get_link_preview_options``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from enum import Enum
from typing import Any

from devserver.errors import ERR_CHAT_NOT_FOUND, ERR_MARKUP, ApiError


class Kind(Enum):
    """How a parameter's string is decoded."""

    STR = "String"
    INT = "Integer"
    BOOL = "Boolean"
    JSON = "JSON-serialized object"
    CHAT = "chat identifier"  # an Integer here (private chats only); anything else: not found
    FILE = "InputFile or String"  # an upload (multipart), attach://<name>, a file_id or a URL


STR, INT, BOOL, OBJ, CHAT, FILE = Kind.STR, Kind.INT, Kind.BOOL, Kind.JSON, Kind.CHAT, Kind.FILE

_SEND: dict[str, Kind] = {
    "business_connection_id": STR,
    "chat_id": CHAT,
    "message_thread_id": INT,
    "direct_messages_topic_id": INT,
    "ephemeral_message_parameters": OBJ,
    "disable_notification": BOOL,
    "protect_content": BOOL,
    "allow_paid_broadcast": BOOL,
    "message_effect_id": STR,
    "suggested_post_parameters": OBJ,
    "reply_parameters": OBJ,
    "reply_markup": OBJ,
    "reply_to_message_id": INT,  # older form of reply_parameters, still read
    "allow_sending_without_reply": BOOL,  # likewise
}
_TEXT: dict[str, Kind] = {
    "text": STR,
    "parse_mode": STR,
    "entities": OBJ,
    "link_preview_options": OBJ,
    "disable_web_page_preview": BOOL,  # older form of link_preview_options, still read
}
_CAPTION: dict[str, Kind] = {"caption": STR, "parse_mode": STR, "caption_entities": OBJ}
_EDIT: dict[str, Kind] = {
    "business_connection_id": STR,
    "chat_id": CHAT,
    "message_id": INT,
    "inline_message_id": STR,
    "reply_markup": OBJ,
}
_SCOPE: dict[str, Kind] = {"scope": OBJ, "language_code": STR}

METHODS: dict[str, dict[str, Kind]] = {
    "getMe": {},
    "logOut": {},
    "close": {},
    "getUpdates": {"offset": INT, "limit": INT, "timeout": INT, "allowed_updates": OBJ},
    "setWebhook": {
        "url": STR,
        "certificate": FILE,
        "ip_address": STR,
        "max_connections": INT,
        "allowed_updates": OBJ,
        "drop_pending_updates": BOOL,
        "secret_token": STR,
    },
    "deleteWebhook": {"drop_pending_updates": BOOL},
    "getWebhookInfo": {},
    "sendMessage": {**_SEND, **_TEXT},
    "editMessageText": {**_EDIT, **_TEXT},
    "editMessageReplyMarkup": _EDIT,
    "deleteMessage": {"chat_id": CHAT, "message_id": INT},
    "answerCallbackQuery": {
        "callback_query_id": STR,
        "text": STR,
        "show_alert": BOOL,
        "url": STR,
        "cache_time": INT,
    },
    "setMyCommands": {"commands": OBJ, **_SCOPE},
    "getMyCommands": _SCOPE,
    "deleteMyCommands": _SCOPE,
    "setChatMenuButton": {"chat_id": CHAT, "menu_button": OBJ},
    "getChatMenuButton": {"chat_id": CHAT},
    "sendChatAction": {
        "business_connection_id": STR,
        "chat_id": CHAT,
        "message_thread_id": INT,
        "action": STR,
    },
    "getFile": {"file_id": STR},
    "sendDocument": {
        **_SEND,
        **_CAPTION,
        "document": FILE,
        "thumbnail": FILE,
        "disable_content_type_detection": BOOL,
    },
    "sendPhoto": {
        **_SEND,
        **_CAPTION,
        "photo": FILE,
        "has_spoiler": BOOL,
        "show_caption_above_media": BOOL,
    },
}

# taken by Telegram, but for what the emulator does not model: refused, not silently ignored
UNSUPPORTED = frozenset(
    {
        "business_connection_id",
        "direct_messages_topic_id",
        "ephemeral_message_parameters",
        "suggested_post_parameters",
    }
)
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})


def unknown(method: str, name: str) -> ApiError:
    """The refusal of a parameter `method` does not take."""
    return ApiError(
        400, f'Bad Request: parameter "{name}" is unknown to {method} (Telegram would ignore it)'
    )


def decode_params(method: str, raw: dict[str, str], uploads: Iterable[str] = ()) -> dict[str, Any]:
    """Check the names against the method's parameters and decode each value by its kind.

    raw: name -> the value's string; uploads: names of the multipart file parts."""
    known = METHODS[method]
    attached = {v[len("attach://") :] for v in raw.values() if v.startswith("attach://")}
    for name in uploads:
        if known.get(name) is not Kind.FILE and name not in attached:
            raise unknown(method, name)
    out: dict[str, Any] = {}
    for name, value in raw.items():
        kind = known.get(name)
        if kind is None:
            raise unknown(method, name)
        if name in UNSUPPORTED:
            raise ApiError(400, f'Bad Request: parameter "{name}" is not supported by the emulator')
        out[name] = decode(name, kind, value)
    return out


def decode(name: str, kind: Kind, value: str) -> Any:
    """One parameter's value, from its string."""
    if kind is Kind.STR or kind is Kind.FILE:
        return value
    if kind is Kind.JSON:
        try:
            return json.loads(value)
        except ValueError:
            if name == "reply_markup":
                raise ApiError(400, ERR_MARKUP) from None
            raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from None
    if kind is Kind.BOOL:
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ApiError(
            400,
            f'Bad Request: parameter "{name}" must be a Boolean (true or false), got {value!r}',
        )
    if kind is Kind.CHAT and value == "":
        return value  # "chat_id is empty"
    try:
        return int(value)
    except ValueError:
        if kind is Kind.CHAT:
            raise ApiError(400, ERR_CHAT_NOT_FOUND) from None
        raise ApiError(
            400, f'Bad Request: parameter "{name}" must be an Integer, got {value!r}'
        ) from None
