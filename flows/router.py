"""The single entry point of the journey: one event in, one Outcome out.

Every command, button and text goes through `handle`; unknown or forged input always gets a
screen back (never silence), and a press that cannot be honoured carries a notice.
"""

from __future__ import annotations

import dataclasses
import re

from flows import (
    agency,
    apply,
    docs,
    journey,
    operator,
    reminders,
    review,
    route,
    shipping,
    status,
)
from flows.core import (
    Button,
    Command,
    Context,
    Event,
    MerchantState,
    OperatorOrder,
    Outcome,
    Press,
    Screen,
    Text,
    clear_input,
    pending_input,
)
from flows.feature import Action, Feature, merge, token
from flows.questionnaire import RESUME_WITH

# Intents answered by a short FAQ card from content/faq.yaml.
FAQ_INTENTS = frozenset(
    {"review_time", "cost", "agency_trust", "route", "docs", "apply", "privacy"}
    # questions merchants really ask (issue 8)
    | {"semi_managed", "invitation", "account_safety", "fraud_help"}
    | {"rejected", "after_approval", "tax_cert", "thanks"}
)

MENU_ROWS: tuple[tuple[tuple[str, str], ...], ...] = (
    (("menu_route", "route"), ("menu_agency", "agency")),
    (("menu_docs", "docs"), ("menu_apply", "apply")),
    (("menu_status", "status"), ("menu_ship", "ship1")),
    (("menu_reminders", "reminders"), ("menu_progress", "progress")),
    (("menu_help", "help"),),
)


def menu_buttons() -> tuple[tuple[Button, ...], ...]:
    """The main menu keyboard."""
    return tuple(tuple(Button.of(label, action) for label, action in row) for row in MENU_ROWS)


def back_to_menu() -> tuple[tuple[Button, ...], ...]:
    """A single 主菜单 row."""
    return ((Button.of("main_menu", "menu"),),)


def menu_screen(*, edit: bool, template: str = "menu", **data: object) -> Screen:
    """The main menu screen (or a greeting that carries the menu)."""
    return Screen(template, dict(data), menu_buttons(), edit=edit)


# --- commands ------------------------------------------------------------------------------


def cmd_start(out: Outcome, ctx: Context, args: str) -> Outcome:
    """Welcome a new merchant; greet a returning one with a button to continue."""
    if out.state.created or not journey.started(out.state.data):
        # never saved anything of the journey (only /help or 你好 before): a first welcome
        out.screens.append(menu_screen(edit=False, template="welcome"))
        return out
    upcoming = journey.next_stage(out.state.data, ctx)
    rows = list(menu_buttons())
    if pending_input(out.state):
        rows.insert(0, (Button.of("resume", "resume"),))
    elif upcoming:
        rows.insert(0, (Button.of(f"go_{upcoming['key']}", upcoming["action"]),))
    out.screens.append(
        Screen("welcome_back", {"next": upcoming["key"] if upcoming else None}, tuple(rows))
    )
    return out


def cmd_menu(out: Outcome, ctx: Context, args: str) -> Outcome:
    """Show the main menu."""
    out.screens.append(menu_screen(edit=False))
    return out


def cmd_help(out: Outcome, ctx: Context, args: str) -> Outcome:
    """What the bot can do."""
    out.screens.append(Screen("help", {"operator": ctx.is_operator}, back_to_menu()))
    return out


def cmd_cancel(out: Outcome, ctx: Context, args: str) -> Outcome:
    """Leave any open form; what was saved stays."""
    had_form = pending_input(out.state) is not None
    clear_input(out)
    out.screens.append(menu_screen(edit=False, template="cancelled", had_form=had_form))
    return out


# --- buttons -------------------------------------------------------------------------------


def press_menu(out: Outcome, ctx: Context) -> Outcome:
    """Back to the main menu, in place."""
    out.screens.append(menu_screen(edit=True))
    return out


def press_help(out: Outcome, ctx: Context) -> Outcome:
    """The help screen, in place."""
    out.screens.append(Screen("help", {"operator": ctx.is_operator}, back_to_menu(), edit=True))
    return out


