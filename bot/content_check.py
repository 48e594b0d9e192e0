"""`merchant-bot content-check`: render every screen the flows can produce and check limits.

Screens are produced by running the real flows over scripted events (every command, every
button reachable from them, a set of free-text questions), so the check sees what merchants
see. Each rendered text must be valid Telegram HTML within 4096 characters; each button's
callback data must fit 64 bytes; each label must be short; every template must be used.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import callbacks
from bot.content import Content, ContentError, ContentRegistry
from bot.devserver.html_check import HtmlError, visible_length
from flows import router
from flows.core import Command, Context, Event, MerchantState, Press, Screen, Text, Upload

MAX_TEXT = 4096
MAX_LABEL = 40  # characters: a label longer than this wraps badly on a phone
MAX_SCREENS = 5000  # a bound on the walk through the buttons

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


@dataclass
class Problem:
    """One thing wrong with the content, located by the path that produced it."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


def _events() -> Iterator[Event]:
    """Entry events: every command (known or not) and sample texts."""
    for name in (*router.COMMANDS, *sorted(router.SOON), "nosuchcommand"):
        yield Command(name)
    for text in SAMPLE_TEXTS:
        yield Text(text)
    yield Press("__forged__")
    yield Upload("file-id", "license.pdf", 1024, "document", "application/pdf")


def walk(content: Content) -> Iterator[tuple[str, Screen]]:
    """Every screen reachable from the entry events by pressing buttons (breadth first)."""
    now = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    ctx = Context(content.catalog, now)
    for created in (True, False):
        state = MerchantState(1, created=created)
        queue: list[tuple[str, Event]] = [(repr(e)[:60], e) for e in _events()]
        seen_presses: set[Press] = set()
        count = 0
        while queue and count < MAX_SCREENS:
            path, event = queue.pop(0)
            outcome = router.handle(state, event, ctx)
            for screen in outcome.screens:
                count += 1
                yield path, screen
                for row in screen.buttons:
                    for button in row:
                        press = Press(button.action, button.args)
                        if press not in seen_presses:
                            seen_presses.add(press)
                            queue.append((f"{path} → {button.label}", press))


def check(registry: ContentRegistry) -> tuple[list[Problem], int]:
    """All problems found, and how many screens were checked."""
    problems: list[Problem] = []
    checked = 0
    for locale, content in registry.locales.items():
        used: set[str] = set()
        for path, screen in walk(content):
            where = f"[{locale}] {screen.template} ({path})"
            used.add(screen.template)
            checked += 1
            try:
                text = content.render_text(screen.template, screen.data)
            except ContentError as exc:
                problems.append(Problem(where, str(exc)))
                continue
            try:
                length = visible_length(text)
            except HtmlError as exc:
                problems.append(Problem(where, f"invalid Telegram HTML: {exc}"))
                continue
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
                    if not label or len(label) > MAX_LABEL:
                        problems.append(Problem(where, f"label {label!r} is empty or too long"))
        for name in content.template_names():
            if name not in used and name not in STANDALONE:
                problems.append(Problem(f"[{locale}] {name}", "template never shown by any flow"))
        for name in STANDALONE:
            try:
                visible_length(content.render_text(name, STANDALONE[name]))
            except (ContentError, HtmlError) as exc:
                problems.append(Problem(f"[{locale}] {name}", str(exc)))
    return problems, checked


# Templates rendered by the adapter rather than by a flow, with sample data.
STANDALONE: dict[str, dict] = {"error": {}}


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
