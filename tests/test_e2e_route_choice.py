"""End to end over HTTP: the short route choice, its 详细对比 (the long comparison), and the
compact "先选路线" question when /apply, /docs, /agency or /submitted need a route first."""

from __future__ import annotations

import yaml

from bot.content import CONTENT_ROOT
from tests.test_e2e_foundation import assert_clean

ROUTES = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "routes.yaml").read_text("utf-8"))
AGENCY = ROUTES["routes"]["agency"]
PLATFORM = ROUTES["routes"]["platform"]
SHORT_LINES = 15  # the short form and the compact question stay well under this
COMPACT_LINES = 6


def lines(text: str) -> int:
    return len(text.strip().splitlines())


def assert_route_buttons(screen) -> None:
    """Both route buttons (托管公司 / 全托管) and 详细对比."""
    assert any("托管公司" in x for x in screen.labels), screen.labels
    assert any("全托管" in x for x in screen.labels), screen.labels


def assert_long_form(screen) -> None:
    """The full comparison: who does what, costs, control, risks, fits, for both routes."""
    for route in (AGENCY, PLATFORM):
        assert route["name"] in screen.text and route["fits"] in screen.text
        for part in route["who_does_what"] + route["costs"] + route["risks"]:
            assert part in screen.text, part
        assert route["control"] in screen.text
    assert lines(screen.text) > 30


async def test_route_choice_is_short_and_details_on_request(bot, server):
    m = bot.merchant(2001)
    [short] = await m.send("/route")
    assert lines(short.text) < SHORT_LINES, short.text
    for route in (AGENCY, PLATFORM):
        assert route["name"] in short.text and route["short"] in short.text
        assert route["fits_short"] in short.text  # who it suits
        assert route["risks"][0] not in short.text  # the details wait for 详细对比
    assert_route_buttons(short)
    assert any("详细对比" in x for x in short.labels)
    assert len(short.labels) <= 10

    [detail] = await m.press("详细对比")
    assert detail.edited and detail.message_id == short.message_id
    assert_long_form(detail)
    assert_route_buttons(detail)
    assert any("返回" in x for x in detail.labels)

    [back] = await m.press("返回")
    assert back.edited and back.text == short.text and back.labels == short.labels

    await m.press("详细对比")
    [chosen] = await m.press("全托管")  # choosing straight from the long form
    assert chosen.edited and "已选择" in chosen.text and PLATFORM["name"] in chosen.text
    assert (await bot.store.load_merchant(m.user_id)).data["route"] == "platform"

    [again] = await m.send("/route")  # to switch later: the short form says where you are
    assert lines(again.text) < SHORT_LINES and PLATFORM["name"] in again.text
    assert_clean(server)


async def test_apply_without_a_route_asks_compactly_then_goes_on_to_the_form(bot, server):
    m = bot.merchant(2002)
    [ask] = await m.send("/apply")
    assert not ask.edited
    assert "先选路线" in ask.text and lines(ask.text) <= COMPACT_LINES, ask.text
    assert AGENCY["name"] in ask.text and PLATFORM["name"] in ask.text
    assert_route_buttons(ask)
    assert any("详细对比" in x for x in ask.labels)

    # the long form on the way keeps the request: its route buttons still lead to the form
    [detail] = await m.press("详细对比")
    assert_long_form(detail)
    assert detail.button("全托管") == ask.button("全托管")
    [back] = await m.press("返回")
    assert back.text == ask.text and back.labels == ask.labels

    [chosen] = await m.press("托管公司")
    assert chosen.edited and "已选择" in chosen.text
    [form] = await m.press("继续")
    assert "第 1/4 项" in form.text
    assert (await bot.store.load_merchant(m.user_id)).data["route"] == "agency"
    assert_clean(server)


async def test_apply_from_the_long_form_goes_on_to_the_form(bot, server):
    m = bot.merchant(2003)
    await m.send("/apply")
    await m.press("详细对比")
    [chosen] = await m.press("全托管")
    assert "已选择" in chosen.text
    [form] = await m.press("继续")
    assert "第 1/4 项" in form.text
    assert_clean(server)


async def test_docs_agency_and_submitted_ask_the_same_compact_question(bot, server):
    merchants = {}
    for user_id, command in ((2004, "/docs"), (2005, "/agency"), (2006, "/submitted")):
        m = merchants[command] = bot.merchant(user_id)
        [ask] = await m.send(command)
        assert "先选路线" in ask.text and lines(ask.text) <= COMPACT_LINES, (command, ask.text)
        assert_route_buttons(ask)
        [detail] = await m.press("详细对比")
        assert_long_form(detail)
        # whatever the command asked for travels through the long form unchanged
        assert detail.button("托管公司") == ask.button("托管公司"), command
        assert detail.button("全托管") == ask.button("全托管"), command
    m = merchants["/docs"]
    [chosen] = await m.press("全托管")
    [checklist] = await m.press("准备资料", chosen)
    assert checklist.edited and "品牌授权书" in checklist.text
    m = merchants["/agency"]
    await m.press("托管公司")
    [home] = await m.press("继续")
    assert "选托管公司" in home.text
    assert_clean(server)


async def test_an_old_or_forged_detail_button_still_answers(bot, server):
    m = bot.merchant(2007)
    [short] = await m.send("/route")
    for data in ("rtd:x:y", "rts:a:b", "rtd:" + "z" * 40, "rts"):
        [shown] = await m.press_data(short.message_id, data)
        assert_route_buttons(shown)
    assert server.pending_callback_queries() == []
    refused = [c for c in server.calls if not c.ok and "not modified" not in c.description]
    assert refused == []