# --- text ----------------------------------------------------------------------------------


def on_text(out: Outcome, ctx: Context, text: str) -> Outcome:
    """Answer free text: a recognised question gets its answer, anything else a helpful hint."""
    return answer_intent(out, ctx, ctx.catalog.intents.match(text))


def answer_intent(out: Outcome, ctx: Context, intent: str | None) -> Outcome:
    """The answer to a recognised question (None: a helpful hint with the menu)."""
    if intent == "ship":
        return shipping.open_guide(out, ctx, "s")
    if intent == "warehouse":
        return shipping.open_guide(out, ctx, "w")
    if intent in ("menu", "greeting"):
        out.screens.append(menu_screen(edit=False))
        return out
    if intent == "help":
        return cmd_help(out, ctx, "")
    if intent in FAQ_INTENTS:
        # the route lets a card show only the merchant's own route (faq.yaml `routes:`)
        card = {"topic": intent, "route": out.state.data.get("route")}
        out.screens.append(Screen("faq", card, menu_buttons()))
        return out
    if intent in ("progress", "status", "reminders"):
        return COMMANDS[intent](out, ctx, "")
    out.screens.append(Screen("faq", {"topic": "unknown"}, menu_buttons()))
    return out


def resume_button() -> Button:
    """继续填写: back to the field or question the merchant was answering."""
    return Button.of("resume", "resume")


def press_resume(out: Outcome, ctx: Context) -> Outcome:
    """Restore a suspended input and show its prompt again."""
    data = out.state.data
    waiting = data.pop("suspended", None) or data.get("input")
    if not waiting or waiting.get("kind") not in INPUTS:
        return MENU.stale(out, ctx)
    data["input"] = waiting
    return INPUTS[waiting["kind"]](out, ctx, "")  # empty text: show the prompt again


def _is_question(text: str, ctx: Context, *, raw: bool = False) -> bool:
    """Is typed text a question rather than the answer to the open field?

    A form answer is an answer first: a recognised topic is not enough ("快发货家居店" is a shop
    name, "保底王代运营" a company), the text must also read as a question ("怎么发货",
    "这家靠谱吗", "审核要多久？"). When in doubt the answer is kept and a button offers the
    question's answer instead (see _offer_question).

    For free-form names (raw inputs: a company name such as "哪吒保底代运营") a question word
    inside is not enough either: it must end or begin like a question ("…靠谱吗", "…？",
    "怎么发货")."""
    if ctx.catalog.intents.match(text) is None:
        return False
    ui = ctx.catalog["ui"]
    plain = ctx.catalog.intents.normalise(text)  # simplified, punctuation gone
    if raw:
        asked = text.rstrip().endswith(("?", "？"))
        return asked or any(
            re.search(pattern, plain) is not None
            for pattern in (ui.get("question_endings"), ui.get("question_openings"))
            if pattern
        )
    markers = ui.get("question_markers", "")
    return "?" in text or "？" in text or (bool(markers) and re.search(markers, plain) is not None)


def question_title(ctx: Context, intent: str) -> str | None:
    """A short name of what a recognised question is about, for the 我是想问 button."""
    titles = ctx.catalog["ui"].get("ask_titles") or {}
    if intent in titles:
        return str(titles[intent])
    card = (ctx.catalog["faq"].get("answers") or {}).get(intent) or {}
    title = card.get("title")
    return str(title).rstrip("？?") if title else None


def _offer_question(out: Outcome, ctx: Context, text: str) -> Outcome:
    """The text was kept as the answer, but it also looks like a topic: offer its answer in
    one tap (the open field, if any, stays open)."""
    intent = ctx.catalog.intents.match(text)
    title = question_title(ctx, intent) if intent else None
    if title and out.screens:
        last = out.screens[-1]
        ask = (Button.of("ask_instead", "ask", intent, topic=title),)
        out.screens[-1] = dataclasses.replace(last, buttons=(*last.buttons, ask))
    return out


