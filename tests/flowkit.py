"""One helper for flow tests: events through flows.router as the adapter sends them, the state
carried from one event to the next as the store does, and readable views of a screen."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from devserver.client import html_to_plain
from flows import router
from flows.core import Button, Context, Event, MerchantState, Outcome, Press, Screen, Text
from tests.harness import contents

CONTENT = contents().default
CATALOG = CONTENT.catalog


def context(now: datetime, *, operator: bool = False) -> Context:
    """What a flow may know: the content and the time (aware)."""
    return Context(CATALOG, now, is_operator=operator)


def state_with(user_id: int = 7, **data: Any) -> MerchantState:
    """A returning merchant with this data."""
    return MerchantState(user_id, created=False, data=dict(data))  # type: ignore[arg-type]


def run(state: MerchantState, *events: Event, ctx: Context) -> Outcome:
    """Feed events in order, carrying the state; the last outcome."""
    out: Outcome | None = None
    for event in events:
        out = router.handle(state, event, ctx)
        state = MerchantState(state.user_id, created=False, data=out.state.data)
    assert out is not None, "no events"
    return out


class Session:
    """One merchant's state carried from event to event, like the store does."""

    def __init__(self, ctx: Context, user_id: int = 7, **data: Any) -> None:
        self.ctx = ctx
        self.state = state_with(user_id, **data)
        self.out: Outcome | None = None

    def do(self, event: Event) -> Outcome:
        self.out = router.handle(self.state, event, self.ctx)
        self.state = self.out.state
        return self.out

    def press(self, action: str, *args: object) -> Outcome:
        return self.do(Press(action, tuple(str(a) for a in args)))

    def send(self, text: str) -> Outcome:
        return self.do(Text(text))

    @property
    def screen(self) -> Screen:
        assert self.out is not None and self.out.screens
        return self.out.screens[-1]


def buttons(screen: Screen) -> Iterable[Button]:
    """Every button of a screen, row by row."""
    return (b for row in screen.buttons for b in row)


def actions(screen: Screen) -> list[tuple[str, tuple[str, ...]]]:
    """(action, args) of every button."""
    return [(b.action, b.args) for b in buttons(screen)]


def label_keys(screen: Screen) -> list[str]:
    """The content keys of the buttons' labels."""
    return [b.label for b in buttons(screen)]


def labels(screen: Screen) -> list[str]:
    """The labels as the merchant reads them."""
    return [CONTENT.label(b) for b in buttons(screen)]


def button(screen: Screen, action: str, *args: str) -> Button:
    """The button with this action (and leading args)."""
    for b in buttons(screen):
        if b.action == action and b.args[: len(args)] == args:
            return b
    raise LookupError((action, args, actions(screen)))


def render(screen: Screen) -> str:
    """The screen's HTML text."""
    return CONTENT.render_text(screen.template, screen.data)


def text_of(screen: Screen) -> str:
    """What the merchant reads."""
    return html_to_plain(render(screen))
