"""`merchant-bot content-check`: render every screen the flows can produce and check limits.

Screens are produced by running the real flows over scripted events (every command, every
button reachable from them, a set of free-text questions), so the check sees what merchants
see. Each rendered text must be valid Telegram HTML within 4096 characters; each button's
callback data must fit 64 bytes; each label must be short; every template must be used.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import callbacks
from bot.content import Content, ContentError, ContentRegistry
from bot.telegram_html import HtmlError, visible_length
from flows import operator, review, router
from flows import reminders as rem
from flows.core import (
    Command,
    Context,
    Event,
    MerchantState,
    Outcome,
    Press,
    Rejected,
    Screen,
    Stored,
    Text,
    Upload,
)

MAX_TEXT = 4096
MAX_LABEL = 40  # characters: a label longer than this wraps badly on a phone

SAMPLE_TEXTS = (
    "怎么发货",
    "备货单怎么处理",
    "要准备什么资料",
    "审核要多久",
    "多少钱",
    "这家公司靠谱吗",
    "全托管和代运营有什么区别",
    "怎么申请",
    "你好",
    "菜单",
    "帮助",
    "今天天气不错",
    "<b>未闭合 & 标签",
    "x" * 4096,
)
# Typed into any open field: worst-case lengths, markup, and invalid values.
INPUT_SAMPLES = (
    "店" * 40,
    "<b>A&B</b> 公司",
    "星" * 60,
    "类" * 200,
    "5万",
    "¥50,000",
    "0",
    "5万到10万",
    "13800138000",
    "name@example.com",
    "abc",
    "x" * 4096,
)
MAX_EVENTS = 8000  # a bound on the walk through the buttons


@dataclass(frozen=True)
class Operator:
    """An event sent by an operator (BOT_ADMIN_IDS)."""

    event: Event


@dataclass(frozen=True)
class _Then:
    """An upload followed by the adapter's verdict (a Stored or Rejected event)."""

    first: Event
    verdict: Event