def press_ask(out: Outcome, ctx: Context, intent: str) -> Outcome:
    """我是想问…: answer the question the kept text looked like (a new message)."""
    if intent not in ctx.catalog.intents.names:
        return MENU.stale(out, ctx)
    return answer_intent(out, ctx, intent)  # handle() adds 继续填写 when a field was open


# --- the features --------------------------------------------------------------------------
# Each feature module declares itself (flows.feature.Feature); the menu, help and the open
# form's 继续填写 are the router's own. Files, and the adapter's verdict on them, go to the
# document checklist.

MENU = Feature(
    "menu",
    press_menu,
    commands={"start": cmd_start, "menu": cmd_menu, "help": cmd_help, "cancel": cmd_cancel},
    actions=(
        Action("menu", press_menu),
        Action("help", press_help),
        Action("resume", press_resume),
        Action("ask", press_ask, (token("intent"),)),
    ),
)
FEATURES: tuple[Feature, ...] = (
    MENU,
    shipping.FEATURE,
    route.FEATURE,
    review.CHOOSE_ROUTE,
    agency.FEATURE,
    docs.FEATURE,
    apply.FEATURE,
    review.FEATURE,
    status.REPORT,
    status.REMINDERS,
    journey.FEATURE,
    operator.FEATURE,
)
COMMANDS, ACTIONS, INPUTS = merge(FEATURES)
RAW_INPUTS = frozenset().union(*(f.raw_inputs for f in FEATURES))  # never taken for a question
INPUTS_WHEN = {kind: f.inputs_when for f in FEATURES if f.inputs_when for kind in f.inputs}


def _with_resume(out: Outcome) -> Outcome:
    """Add a 继续 row to the last screen, so the merchant can go back to the open input."""
    if out.screens and pending_input(out.state):
        last = out.screens[-1]
        if any(b.action == "resume" for row in last.buttons for b in row):
            return out  # the screen offers it already (/progress, /start)
        out.screens[-1] = dataclasses.replace(last, buttons=((resume_button(),), *last.buttons))
    return out


# --- entry point ---------------------------------------------------------------------------


def handle(
    state: MerchantState, event: Event, ctx: Context, *, since: MerchantState | None = None
) -> Outcome:
    """Decide what one event does to the merchant's state and what to show, with everything
    the adapter needs to save it: whether it changed, the new reminder plan, the stage.

    `since`: the state as loaded, when this is a second pass (a downloaded file's result)."""
    out = route_labels(_handle(state, event, ctx), ctx)
    return conclude(since or state, out, ctx)


def conclude(before: MerchantState, out: Outcome, ctx: Context) -> Outcome:
    """Fill in what changed: the plan is a function of the state, so an unchanged state keeps
    its plan (the one part that moves with time, the operation check, is re-planned by the
    scheduler); a new merchant's first plan counts as a change."""
    data = out.state.data
    out.changed = out.state.created or data != before.data
    tz = ctx.tz
    out.quiet = reminders.in_quiet_hours(ctx.now, tz)
    if not out.changed:
        out.plan = None
        return out
    new = reminders.plan(data, ctx.catalog, tz, ctx.now)
    old = reminders.plan(before.data, ctx.catalog, tz, ctx.now)
    out.plan = new if new != old or (out.state.created and new) else None
    upcoming = journey.next_stage(data, ctx)
    out.stage = upcoming["key"] if upcoming else "done"
    return out


# --- operators act on other merchants ------------------------------------------------------
# The adapter loads the target merchant named by an OperatorOrder and asks here what to do.


def refused_order(state: MerchantState, order: OperatorOrder, ctx: Context) -> Screen | None:
    """The operator's answer when the order cannot be carried out on this merchant (a result
    for a merchant with no route or no submission), or None: ask before apply_order."""
    return operator.refused_order(state, order)


def apply_order(state: MerchantState, order: OperatorOrder, ctx: Context) -> Outcome:
    """/setstatus on the target merchant: the change, its push, and what to save (nothing at
    all for a refused order, see refused_order)."""
    if operator.refused_order(state, order) is not None:
        return conclude(state, Outcome(state.copy()), ctx)
    out = status.change_status(Outcome(state.copy()), ctx, order.status, order.note, order.by)
    return conclude(state, route_labels(out, ctx), ctx)


