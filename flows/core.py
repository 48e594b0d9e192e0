"""The vocabulary shared by every flow: events in, screens and state out.

A flow is a pure function: it takes the merchant's stored state, one event and the content
catalogue, and returns an Outcome. It never touches Telegram, the database or the clock.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import TYPE_CHECKING, Any, TypeVar, Unpack

from flows.state import InputDetails, MerchantData, PendingInput

if TYPE_CHECKING:
    from flows.catalog import Catalog
    from flows.reminders import Planned

# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """A slash command, e.g. Command("submitted", "2026-09-28")."""

    name: str
    args: str = ""


@dataclass(frozen=True)
class Press:
    """A button press, already decoded from callback_data."""

    action: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Text:
    """Free text typed by the merchant."""

    text: str


@dataclass(frozen=True)
class Upload:
    """A file or photo the merchant sent (metadata only; the bot downloads it if accepted)."""

    file_id: str
    file_name: str
    size: int | None
    kind: str  # "document" | "photo"
    mime_type: str | None = None


@dataclass(frozen=True)
class Stored:
    """A file the adapter downloaded, checked and stored after the flow accepted an Upload."""

    item: str
    path: str
    sha256: str
    size: int
    mime: str


@dataclass(frozen=True)
class Rejected:
    """A file the adapter refused after looking at it (reason: "type", "size", "download")."""

    item: str
    reason: str
    detail: str = ""


Event = Command | Press | Text | Upload | Stored | Rejected


# --- output -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Button:
    """An inline button: a label key from content (with params) and the action it triggers."""

    label: str
    action: str
    args: tuple[str, ...] = ()
    params: tuple[tuple[str, Any], ...] = ()

    @staticmethod
    def of(label: str, action: str, /, *args: object, **params: Any) -> Button:
        """Build a button; args are stringified for the callback codec."""
        return Button(label, action, tuple(str(a) for a in args), tuple(sorted(params.items())))


@dataclass(frozen=True)
class Screen:
    """One message: a template with its data and rows of buttons.

    edit=True replaces the message whose button was pressed (moving inside a topic);
    otherwise a new message is sent (a new topic).
    """

    template: str
    data: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    edit: bool = False


E = TypeVar("E")

# --- effects: what only the adapter can do, asked for by a flow ---------------------------


@dataclass(frozen=True)
class Download:
    """Fetch, check and store this file for the item; the result comes back as Stored or
    Rejected (a second pass of the flow)."""

    upload: Upload
    item: str


@dataclass(frozen=True)
class Export:
    """Send everything stored about the merchant as a JSON document (/mydata)."""


@dataclass(frozen=True)
class Erase:
    """Delete every row and file of the merchant (/deletedata, confirmed)."""


@dataclass(frozen=True)
class OperatorOrder:
    """An operator command to carry out on another merchant (see flows.operator)."""

    op: str  # "setstatus" | "merchant" | "stats"
    target: int | None = None
    status: str = ""
    note: str = ""
    by: str = ""  # "operator:<id>", for the status history


@dataclass(frozen=True)
class ConsoleLogin:
    """Give this operator a one-time login link to the web console (/console; bot.console)."""

    by: int  # the operator's user id


Effect = Download | Export | Erase | OperatorOrder | ConsoleLogin


@dataclass(frozen=True)
class StatusChange:
    """A review status change, appended to the merchant's history with the state."""

    old: str | None
    new: str
    by: str  # "merchant" | "operator:<id>"
    note: str = ""


