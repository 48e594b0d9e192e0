"""Message texts and captions: parsed like Telegram (HTML, or explicit entities), trimmed,
and measured in UTF-16 code units."""

from __future__ import annotations

from typing import Any

from bot.telegram_html import HtmlError, ParsedText, parse_html, strip_text, utf16_len
from devserver.errors import ERR_EMPTY, ERR_TOO_LONG, ApiError
from devserver.objects import LINK_PREVIEW_OPTIONS, MESSAGE_ENTITY, check_fields

MAX_TEXT = 4096
MAX_CAPTION = 1024


def parse_text(text: Any, parse_mode: Any, entities: Any, *, what: str = "text") -> ParsedText:
    """Parse text (or a caption) like Telegram: entities decoded, trimmed."""
    if not isinstance(text, str):
        raise ApiError(400, f"Bad Request: {what} must be a string")
    if entities is not None:
        # explicit entities win over parse_mode, as in Telegram
        if not isinstance(entities, list):
            raise ApiError(400, "Bad Request: can't parse entities JSON object")
        for entity in entities:
            check_fields(entity, MESSAGE_ENTITY, "entities", "MessageEntity")
            if not all(k in entity for k in ("type", "offset", "length")):
                raise ApiError(400, "Bad Request: can't parse entities JSON object")
        return strip_text(ParsedText(text, list(entities)))
    if parse_mode is None or parse_mode == "":
        return strip_text(ParsedText(text))
    if not isinstance(parse_mode, str):
        raise ApiError(400, "Bad Request: unsupported parse_mode")
    mode = parse_mode.lower()
    if mode == "html":
        try:
            return strip_text(parse_html(text))
        except HtmlError as err:
            raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
    if mode in ("markdown", "markdownv2"):
        raise ApiError(400, "Bad Request: unsupported parse_mode in emulator")
    raise ApiError(400, "Bad Request: unsupported parse_mode")


def message_text(params: dict[str, Any]) -> ParsedText:
    """The `text` of sendMessage / editMessageText: 1-4096 characters after parsing."""
    text = params.get("text")
    if text is None or text == "":
        raise ApiError(400, ERR_EMPTY)
    preview = params.get("link_preview_options")
    if preview is not None:
        check_fields(preview, LINK_PREVIEW_OPTIONS, "link preview options", "LinkPreviewOptions")
    parsed = parse_text(text, params.get("parse_mode"), params.get("entities"))
    if not parsed.text:
        raise ApiError(400, ERR_EMPTY)
    if utf16_len(parsed.text) > MAX_TEXT:
        raise ApiError(400, ERR_TOO_LONG)
    return parsed


def caption(params: dict[str, Any]) -> ParsedText | None:
    """The `caption` of a media message: 0-1024 characters after parsing (None if absent)."""
    raw = params.get("caption")
    if raw is None:
        return None
    parsed = parse_text(
        raw, params.get("parse_mode"), params.get("caption_entities"), what="caption"
    )
    if utf16_len(parsed.text) > MAX_CAPTION:
        raise ApiError(400, "Bad Request: message caption is too long")
    return parsed
