"""Bot API error answers: the exception every check raises, and Telegram's exact wordings."""

from __future__ import annotations

ERR_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
ERR_EDIT_NOT_FOUND = "Bad Request: message to edit not found"
ERR_CHAT_NOT_FOUND = "Bad Request: chat not found"
ERR_TOO_LONG = "Bad Request: message is too long"
ERR_EMPTY = "Bad Request: message text is empty"
ERR_BUTTON_DATA = "Bad Request: BUTTON_DATA_INVALID"
ERR_QUERY_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
ERR_BLOCKED = "Forbidden: bot was blocked by the user"
ERR_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
ERR_FILE_ID = "Bad Request: wrong file_id or the file is temporarily unavailable"


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, with Telegram's description."""

    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after