@dataclass
class Outcome:
    """What a flow decided: the new state, the screens to show, a short notice for a press."""

    state: MerchantState
    screens: list[Screen] = field(default_factory=list)
    notice: str | None = None  # a key of ui.yaml notices, shown as the callback answer
    notice_params: dict[str, Any] = field(default_factory=dict)  # for a notice's placeholders
    # Append-only status history rows for the adapter to insert with the state.
    records: list[StatusChange] = field(default_factory=list)
    # What only the adapter can do (fetch a file, export, erase, act on another merchant).
    effects: list[Effect] = field(default_factory=list)
    # Filled in by flows.router.handle: whether the state changed, the new reminder plan
    # (None: unchanged) and the journey stage, so that the adapter only saves.
    changed: bool = False
    plan: list[Planned] | None = None
    stage: str | None = None
    quiet: bool = False  # a push to the merchant now falls in their quiet hours

    def effect(self, kind: type[E]) -> E | None:
        """The first effect of this kind, if any."""
        return next((e for e in self.effects if isinstance(e, kind)), None)

    @property
    def download(self) -> Upload | None:
        """The file the flow asked the adapter to fetch, if any."""
        found = self.effect(Download)
        return found.upload if found else None

    @property
    def download_item(self) -> str | None:
        """The checklist item that file is for."""
        found = self.effect(Download)
        return found.item if found else None


# --- state --------------------------------------------------------------------------------


@dataclass
class MerchantState:
    """Everything the bot keeps about one merchant; serialised as JSON by the store."""

    user_id: int
    created: bool = True  # False once saved: a returning merchant
    data: MerchantData = field(default_factory=MerchantData)  # described in flows/state.py
    unreachable: bool = False  # the merchant had blocked the bot (kept by the store)

    def copy(self) -> MerchantState:
        """A deep copy, so that a flow never mutates the state it was given."""
        return MerchantState(self.user_id, self.created, copy.deepcopy(self.data), self.unreachable)


@dataclass(frozen=True)
class Context:
    """What a flow may know besides the state: content data and the current time."""

    catalog: Catalog
    now: datetime  # aware; in the merchant's time zone
    is_operator: bool = False

    @property
    def tz(self) -> tzinfo:
        """The merchant's time zone (that of `now`)."""
        zone = self.now.tzinfo
        if zone is None:
            raise ValueError("Context.now must be an aware datetime")
        return zone

    @property
    def today(self) -> date:
        """The merchant's local date."""
        return self.now.date()


# --- pending text input -------------------------------------------------------------------
# A flow that expects typed text (a form field, a candidate's name) records what it waits for
# in state.data["input"] = {"kind": ..., **details}. The router hands the next plain text to the
# handler registered for that kind, unless the text is a recognised question. A command or a
# button elsewhere moves the input to state.data["suspended"]; the 继续 button restores it.


def ask_input(out: Outcome, kind: str, **details: Unpack[InputDetails]) -> None:
    """Wait for typed text of the given kind."""
    out.state.data["input"] = {"kind": kind, **details}
    out.state.data.pop("suspended", None)


def clear_input(out: Outcome) -> None:
    """Stop waiting for typed text."""
    out.state.data.pop("input", None)
    out.state.data.pop("suspended", None)


def pending_input(state: MerchantState) -> PendingInput | None:
    """The text input the merchant is in the middle of, active or suspended."""
    return state.data.get("input") or state.data.get("suspended")


def next_step_rows() -> tuple[tuple[Button, ...], ...]:
    """A 'next step' row above 主菜单."""
    return ((Button.of("next_step", "progress"),), (Button.of("main_menu", "menu"),))


ScreenBuilder = Callable[..., "Screen"]
# The handlers a feature declares (flows.feature.Feature); a press handler takes its decoded
# arguments positionally, (out, ctx, *args): flows.feature.ActionHandler.
CommandHandler = Callable[[Outcome, Context, str], Outcome]  # the command's arguments
InputHandler = Callable[[Outcome, Context, str], Outcome]  # the typed text ("": show again)


def entry_points(
    build: ScreenBuilder,
) -> tuple[CommandHandler, Callable[[Outcome, Context], Outcome]]:
    """The command (a new message) and the button (edit in place) that open one screen.

    `build(out, ctx, edit=...)` makes the screen."""

    def command(out: Outcome, ctx: Context, args: str) -> Outcome:
        out.screens.append(build(out, ctx, edit=False))
        return out

    def press(out: Outcome, ctx: Context) -> Outcome:
        out.screens.append(build(out, ctx, edit=True))
        return out

    command.__doc__ = press.__doc__ = build.__doc__
    return command, press
