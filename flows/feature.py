"""How a feature declares itself: its commands, its actions with typed arguments, its inputs.

Each feature module ends with one `Feature(...)`. The router merges them and decodes a button's
arguments here, once, against the action's declared `Arg`s: a handler receives them already
typed (`press_edit(out, ctx, index: int)`) and never checks their shape itself. A press whose
arguments do not fit (a forged button, or one from an older version) gets the feature's one
stale response: the "this button is outdated" notice over the feature's home screen.

What a handler still checks is what only the merchant's state can tell (a candidate that was
deleted, a reminder no longer planned); it answers those with the same `Feature.stale`. A
condition that holds for a whole action (route B's self-check needs route B: an old button
pressed after switching routes must not answer it) is declared with the action, as `when`,
and checked here before the handler runs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flows.core import CommandHandler, Context, InputHandler, Outcome, clear_input

if TYPE_CHECKING:
    from flows.catalog import Catalog
    from flows.state import MerchantData

# A press handler takes the decoded arguments positionally: (out, ctx, *args).
ActionHandler = Callable[..., Outcome]
HomeBuilder = Callable[[Outcome, Context], Outcome]  # shows the feature's home, in place
Condition = Callable[["MerchantData"], bool]  # whether an action applies to the merchant now

_TOKEN = re.compile(r"[A-Za-z0-9_.~#/-]{1,48}")


@dataclass(frozen=True)
class Arg:
    """One button argument: a name (for the diagrams and errors) and what it may be.

    `choices`: the only values allowed; `number`: an int in [lo, hi] written in ASCII digits;
    otherwise a token (ASCII letters, digits and _.~#/-, at most 48). `optional` arguments come
    last; a missing one is passed as `default`."""

    name: str
    choices: tuple[str, ...] = ()
    number: tuple[int, int] | None = None
    optional: bool = False
    default: object = None

    def decode(self, raw: str) -> tuple[bool, object]:
        """(fits, value)."""
        if self.choices:
            return raw in self.choices, raw
        if self.number is not None:
            lo, hi = self.number
            if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
                return False, None
            value = int(raw)
            return lo <= value <= hi, value
        return _TOKEN.fullmatch(raw) is not None, raw

    def describe(self) -> str:
        """How the argument reads in a diagram: name, choices or range, ? when optional."""
        if self.choices:
            shown = "/".join(c or "∅" for c in self.choices)
        elif self.number is not None:
            shown = f"{self.number[0]}..{self.number[1]}"
        else:
            shown = ""
        return f"{self.name}{'=' + shown if shown else ''}{'?' if self.optional else ''}"


def choice(name: str, *values: str, optional: bool = False, default: object = None) -> Arg:
    """One of the given words."""
    return Arg(name, choices=values, optional=optional, default=default)


def number(name: str, lo: int, hi: int, *, optional: bool = False) -> Arg:
    """A whole number in [lo, hi]."""
    return Arg(name, number=(lo, hi), optional=optional)


def token(name: str, *, optional: bool = False, default: object = None) -> Arg:
    """An identifier from the merchant's state or the content (checked by the handler)."""
    return Arg(name, optional=optional, default=default)


@dataclass(frozen=True)
class Action:
    """A button's action: its callback name, handler and arguments; `when`: the condition
    on the merchant's data under which it applies (otherwise a press is stale)."""

    name: str
    handler: ActionHandler
    args: tuple[Arg, ...] = ()
    when: Condition | None = None

    def __post_init__(self) -> None:
        seen_optional = False
        for arg in self.args:
            if seen_optional and not arg.optional:
                raise ValueError(f"action {self.name}: optional arguments must come last")
            seen_optional = seen_optional or arg.optional

    def decode(self, raw: tuple[str, ...]) -> tuple[object, ...] | None:
        """The typed arguments, or None when the press does not fit the declaration."""
        required = sum(1 for a in self.args if not a.optional)
        if not required <= len(raw) <= len(self.args):
            return None
        values: list[object] = []
        for arg, text in zip(self.args, raw, strict=False):
            fits, value = arg.decode(text)
            if not fits:
                return None
            values.append(value)
        values.extend(a.default for a in self.args[len(raw) :])
        return tuple(values)


def requiring(when: Condition, *actions: Action) -> tuple[Action, ...]:
    """A group of actions that all apply only while `when` holds (e.g. one route's own)."""
    return tuple(dataclasses.replace(action, when=when) for action in actions)


@dataclass(frozen=True)
class Feature:
    """One feature of the bot, as the router and the diagrams see it.

    `home` shows the screen a stale press of this feature falls back to (in place); `stage`:
    the journey stage it serves (flows.journey), if any; `raw_inputs`: input kinds whose text
    is never taken for a question (a company name may contain 靠谱); `inputs_when`: the
    condition under which its inputs apply (an input of route A's, restored by 继续填写 after
    switching to route B, is closed with the stale answer instead)."""

    name: str
    home: HomeBuilder | None  # needed by a feature with actions
    commands: Mapping[str, CommandHandler] = field(default_factory=dict)
    actions: tuple[Action, ...] = ()
    inputs: Mapping[str, InputHandler] = field(default_factory=dict)
    raw_inputs: frozenset[str] = frozenset()
    inputs_when: Condition | None = None
    stage: str | None = None
    # states deep inside the feature (five candidates…), where the content check and the
    # diagrams start walking so that their bounded walk reaches the deepest screens
    seeds: Callable[[Catalog], list[MerchantData]] | None = None

    def __post_init__(self) -> None:
        if self.actions and self.home is None:
            raise ValueError(f"feature {self.name}: actions need a home for stale presses")

    def stale(self, out: Outcome, ctx: Context) -> Outcome:
        """The one answer to an outdated or forged press: a notice over the feature's home."""
        assert self.home is not None  # __post_init__
        out.notice = "stale"
        return self.home(out, ctx)

    def guarded(self, handler: InputHandler) -> InputHandler:
        """The input handler, or the stale answer (the input closed) when `inputs_when`
        does not hold for the merchant now."""
        when = self.inputs_when
        if when is None:
            return handler

        def run(out: Outcome, ctx: Context, text: str) -> Outcome:
            if not when(out.state.data):
                clear_input(out)
                return self.stale(out, ctx)
            return handler(out, ctx, text)

        return run

    def press(self, action: Action, out: Outcome, ctx: Context, raw: tuple[str, ...]) -> Outcome:
        """Decode the press's arguments and run its handler (or the stale answer: arguments
        that do not fit, or an action whose `when` does not hold for the merchant now)."""
        values = action.decode(raw)
        if values is None or (action.when is not None and not action.when(out.state.data)):
            return self.stale(out, ctx)
        return action.handler(out, ctx, *values)


def merge(
    features: tuple[Feature, ...],
) -> tuple[dict[str, CommandHandler], dict[str, tuple[Feature, Action]], dict[str, InputHandler]]:
    """The router's tables; a command, action or input declared twice is a programming error."""
    commands: dict[str, CommandHandler] = {}
    actions: dict[str, tuple[Feature, Action]] = {}
    inputs: dict[str, InputHandler] = {}
    for feature in features:
        tables: tuple[tuple[dict[str, Any], Mapping[str, Any]], ...] = (
            (commands, feature.commands),
            (actions, {a.name: (feature, a) for a in feature.actions}),
            (inputs, {kind: feature.guarded(h) for kind, h in feature.inputs.items()}),
        )
        for table, own in tables:
            clash = set(table) & set(own)
            if clash:
                raise RuntimeError(f"feature {feature.name} redefines {sorted(clash)}")
            table.update(own)
    return commands, actions, inputs