@dataclass
class Problem:
    """One thing wrong with the content, located by the path that produced it."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


# What the walk sends: a merchant's event, an operator's, or an upload with its verdict.
Step = Event | Operator | _Then


def _entry_events() -> Iterator[Event | Operator]:
    """Entry events: every command (known or not) and sample texts."""
    for name in (*router.COMMANDS, "nosuchcommand"):
        yield Command(name)
    for args in (
        "",
        "12",
        "abc approved",
        "12 nosuch",
        "12 approved " + "备" * 501,
        "12 need_more 请于 2026-10-20 前补充<b>品牌授权书</b>",
        "12 审核通过",
    ):
        yield Operator(Command("setstatus", args))
    for args in ("", "x", "12"):
        yield Operator(Command("merchant", args))
    yield Operator(Command("stats"))
    yield Operator(Command("console"))
    yield Command("submitted", "2026-09-28")
    yield Command("submitted", "2099-01-01")
    yield Command("submitted", "yesterday")
    for text in SAMPLE_TEXTS:
        yield Text(text)
    yield Press("__forged__")
    yield Upload("file-id", "license.pdf", 1024, "document", "application/pdf")
    yield Upload("file-id", "big.pdf", 30 * 1024 * 1024, "document", "application/pdf")


def _seed_states() -> list[MerchantState]:
    """Where merchants may stand: new, returning, on each route, submitted, each status."""
    seeds = [MerchantState(1, created=True), MerchantState(1, created=False)]
    for route_name in ("agency", "platform"):
        seeds.append(MerchantState(1, created=False, data={"route": route_name}))
        for status in ("submitted", "reviewing", "need_more", "approved", "rejected", "joined"):
            seeds.append(
                MerchantState(
                    1,
                    created=False,
                    data={
                        "route": route_name,
                        "submitted_on": "2026-12-30",
                        "status": status,
                        "application": {
                            "confirmed_at": "2026-12-29T10:00:00+08:00",
                            "fields": {
                                "shop_name": "星" * 60,
                                "scope": "类" * 200,
                                "monthly_sales": 10**10,
                                "contact": {"kind": "email", "value": "a" * 60 + "@example.com"},
                            },
                        },
                    },
                )
            )
    return seeds


# Told of every step of the walk: the template of the screen whose button was pressed or whose
# field was answered (None for an entry event), the event (for an upload: the adapter's
# verdict), the state before it and the outcome (bot.diagrams).
EdgeObserver = Callable[[str | None, Event, MerchantState, Outcome], None]


def walk(
    content: Content, on_edge: EdgeObserver | None = None
) -> Iterator[tuple[str, Screen | Exception]]:
    """Every distinct screen reachable from the seeds by commands, texts and buttons."""
    now = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ctx = Context(content.catalog, now)
    op_ctx = Context(content.catalog, now, is_operator=True)
    # Feature modules may offer seed states deep inside their topic (e.g. five candidates);
    # they come first so that the bounded walk reaches their deepest screens.
    seeds = [
        MerchantState(1, created=False, data=data)
        for feature in router.FEATURES
        if feature.seeds is not None
        for data in feature.seeds(content.catalog)
    ] + _seed_states()
    queue: deque[tuple[str, MerchantState, Step, str | None]] = deque(
        (
            f"{seed.data.get('route', 'new')}/{seed.data.get('status', '-')} {e!r}"[:80],
            seed,
            e,
            None,
        )
        for seed in seeds
        for e in _entry_events()
    )
    seen_events: set[tuple[Event, str]] = set()
    seen_screens: set[str] = set()
    processed = 0
    while queue and processed < MAX_EVENTS:
        path, state, event, source = queue.popleft()
        processed += 1
        try:
            if isinstance(event, Operator):
                outcome = router.handle(state, event.event, op_ctx)
            elif isinstance(event, _Then):
                first = router.handle(state, event.first, ctx)
                outcome = router.handle(first.state, event.verdict, ctx)
            else:
                outcome = router.handle(state, event, ctx)
        except Exception as exc:  # a crash in a flow is a finding, not the end of the check
            yield path, exc
            continue
        if on_edge is not None:
            shown = event.event if isinstance(event, Operator) else event
            on_edge(source, shown.verdict if isinstance(shown, _Then) else shown, state, outcome)
        if outcome.download is not None and not isinstance(event, (Operator, _Then)):
            # The adapter's second pass: the file stored, or refused after a look at it (only a
            # merchant's upload or press asks for a file, never an operator or a verdict).
            item = outcome.download_item or ""
            for verdict in (
                Stored(item, "1/sample.pdf", "0" * 64, 123_456, "application/pdf"),
                Rejected(item, "type", "zip"),
                Rejected(item, "download"),
            ):
                queue.append((f"{path} → {verdict!r}"[:200], state, _Then(event, verdict), source))
        after = MerchantState(state.user_id, created=False, data=outcome.state.data)
        after_key = json.dumps(after.data, sort_keys=True, default=str)
        for screen in outcome.screens:
            key = repr((screen.template, sorted(screen.data.items(), key=str), screen.buttons))
            if key not in seen_screens:
                seen_screens.add(key)
                yield path, screen
            for row in screen.buttons:
                for button in row:
                    press = Press(button.action, button.args)
                    if (press, after_key) not in seen_events:
                        seen_events.add((press, after_key))
                        queue.append((f"{path} → {button.label}", after, press, screen.template))
        if after.data.get("input"):
            prompt = outcome.screens[-1].template if outcome.screens else source
            for text in INPUT_SAMPLES:
                if (Text(text), after_key) not in seen_events:
                    seen_events.add((Text(text), after_key))
                    queue.append((f"{path} → {text[:12]!r}", after, Text(text), prompt))


def _check_screen(content: Content, where: str, screen: Screen) -> list[Problem]:
    """Render one screen and check it against Telegram's limits."""
    try:
        text = content.render_text(screen.template, screen.data)
    except ContentError as exc:
        return [Problem(where, str(exc))]
    try:
        length = visible_length(text)
    except HtmlError as exc:
        return [Problem(where, f"invalid Telegram HTML: {exc}")]
    problems = []
    if length > MAX_TEXT:
        problems.append(Problem(where, f"{length} characters (limit {MAX_TEXT})"))
    if length == 0:
        problems.append(Problem(where, "renders to an empty message"))
    for row in screen.buttons:
        for button in row:
            try:
                label = content.label(button)
                callbacks.encode(button)
            except (ContentError, callbacks.CallbackDataError) as exc:
                problems.append(Problem(where, str(exc)))
                continue
            declared = router.ACTIONS.get(button.action)
            if declared is None or declared[1].decode(button.args) is None:
                # the router would answer this button as stale: a flow and its declaration
                # disagree (flows.feature)
                problems.append(
                    Problem(
                        where, f"button {button.action}{button.args} does not fit its declaration"
                    )
                )
            if not label or len(label) > MAX_LABEL:
                problems.append(Problem(where, f"label {label!r} is empty or too long"))
    return problems


