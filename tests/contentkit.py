"""What the bot showed, by meaning: for the end-to-end tests, which screen (template and data) a
message shows, its buttons by label key, and labels and notices rendered from content. Tests
written with it keep passing when an operator rewrites a sentence in content/, and still fail
when the bot shows the wrong screen, the wrong buttons or the wrong data.

Importing this module turns on `bot.presenter.on_render` for the test session: every screen the
presenter renders is remembered by exactly what it rendered to (HTML text and keyboard), and a
message seen by the merchant is matched back to the screen it came from.
"""

from __future__ import annotations

from typing import Any

from bot import callbacks, presenter
from devserver.client import MerchantClient, Shown, html_to_plain
from devserver.server import ApiCall, BotApiServer
from devserver.world import Message as WorldMessage
from flows.core import Button, Screen
from tests.harness import contents

CONTENT = contents().default

Keyboard = tuple[tuple[tuple[str, str], ...], ...]
_AMBIGUOUS = Screen("<several templates rendered to this message>")
_SEEN: dict[tuple[str, Keyboard], Screen] = {}


def _remember(screen: Screen, out: presenter.Rendered) -> None:
    """presenter.on_render: remember the screen by what it rendered to."""
    rows = out.markup.inline_keyboard if out.markup else ()
    key = (out.text, tuple(tuple((b.text, b.callback_data or "") for b in row) for row in rows))
    before = _SEEN.get(key)
    if before is not None and before.template != screen.template:
        screen = _AMBIGUOUS
    _SEEN[key] = screen


presenter.on_render = _remember


Message = Shown | ApiCall | WorldMessage  # a message as the merchant saw it, or as it was sent


def _rows(markup: object) -> Keyboard:
    """(label, callback data) rows of an inline keyboard as sent."""
    if not isinstance(markup, dict):
        return ()
    return tuple(
        tuple((b.get("text", ""), b.get("callback_data") or b.get("url") or "") for b in row)
        for row in markup.get("inline_keyboard", [])
    )


def _shown(message: Message) -> tuple[str, Keyboard]:
    """What a message showed: its HTML text and its keyboard."""
    if isinstance(message, Shown):
        return message.html, tuple(tuple(row) for row in message.buttons)
    if isinstance(message, ApiCall):
        return message.params.get("text") or "", _rows(message.params.get("reply_markup"))
    return message.text or "", _rows(message.reply_markup)


def screen(message: Message) -> Screen:
    """The screen (template, data, buttons) a message shows: a message as the merchant saw it
    (Shown), the bot's sendMessage / editMessageText call, or a message in the server's world."""
    found = _SEEN.get(_shown(message))
    if found is None:
        raise LookupError(f"not a screen the presenter rendered: {_shown(message)[0][:120]!r}")
    if found is _AMBIGUOUS:
        raise LookupError(f"several templates render to: {_shown(message)[0][:120]!r}")
    return found


def shows(message: Message, name: str) -> bool:
    """Whether a message shows this template (False for one the presenter did not render)."""
    try:
        return screen(message).template == name
    except LookupError:
        return False


def template(shown: Message) -> str:
    """The template a message shows, e.g. "agency_home"."""
    return screen(shown).template


def data(shown: Message) -> dict[str, Any]:
    """The data a message's template was rendered with."""
    return screen(shown).data


def buttons(shown: Message) -> list[Button]:
    """A message's buttons, row by row."""
    return [b for row in screen(shown).buttons for b in row]


def keys(shown: Message) -> list[str]:
    """The label keys (ui*.yaml `labels:`) of a message's buttons, row by row."""
    return [b.label for b in buttons(shown)]


def matches(b: Button, key: str, args: tuple[object, ...], params: dict[str, Any]) -> bool:
    """A button with this label key (or, for a key ending in *, a key starting so: "dc_item_*"
    whatever the item's status), these callback arguments among its own, these params."""
    own = dict(b.params)
    return (
        (b.label.startswith(key[:-1]) if key.endswith("*") else b.label == key)
        and all(str(a) in b.args for a in args)
        and all(k in own and own[k] == v for k, v in params.items())
    )


def button(shown: Message, key: str, *args: object, **params: Any) -> Button:
    """The one button of a message with this label key (and these callback args and params)."""
    found = [b for b in buttons(shown) if matches(b, key, args, params)]
    if len(found) != 1:
        raise LookupError(f"{len(found)} buttons {key} {args} {params}; buttons: {keys(shown)}")
    return found[0]


def has(shown: Message, key: str, *args: object, **params: Any) -> bool:
    """Whether a message has a button with this label key (and args and params)."""
    return any(matches(b, key, args, params) for b in buttons(shown))


def callback(shown: Message, key: str, *args: object, **params: Any) -> str:
    """The callback data of the one button with this label key, as the message shows it."""
    b = button(shown, key, *args, **params)
    pair = (CONTENT.label(b), callbacks.encode(b))
    shown_rows = _shown(shown)[1]
    assert any(pair in row for row in shown_rows), (pair, shown_rows)
    return pair[1]


async def press(
    merchant: MerchantClient, key: str, *args: object, on: Message | None = None, **params: Any
) -> list[Shown]:
    """Press the button with this label key on the merchant's last screen with buttons (or
    `on`); args and params pick one of several (an answer code, a candidate's name)."""
    target = on or merchant.last
    if target is None:
        raise LookupError("no screen with buttons yet")
    if isinstance(target, ApiCall):
        message_id = int(target.result["message_id"])
    else:
        message_id = target.message_id
    return await merchant.press_data(message_id, callback(target, key, *args, **params))


def label(key: str, **params: Any) -> str:
    """A button label as the merchant reads it (ui*.yaml `labels:`)."""
    return CONTENT.label(Button.of(key, "-", **params))


def notice(key: str, **params: Any) -> str:
    """A toast as the merchant reads it (ui*.yaml `notices:`)."""
    return CONTENT.notice(key, params)


def rendered(name: str, **values: Any) -> str:
    """A template rendered to plain text, as the merchant reads it (for screens sent without
    the presenter, such as the error message)."""
    return html_to_plain(CONTENT.render_text(name, values))


def day(iso: object) -> str:
    """A date as content writes it (ui.yaml `day_format`, e.g. with the weekday)."""
    return CONTENT.env.filters["day"](str(iso))


def money(amount: int) -> str:
    """An amount as content writes it (ui.yaml `money_format`)."""
    return CONTENT.env.filters["money"](amount)


def notices(server: BotApiServer, since: int = 0) -> list[str | None]:
    """The texts of the bot's answers to pressed buttons since a server mark."""
    return [c.params.get("text") for c in server.calls[since:] if c.method == "answerCallbackQuery"]
