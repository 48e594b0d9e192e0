"""JSON objects inside a request: reply markups and their buttons, reply parameters, link
preview options, message entities, bot commands, command scopes and menu buttons.

Each object is held to its fields in the Bot API (core.telegram.org/bots/api, Bot API 10.0 as
python-telegram-bot 22.8 builds them) and their types as Telegram's server reads them
(tdlib/td ``JsonObject::get_optional_*_field``): a Boolean must be a JSON boolean ("true" is
refused: 'Field "x" must be of type Boolean'), a String may also be a number.

Stricter than Telegram, on purpose: a field the object does not have is refused (Telegram
ignores it, so a misspelt ``callback_data`` makes a text button), and an inline button must use
exactly one action, as the documentation says (Telegram takes the first it finds).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devserver.errors import ERR_BUTTON_DATA, ApiError

# field -> JSON type as Telegram names it (None: not checked here)
Fields = Mapping[str, str | None]

_STYLES = frozenset({"", "default", "primary", "danger", "success"})
_INLINE_BUTTON: Fields = {
    "text": "String",
    "icon_custom_emoji_id": "String",
    "style": "String",
    "url": "String",
    "callback_data": "String",
    "web_app": "Object",
    "login_url": "Object",
    "switch_inline_query": "String",
    "switch_inline_query_current_chat": "String",
    "switch_inline_query_chosen_chat": "Object",
    "copy_text": "Object",
    "callback_game": "Object",
    "pay": "Boolean",
}
_NOT_ACTIONS = frozenset({"text", "icon_custom_emoji_id", "style"})
_BUTTON_PARTS: dict[str, Fields] = {
    "web_app": {"url": "String"},
    "login_url": {
        "url": "String",
        "forward_text": "String",
        "bot_username": "String",
        "request_write_access": "Boolean",
    },
    "switch_inline_query_chosen_chat": {
        "query": "String",
        "allow_user_chats": "Boolean",
        "allow_bot_chats": "Boolean",
        "allow_group_chats": "Boolean",
        "allow_channel_chats": "Boolean",
    },
    "copy_text": {"text": "String"},
    "callback_game": {},
}
_KEYBOARD_BUTTON: Fields = {
    "text": "String",
    "icon_custom_emoji_id": "String",
    "style": "String",
    "request_users": "Object",
    "request_user": "Object",  # older form of request_users, still read
    "request_chat": "Object",
    "request_managed_bot": "Object",
    "request_contact": "Boolean",
    "request_location": "Boolean",
    "request_poll": "Object",
    "web_app": "Object",
}
# the markup kinds, by the field that makes them (Telegram looks in this order)
_MARKUPS: dict[str, Fields] = {
    "keyboard": {
        "keyboard": "Array",
        "is_persistent": "Boolean",
        "resize_keyboard": "Boolean",
        "one_time_keyboard": "Boolean",
        "input_field_placeholder": "String",
        "selective": "Boolean",
    },
    "inline_keyboard": {"inline_keyboard": "Array"},
    "remove_keyboard": {"remove_keyboard": "Boolean", "selective": "Boolean"},
    "force_reply": {
        "force_reply": "Boolean",
        "input_field_placeholder": "String",
        "selective": "Boolean",
    },
}
REPLY_PARAMETERS: Fields = {
    "message_id": "Integer",
    "chat_id": None,  # Integer or String
    "allow_sending_without_reply": "Boolean",
    "quote": "String",
    "quote_parse_mode": "String",
    "quote_entities": "Array",
    "quote_position": "Integer",
    "checklist_task_id": "Integer",
    "poll_option_id": None,
}
LINK_PREVIEW_OPTIONS: Fields = {
    "is_disabled": "Boolean",
    "url": "String",
    "prefer_small_media": "Boolean",
    "prefer_large_media": "Boolean",
    "show_above_text": "Boolean",
}
MESSAGE_ENTITY: Fields = {
    "type": "String",
    "offset": "Integer",
    "length": "Integer",
    "url": "String",
    "user": "Object",
    "language": "String",
    "custom_emoji_id": "String",
    "unix_time": "Integer",
    "date_time_format": "String",
}
BOT_COMMAND: Fields = {"command": "String", "description": "String"}
BOT_COMMAND_SCOPE: Fields = {"type": "String", "chat_id": None, "user_id": "Integer"}
MENU_BUTTON: Fields = {"type": "String", "text": "String", "web_app": "Object"}


def _is(value: Any, kind: str) -> bool:
    if kind == "String":  # Telegram's parser takes a number for a string too
        return isinstance(value, str | int | float) and not isinstance(value, bool)
    if kind == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "Boolean":
        return isinstance(value, bool)
    if kind == "Object":
        return isinstance(value, dict)
    return isinstance(value, list)  # "Array"


def check_fields(obj: Any, fields: Fields, what: str, name: str) -> dict[str, Any]:
    """`obj` as a JSON object with only `fields`, each of its type; errors say "can't parse
    <what>: …" (what: e.g. "inline keyboard button"; name: the type, e.g. InlineKeyboardButton)."""
    if not isinstance(obj, dict):
        raise ApiError(400, f"Bad Request: can't parse {what}: {name} must be an Object")
    for key, value in obj.items():
        if key not in fields:
            raise ApiError(
                400,
                f'Bad Request: can\'t parse {what}: {name} has no field "{key}" '
                "(Telegram would ignore it)",
            )
        kind = fields[key]
        if kind is not None and not _is(value, kind):
            raise ApiError(
                400, f'Bad Request: can\'t parse {what}: Field "{key}" must be of type {kind}'
            )
    return obj