def check(registry: ContentRegistry) -> tuple[list[Problem], int]:
    """All problems found, and how many screens were checked."""
    problems: list[Problem] = []
    checked = 0
    for locale, content in registry.locales.items():
        used: set[str] = set()
        for path, screen in walk(content):
            if isinstance(screen, Exception):
                problems.append(Problem(path, f"the flow crashed: {screen!r}"))
                continue
            where = f"[{locale}] {screen.template} ({path})"
            used.add(screen.template)
            checked += 1
            problems.extend(_check_screen(content, where, screen))
        for label, screen in adapter_screens(content):
            used.add(screen.template)
            checked += 1
            problems.extend(_check_screen(content, f"[{locale}] {label}", screen))
        for name in content.template_names():
            if name not in used:
                problems.append(Problem(f"[{locale}] {name}", "template never shown by any flow"))
    return problems, checked


def adapter_screens(content: Content) -> Iterator[tuple[str, Screen]]:
    """Screens the adapter builds itself (operator replies, reminders), with sample data."""
    now = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ctx = Context(content.catalog, now)
    yield "error", Screen("error")
    yield "unknown merchant", operator.unknown_merchant(42)
    for status in review.STATUSES:
        yield f"done {status}", operator.done_screen(42, status, "<b>备注</b> & " * 40, True, "")
    yield "done blocked", operator.done_screen(42, "approved", "", False, "blocked")
    long_link = "https://console.example.com/login?t=" + "x" * 120
    yield "console link", operator.console_screen(long_link, 10)
    yield "console off", operator.console_screen(None, 0)
    yield "done failed", operator.done_screen(42, "approved", "", False, "Bad Request: x")
    yield (
        "stats",
        operator.stats_screen(
            {
                "total": 100_000,
                "unreachable": 12,
                "pending_reminders": 5000,
                "route": {"agency": 40_000, "platform": 50_000, "": 10_000},
                "status": {code: 1000 for code in review.STATUSES} | {"": 94_000},
            }
        ),
    )
    seed = _seed_states()[-1]
    history = [
        {
            "at": "2026-09-28T02:00:00+00:00",
            "by": "operator:1",
            "old": None,
            "new": "need_more",
            "note": "<i>补</i>" * 100,
        }
    ] * 10
    reminders = [
        {
            "key": "x",
            "kind": "overdue",
            "chain": "review",
            "state": "pending",
            "due_at": "2026-10-14T02:00:00+00:00",
            "sent_at": None,
        }
    ]
    yield (
        "merchant card",
        operator.merchant_card(seed, history, ctx, {"unreachable": True, "reminders": reminders}),
    )
    for kind in rem.KINDS:
        data = {
            "first": "2026-10-08",
            "last": "2026-10-13",
            "deadline": "2026-10-20",
            "date": "2026-10-20",
            "interval": 7,
        }
        yield f"reminder {kind}", rem.reminder_screen(kind, f"{kind}/2026-09-28", data)


def main() -> int:
    """Run the check and print a readable report; non-zero exit status on any problem."""
    try:
        registry = ContentRegistry()
    except ContentError as exc:
        print(f"content-check: cannot load content: {exc}")
        return 1
    problems, checked = check(registry)
    for problem in problems:
        print(f"✗ {problem}")
    status = "OK" if not problems else f"{len(problems)} problem(s)"
    print(f"content-check: {checked} screens in {len(registry.locales)} locale(s): {status}")
    return 1 if problems else 0