stats_screen = operator.stats_screen
unknown_merchant = operator.unknown_merchant
merchant_card = operator.merchant_card
done_screen = operator.done_screen
console_screen = operator.console_screen


def route_labels(out: Outcome, ctx: Context) -> Outcome:
    """Buttons that name a route's own step say it in that route's words: route B's
    qualify step is 资格自查, not 选托管公司 (a label key `<key>_<route>` in ui.yaml)."""
    chosen = out.state.data.get("route")
    if chosen is None:
        return out
    labels = ctx.catalog["ui"]["labels"]

    def fit(button: Button) -> Button:
        own = f"{button.label}_{chosen}"
        return dataclasses.replace(button, label=own) if own in labels else button

    out.screens = [
        dataclasses.replace(s, buttons=tuple(tuple(fit(b) for b in row) for row in s.buttons))
        for s in out.screens
    ]
    return out


def _handle(state: MerchantState, event: Event, ctx: Context) -> Outcome:
    """handle() before the route's own labels are applied."""
    out = Outcome(state.copy())
    data = out.state.data
    if isinstance(event, Text) and data.get("input"):
        # Typed text while a field is open: a recognised question is answered (the field stays
        # open); anything else is the answer to the field.
        kind = data["input"].get("kind")
        if kind in INPUTS and not _is_question(event.text, ctx, raw=kind in RAW_INPUTS):
            return _offer_question(INPUTS[kind](out, ctx, event.text), ctx, event.text)
        return _with_resume(on_text(out, ctx, event.text))
    docs.left_checklist(out, event)
    interrupting = isinstance(event, (Command, Press)) and data.get("input")
    if interrupting and not (isinstance(event, Press) and event.action == "resume"):
        data["suspended"] = data.pop("input")
    asking = data.pop("asking", None)  # the questionnaire question on screen, if any
    out = _dispatch(out, event, ctx)
    _close_inputs_out_of_place(out)
    if interrupting and "input" not in out.state.data:
        _with_resume(out)
    return _keep_asking(out, event, asking)


def _close_inputs_out_of_place(out: Outcome) -> None:
    """An open or suspended input whose feature no longer applies (route A's company name
    after switching to route B: Feature.inputs_when) is closed, so no 继续填写 leads to it."""
    data = out.state.data
    for slot in ("input", "suspended"):
        pending = data.get(slot)
        when = INPUTS_WHEN.get(pending.get("kind", "")) if isinstance(pending, dict) else None
        if when is not None and not when(data):
            data.pop(slot, None)  # type: ignore[misc]


def _keep_asking(out: Outcome, event: Event, asking: list[str] | None) -> Outcome:
    """A questionnaire question (flows.questionnaire) stays "on screen" in the state; a
    question typed meanwhile is answered with a 继续答题 button back to it. Any other event
    leaves it (the merchant moved on)."""
    data = out.state.data
    last = out.screens[-1] if out.screens else None
    if last is not None and last.data.get(RESUME_WITH):
        data["asking"] = list(last.data[RESUME_WITH])
    elif isinstance(event, Text) and asking and last is not None:
        data["asking"] = asking
        again = Button.of("resume_question", *asking)
        out.screens[-1] = dataclasses.replace(last, buttons=((again,), *last.buttons))
    return out


def _dispatch(out: Outcome, event: Event, ctx: Context) -> Outcome:
    """Route one event to its handler."""
    if isinstance(event, Command):
        name = event.name.lower()
        if name in COMMANDS:
            return COMMANDS[name](out, ctx, event.args)
        out.screens.append(Screen("unknown_command", {"command": event.name}, back_to_menu()))
        return out
    if isinstance(event, Press):
        if event.action in ACTIONS:
            feature, action = ACTIONS[event.action]
            return feature.press(action, out, ctx, event.args)
        # An unknown action: a button from an older version, or forged data.
        return MENU.stale(out, ctx)
    if isinstance(event, Text):
        return on_text(out, ctx, event.text)
    return docs.UPLOAD(out, ctx, event)