def check_markup(markup: Any, *, inline_only: bool = False) -> dict[str, Any] | None:
    """Validate reply_markup like Telegram; return it as sent (None if absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise ApiError(400, "Bad Request: object expected as reply markup")
    kind = next((k for k in _MARKUPS if k in markup), None)
    if kind is None or (inline_only and kind != "inline_keyboard"):
        what = "inline keyboard expected" if inline_only else "can't parse reply keyboard markup"
        raise ApiError(400, f"Bad Request: {what}")
    check_fields(markup, _MARKUPS[kind], "reply keyboard markup", "the markup")
    if kind in ("keyboard", "inline_keyboard"):
        rows = markup[kind]
        if not all(isinstance(r, list) for r in rows):
            of = " of the InlineKeyboardMarkup" if kind == "inline_keyboard" else ""
            raise ApiError(400, f'Bad Request: field "{kind}"{of} must be an Array of Arrays')
        check = check_inline_button if kind == "inline_keyboard" else _check_keyboard_button
        for row in rows:
            for button in row:
                check(button)
    elif markup[kind] is not True:  # remove_keyboard / force_reply: false makes no markup
        raise ApiError(400, "Bad Request: can't parse reply keyboard markup")
    return markup


def _check_style(button: dict[str, Any], what: str) -> None:
    style = button.get("style", "")
    if str(style).lower() not in _STYLES:
        raise ApiError(400, f"Bad Request: can't parse {what}: invalid button style specified")
    emoji = button.get("icon_custom_emoji_id")
    if emoji is not None and not str(emoji).isdigit():
        raise ApiError(400, f"Bad Request: can't parse {what}: invalid custom emoji identifier")


def _check_keyboard_button(button: Any) -> None:
    if isinstance(button, str):
        text = button
    else:
        what = "keyboard button"
        check_fields(button, _KEYBOARD_BUTTON, what, "KeyboardButton")
        _check_style(button, what)
        text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: keyboard button text is empty")


def check_inline_button(button: Any) -> None:
    """One InlineKeyboardButton: a label and exactly one action."""
    what = "inline keyboard button"
    check_fields(button, _INLINE_BUTTON, what, "InlineKeyboardButton")
    text = button.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "Bad Request: BUTTON_TEXT_INVALID")
    _check_style(button, what)
    for part, fields in _BUTTON_PARTS.items():
        if part in button:
            check_fields(button[part], fields, what, part)
    # an empty url or callback_data counts as absent, as in Telegram
    actions = [
        a
        for a in button
        if a not in _NOT_ACTIONS and not (a in ("url", "callback_data") and button[a] == "")
    ]
    if not actions:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: Text buttons are "
            "unallowed in the inline keyboard",
        )
    if len(actions) > 1:
        raise ApiError(
            400,
            "Bad Request: can't parse inline keyboard button: exactly one of "
            f"the optional fields must be used, got {', '.join(actions)}",
        )
    if "callback_data" in actions:
        data = str(button["callback_data"])
        if len(data.encode("utf-8")) > 64:
            raise ApiError(400, ERR_BUTTON_DATA)
    if "url" in actions:
        url = str(button["url"])
        if not url.startswith(("http://", "https://", "tg://")):
            raise ApiError(400, "Bad Request: BUTTON_URL_INVALID")
