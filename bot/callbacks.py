"""The one codec for inline-button callback data: "action:arg:arg", at most 64 bytes."""

from __future__ import annotations

from flows.core import Button, Press

MAX_BYTES = 64  # Telegram's limit for callback_data, in UTF-8 bytes
SEP = ":"


class CallbackDataError(ValueError):
    """A button whose data cannot be sent to Telegram."""


def encode(button: Button) -> str:
    """Encode a button's action and arguments; refuse anything Telegram would reject."""
    parts = (button.action, *button.args)
    for part in parts:
        if SEP in part or not part.isprintable():
            raise CallbackDataError(f"callback part {part!r} contains {SEP!r} or control chars")
    data = SEP.join(parts)
    size = len(data.encode("utf-8"))
    if not data or size > MAX_BYTES:
        raise CallbackDataError(f"callback data {data!r} is {size} bytes (limit {MAX_BYTES})")
    return data


def decode(data: str | None) -> Press | None:
    """Decode callback data; None for anything that is not ours (forged or foreign)."""
    if not data or len(data.encode("utf-8")) > MAX_BYTES:
        return None
    action, *args = data.split(SEP)
    if not action or not action.isascii() or not action.replace("_", "").isalnum():
        return None
    return Press(action, tuple(args))
