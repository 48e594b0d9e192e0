"""The Bot API methods the emulator implements, each checked like Telegram before it changes
the world: send, edit and delete messages, callback answers, commands and menu buttons, files;
and (updates.py) getUpdates and the webhook switch."""

from __future__ import annotations

import json
import mimetypes
import re
import time
from typing import Any

from devserver import texts
from devserver.errors import (
    ERR_BLOCKED,
    ERR_CHAT_NOT_FOUND,
    ERR_EDIT_NOT_FOUND,
    ERR_FILE_ID,
    ERR_NOT_MODIFIED,
    ERR_QUERY_OLD,
    ApiError,
)
from devserver.faults import Faults
from devserver.objects import (
    BOT_COMMAND,
    BOT_COMMAND_SCOPE,
    MENU_BUTTON,
    REPLY_PARAMETERS,
    check_fields,
    check_markup,
)
from devserver.updates import Handler, Updates
from devserver.world import Chat, Message, StoredFile, Upload, World, inline_keyboard

MAX_CALLBACK_ANSWER = 200
MAX_DOWNLOAD = 20 * 1024 * 1024  # getFile refuses larger files for bots

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_LANG_RE = re.compile(r"[a-z]{2}")


class BotApi:
    """The implemented methods, by their canonical names (see `handlers`)."""

    def __init__(self, world: World, faults: Faults) -> None:
        self.world = world
        self.faults = faults
        self.updates = Updates(world)
        self.handlers: dict[str, Handler] = {
            "getMe": self.get_me,
            **self.updates.handlers(),
            "logOut": self.true,
            "close": self.true,
            "sendMessage": self.send_message,
            "editMessageText": self.edit_message_text,
            "editMessageReplyMarkup": self.edit_message_reply_markup,
            "deleteMessage": self.delete_message,
            "answerCallbackQuery": self.answer_callback_query,
            "setMyCommands": self.set_my_commands,
            "getMyCommands": self.get_my_commands,
            "deleteMyCommands": self.delete_my_commands,
            "setChatMenuButton": self.set_chat_menu_button,
            "getChatMenuButton": self.get_chat_menu_button,
            "sendChatAction": self.send_chat_action,
            "getFile": self.get_file,
            "sendDocument": self.send_document,
            "sendPhoto": self.send_photo,
        }

    # ------------------------------------------------------------------ shared checks
    def chat(self, params: dict[str, Any], *, check_blocked: bool = True) -> Chat:
        """The private chat `chat_id` names; 403 when the merchant blocked the bot."""
        cid = params.get("chat_id")
        if cid is None or cid == "":
            raise ApiError(400, "Bad Request: chat_id is empty")
        chat = self.world.chats.get(cid) if isinstance(cid, int) else None
        if chat is None:
            raise ApiError(400, ERR_CHAT_NOT_FOUND)
        if check_blocked and chat.blocked:
            raise ApiError(403, ERR_BLOCKED)
        return chat

    def _reply_to(self, chat: Chat, params: dict[str, Any]) -> int | None:
        target = params.get("reply_to_message_id")
        allow = bool(params.get("allow_sending_without_reply"))
        rp = params.get("reply_parameters")
        if rp is not None:
            check_fields(rp, REPLY_PARAMETERS, "reply parameters", "ReplyParameters")
            if "message_id" not in rp:
                raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
            target = rp["message_id"]
            allow = allow or rp.get("allow_sending_without_reply", False)
        if target is None:
            return None
        if target not in chat.messages:
            if allow:
                return None
            raise ApiError(400, "Bad Request: message to be replied not found")
        return int(target)

    def _editable(self, params: dict[str, Any]) -> tuple[Chat, Message]:
        if "inline_message_id" in params:
            raise ApiError(400, "Bad Request: inline messages are not supported by the emulator")
        chat = self.chat(params)
        self.faults.check_flood(chat.id)
        mid = params.get("message_id")
        if mid is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        msg = chat.messages.get(mid)
        if msg is None or not msg.from_bot:
            raise ApiError(400, ERR_EDIT_NOT_FOUND)
        return chat, msg

    def _bot_message(self, chat: Chat, params: dict[str, Any], **content: Any) -> Any:
        """Keep a new message from the bot (markup and reply checked) and return its wire form."""
        markup = check_markup(params.get("reply_markup"))
        reply_to = self._reply_to(chat, params)
        msg = Message(
            chat.new_id(),
            chat.id,
            True,
            int(time.time()),
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to_message_id=reply_to,
            **content,
        )
        return self.world.wire(chat, self.world.add_message(chat, msg))

    # ------------------------------------------------------------------ the bot
    async def true(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        return True

    async def get_me(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        return {
            **self.world.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    # ------------------------------------------------------------------ messages
    async def send_message(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat = self.chat(p)
        self.faults.check_flood(chat.id)
        parsed = texts.message_text(p)
        return self._bot_message(
            chat, p, text=p["text"], plain_text=parsed.text, entities=parsed.entities
        )

    async def edit_message_text(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat, msg = self._editable(p)
        if msg.text is None:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        parsed = texts.message_text(p)
        markup = check_markup(p.get("reply_markup"), inline_only=True)
        # no reply_markup in an edit removes the keyboard, as in Telegram
        if (
            parsed.text == msg.plain_text
            and parsed.entities == msg.entities
            and inline_keyboard(markup) == inline_keyboard(msg.reply_markup)
        ):
            raise ApiError(400, ERR_NOT_MODIFIED)
        msg.text, msg.parse_mode = p["text"], p.get("parse_mode")
        msg.plain_text, msg.entities, msg.reply_markup = parsed.text, parsed.entities, markup
        msg.edits += 1
        msg.edit_date = int(time.time())
        return self.world.wire(chat, msg)

    async def edit_message_reply_markup(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat, msg = self._editable(p)
        markup = check_markup(p.get("reply_markup"), inline_only=True)
        if inline_keyboard(markup) == inline_keyboard(msg.reply_markup):
            raise ApiError(400, ERR_NOT_MODIFIED)
        msg.reply_markup = markup
        msg.edits += 1
        msg.edit_date = int(time.time())
        return self.world.wire(chat, msg)

    async def delete_message(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat = self.chat(p, check_blocked=False)
        mid = p.get("message_id")
        if mid is None:
            raise ApiError(400, "Bad Request: message identifier is not specified")
        if chat.messages.pop(mid, None) is None:
            raise ApiError(400, "Bad Request: message to delete not found")
        return True

    async def answer_callback_query(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        qid = p.get("callback_query_id")
        text = p.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_CALLBACK_ANSWER):
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        if not isinstance(qid, str) or self.world.pending_queries.pop(qid, None) is None:
            raise ApiError(400, ERR_QUERY_OLD)
        self.world.callback_answers[qid] = {
            k: p[k] for k in ("text", "show_alert", "url", "cache_time") if k in p
        }
        return True

    async def send_chat_action(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.chat(p)
        if p.get("action") not in _CHAT_ACTIONS:
            raise ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    # ------------------------------------------------------------------ commands and menu
    @staticmethod
    def _commands_key(p: dict[str, Any]) -> tuple[str, str]:
        scope = p.get("scope") or {"type": "default"}
        check_fields(scope, BOT_COMMAND_SCOPE, "BotCommandScope", "BotCommandScope")
        if scope.get("type") not in _SCOPE_TYPES:
            raise ApiError(400, "Bad Request: can't parse BotCommandScope JSON object")
        lang = p.get("language_code") or ""
        if lang and not (isinstance(lang, str) and _LANG_RE.fullmatch(lang)):
            raise ApiError(400, "Bad Request: invalid language code specified")
        return json.dumps(scope, sort_keys=True), lang

    async def set_my_commands(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise ApiError(400, "Bad Request: can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands specified")
        for cmd in commands:
            check_fields(cmd, BOT_COMMAND, "BotCommand", "BotCommand")
            name, desc = cmd.get("command"), cmd.get("description")
            if not isinstance(name, str) or not _BOT_COMMAND_RE.fullmatch(name):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not isinstance(desc, str) or not 1 <= len(desc.strip()) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(p)
        self.world.commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def get_my_commands(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        return list(self.world.commands.get(self._commands_key(p), []))

    async def delete_my_commands(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        self.world.commands.pop(self._commands_key(p), None)
        return True

    async def set_chat_menu_button(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self.chat(p, check_blocked=False).id if "chat_id" in p else None
        button = p.get("menu_button") or {"type": "default"}
        kind = check_fields(button, MENU_BUTTON, "menu button", "MenuButton").get("type")
        if kind not in ("default", "commands", "web_app"):
            raise ApiError(400, "Bad Request: can't parse menu button JSON object")
        if kind == "web_app" and not (
            button.get("text") and isinstance(button.get("web_app"), dict)
        ):
            raise ApiError(400, "Bad Request: can't parse menu button JSON object")
        self.world.menu_buttons[chat_id] = button
        return True

    async def get_chat_menu_button(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        chat_id = self.chat(p, check_blocked=False).id if "chat_id" in p else None
        buttons = self.world.menu_buttons
        return buttons.get(chat_id) or buttons.get(None) or {"type": "default"}

    # ------------------------------------------------------------------ files
    async def get_file(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        stored = self.world.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise ApiError(400, ERR_FILE_ID)
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError(400, "Bad Request: file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
            "file_path": stored.file_path,
        }

    def _input_file(
        self, p: dict[str, Any], files: dict[str, Upload], name: str
    ) -> tuple[StoredFile | None, Upload | None]:
        """The file a send method refers to: an upload, attach://, or a known file_id."""
        upload = files.get(name)
        ref = p.get(name)
        if upload is None and isinstance(ref, str) and ref.startswith("attach://"):
            upload = files.get(ref[len("attach://") :])
            if upload is None:
                raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        if upload is not None:
            if not upload.content:
                raise ApiError(400, "Bad Request: file must be non-empty")
            return None, upload
        if isinstance(ref, str) and ref:
            if ref in self.world.files:
                return self.world.files[ref], None
            if ref.startswith(("http://", "https://")):
                raise ApiError(400, "Bad Request: failed to get HTTP URL content")
            raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise ApiError(400, f"Bad Request: there is no {name} in the request")

    async def send_document(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self._send_media(p, files, "document")

    async def send_photo(self, p: dict[str, Any], files: dict[str, Upload]) -> Any:
        return self._send_media(p, files, "photo")

    def _send_media(self, p: dict[str, Any], files: dict[str, Upload], kind: str) -> Any:
        """sendDocument / sendPhoto: everything is checked before the file is kept."""
        chat = self.chat(p)
        self.faults.check_flood(chat.id)
        known, upload = self._input_file(p, files, kind)
        caption = texts.caption(p)
        check_markup(p.get("reply_markup"))
        self._reply_to(chat, p)
        world = self.world
        if kind == "photo":
            source = upload if upload is not None else known
            assert source is not None
            media = {"photo": world.photo_info(source.content)}
        else:
            if upload is not None:
                mime = upload.mime_type
                if not mime or mime == "application/octet-stream":
                    mime = mimetypes.guess_type(upload.file_name)[0] or mime
                known = world.store_file(upload.content, "documents", upload.file_name, mime)
            assert known is not None
            media = {"document": world.document_info(known)}
        return self._bot_message(
            chat,
            p,
            caption=p.get("caption"),
            plain_text=caption.text if caption else "",
            entities=caption.entities if caption else [],
            **media,
        )
