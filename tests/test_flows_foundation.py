"""Unit tests of the pure flows: no I/O, no Telegram."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from flows import router
from flows.core import Command, Context, MerchantState, Press, Text, Upload
from tests.harness import contents

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context(contents().default.catalog, NOW)


def test_handle_never_mutates_the_given_state(ctx):
    state = MerchantState(1, created=False, data={"route": "agency"})
    out = router.handle(state, Command("start"), ctx)
    out.state.data["route"] = "changed"
    assert state.data == {"route": "agency"}


def test_start_greets_new_and_returning_merchants_differently(ctx):
    new = router.handle(MerchantState(1, created=True), Command("start"), ctx)
    back = router.handle(
        MerchantState(1, created=False, data={"route": "agency"}), Command("start"), ctx
    )
    # saved earlier, but only after /help or 你好: nothing of the journey, so a first welcome
    asked_help = router.handle(MerchantState(1, created=False), Command("start"), ctx)
    assert new.screens[0].template == "welcome"
    assert back.screens[0].template == "welcome_back"
    assert asked_help.screens[0].template == "welcome"


def test_guide_navigation_bounds(ctx):
    state = MerchantState(1)
    first = router.handle(state, Command("ship"), ctx).screens[0]
    assert first.data["step"] == 1 and not first.edit
    actions = [(b.action, b.args) for row in first.buttons for b in row]
    assert ("ship", ("s", "2")) in actions
    assert not any(args == ("s", "0") for _, args in actions)
    last = router.handle(state, Press("ship", ("s", "7")), ctx).screens[0]
    assert last.edit and last.data == {"guide": "seller", "step": 7, "total": 7}
    assert ("ship", ("w", "1")) in [(b.action, b.args) for row in last.buttons for b in row]


@pytest.mark.parametrize("args", [("s", "0"), ("s", "8"), ("s", "-1"), ("s", "x"), ("q", "1"), ()])
def test_forged_steps_get_a_notice_and_a_real_screen(ctx, args):
    out = router.handle(MerchantState(1), Press("ship", args), ctx)
    assert out.notice == "stale"
    assert out.screens and out.screens[0].template in ("ship_index", "ship_step")


def test_unknown_action_and_unknown_command(ctx):
    out = router.handle(MerchantState(1), Press("nope", ("1",)), ctx)
    assert out.notice == "stale" and out.screens[0].template == "menu"
    out = router.handle(MerchantState(1), Command("frobnicate"), ctx)
    assert out.screens[0].template == "unknown_command"
    assert out.screens[0].data["command"] == "frobnicate"


@pytest.mark.parametrize(
    ("text", "template", "topic"),
    [
        ("怎么发货", "ship_step", None),
        ("如何打印运单？", "ship_step", None),
        ("审核要多久", "faq", "review_time"),
        ("这家公司靠谱吗", "faq", "agency_trust"),
        ("多少钱", "faq", "cost"),
        ("今天天气不错", "faq", "unknown"),
        ("", "faq", "unknown"),
    ],
)
def test_free_text_routing(ctx, text, template, topic):
    screen = router.handle(MerchantState(1), Text(text), ctx).screens[0]
    assert screen.template == template
    if topic:
        assert screen.data["topic"] == topic


def test_an_upload_before_any_route_is_kept_and_answered(ctx):
    out = router.handle(MerchantState(1), Upload("f", "a.pdf", 10, "document"), ctx)
    assert out.screens
