"""End to end over HTTP: the short route choice, its 详细对比 (the long comparison), and the
compact "先选路线" question when /apply, /docs, /agency or /submitted need a route first."""

from __future__ import annotations

import yaml

from bot.content import CONTENT_ROOT
from tests.contentkit import callback, has, press, template
from tests.contentkit import data as data_of
from tests.flowkit import CONTENT
from tests.test_e2e_docs import doc
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


def assert_route_keys(screen) -> None:
    """Both route buttons (托管公司 / 全托管)."""
    assert has(screen, "route_agency") and has(screen, "route_platform"), screen.labels


def asks_compactly(screen) -> bool:
    """The compact 先选路线 question (the route choice, asked for by a command)."""
    return template(screen) == "route_choice" and bool(data_of(screen)["asked_for"])


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
    assert template(short) == "route_choice" and not data_of(short)["asked_for"]
    assert lines(short.text) < SHORT_LINES, short.text
    for route in (AGENCY, PLATFORM):
        assert route["name"] in short.text and route["short"] in short.text
        assert route["fits_short"] in short.text  # who it suits
        assert route["risks"][0] not in short.text  # the details wait for 详细对比
    assert_route_keys(short)
    assert has(short, "route_detail")
    assert len(short.labels) <= 10

    [detail] = await press(m, "route_detail")
    assert detail.edited and detail.message_id == short.message_id
    assert template(detail) == "route_detail"
    assert_long_form(detail)
    assert_route_keys(detail)
    assert has(detail, "back")

    [back] = await press(m, "back")
    assert back.edited and back.text == short.text and back.labels == short.labels

    await press(m, "route_detail")
    [chosen] = await press(m, "route_platform")  # choosing straight from the long form
    assert chosen.edited and template(chosen) == "route_set"
    assert data_of(chosen)["route"] == "platform"
    assert PLATFORM["name"] in chosen.text
    assert (await bot.store.load_merchant(m.user_id)).data["route"] == "platform"

    [again] = await m.send("/route")  # to switch later: the short form says where you are
    assert lines(again.text) < SHORT_LINES and PLATFORM["name"] in again.text
    assert_clean(server)


async def test_apply_without_a_route_asks_compactly_then_goes_on_to_the_form(bot, server):
    m = bot.merchant(2002)
    [ask] = await m.send("/apply")
    assert not ask.edited
    assert asks_compactly(ask) and lines(ask.text) <= COMPACT_LINES, ask.text
    assert AGENCY["name"] in ask.text and PLATFORM["name"] in ask.text
    assert_route_keys(ask)
    assert has(ask, "route_detail")

    # the long form on the way keeps the request: its route buttons still lead to the form
    [detail] = await press(m, "route_detail")
    assert_long_form(detail)
    assert callback(detail, "route_platform") == callback(ask, "route_platform")
    [back] = await press(m, "back")
    assert back.text == ask.text and back.labels == ask.labels

    [chosen] = await press(m, "route_agency")
    assert chosen.edited and template(chosen) == "route_set"
    [form] = await press(m, "continue_apply")
    assert template(form) == "apply_prompt" and data_of(form)["index"] == 1
    assert (await bot.store.load_merchant(m.user_id)).data["route"] == "agency"
    assert_clean(server)


async def test_apply_from_the_long_form_goes_on_to_the_form(bot, server):
    m = bot.merchant(2003)
    await m.send("/apply")
    await press(m, "route_detail")
    [chosen] = await press(m, "route_platform")
    assert template(chosen) == "route_set"
    [form] = await press(m, "continue_apply")
    assert template(form) == "apply_prompt" and data_of(form)["index"] == 1
    assert_clean(server)


async def test_docs_agency_and_submitted_ask_the_same_compact_question(bot, server):
    merchants = {}
    for user_id, command in ((2004, "/docs"), (2005, "/agency"), (2006, "/submitted")):
        m = merchants[command] = bot.merchant(user_id)
        [ask] = await m.send(command)
        assert asks_compactly(ask) and lines(ask.text) <= COMPACT_LINES, (command, ask.text)
        assert_route_keys(ask)
        [detail] = await press(m, "route_detail")
        assert_long_form(detail)
        # whatever the command asked for travels through the long form unchanged
        assert callback(detail, "route_agency") == callback(ask, "route_agency"), command
        assert callback(detail, "route_platform") == callback(ask, "route_platform"), command
    m = merchants["/docs"]
    [chosen] = await press(m, "route_platform")
    [checklist] = await press(m, "continue_docs", on=chosen)
    assert checklist.edited and template(checklist) == "docs_question"
    assert data_of(checklist)["item"] == doc("platform", "brand_auth")
    m = merchants["/agency"]
    await press(m, "route_agency")
    [home] = await press(m, "continue_agency_agency")
    assert template(home) == "agency_home"
    assert_clean(server)


async def test_an_old_or_forged_detail_button_still_answers(bot, server):
    m = bot.merchant(2007)
    [short] = await m.send("/route")
    stale = CONTENT.catalog["ui"]["notices"]["stale"]
    [detail] = await m.press_data(short.message_id, "rtd")
    for data in ("rtd:x:y", "rts:a:b", "rtd:" + "z" * 40, "rtd:x?"):
        # the one stale answer of the route feature: a toast, and the short choice in place
        [shown] = await m.press_data(detail.message_id, data)
        assert list(server.callback_answers.values())[-1].get("text") == stale, data
        assert_route_buttons(shown)
        [detail] = await m.press_data(shown.message_id, "rtd")
        assert_long_form(detail)
    assert server.pending_callback_queries() == []
    refused = [c for c in server.calls if not c.ok and "not modified" not in c.description]
    assert refused == []
