"""End to end: the real Application over HTTP against the strict local Bot API server."""

from __future__ import annotations

import yaml

from bot.content import CONTENT_ROOT
from tests.contentkit import CONTENT, data, has, keys, press, shows, template
from tests.harness import running_bot

SHIPPING = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "shipping.yaml").read_text("utf-8"))
SELLER_TITLES = [s["title"] for s in SHIPPING["guides"]["seller"]["steps"]]
MENU = {"menu_agency", "menu_docs", "menu_apply", "menu_status", "menu_ship", "menu_reminders"}


def step_of(shown) -> tuple[int, int]:
    """(step, steps) of a shipping guide step a message shows."""
    assert template(shown) == "ship_step", shown.text
    return data(shown)["step"], data(shown)["total"]


def assert_clean(server) -> None:
    """Nothing the strict server refused, and no button press left unanswered."""
    refused = [c for c in server.calls if not c.ok]
    assert refused == [], [(c.method, c.description) for c in refused]
    assert server.pending_callback_queries() == []


async def test_start_shows_welcome_and_menu_and_registers_commands(bot, server):
    merchant = bot.merchant()
    [welcome] = await merchant.send("/start")
    assert template(welcome) == "welcome"
    assert MENU <= set(keys(welcome)), keys(welcome)
    commands = [c for c in server.calls if c.method == "setMyCommands"]
    assert commands, "setMyCommands was never called"
    names = {c["command"] for c in commands[-1].params["commands"]}
    assert {"start", "menu", "help", "ship", "progress", "docs", "cancel"} <= names
    described = {c["command"]: c["description"] for c in commands[-1].params["commands"]}
    assert described["ship"] == CONTENT.data["ui"]["commands"]["ship"]
    assert_clean(server)


async def test_shipping_guide_forward_back_contents_and_menu(bot, server):
    merchant = bot.merchant()
    [first] = await merchant.send("怎么发货")
    assert step_of(first) == (1, len(SELLER_TITLES))
    assert SELLER_TITLES[0] in first.text
    assert not has(first, "prev")
    seen = [first]
    for number, expected in enumerate(SELLER_TITLES[1:], start=2):
        [step] = await press(merchant, "next")
        assert step.edited and step.message_id == first.message_id
        assert step_of(step)[0] == number and expected in step.text
        seen.append(step)
    assert len(seen) == 7
    assert not has(seen[-1], "next")
    assert has(seen[-1], "warehouse_guide")
    # every step carries practical detail from the content
    for number, step in enumerate(seen, start=1):
        detail = SHIPPING["guides"]["seller"]["steps"][number - 1]
        assert detail["checks"][0] in step.text and detail["mistakes"][0] in step.text
    [back] = await press(merchant, "prev")
    assert step_of(back)[0] == 6 and SELLER_TITLES[5] in back.text
    [contents] = await press(merchant, "contents")
    assert contents.edited and template(contents) == "ship_index"
    assert keys(contents).count("step_n") == 7
    [fourth] = await press(merchant, "step_n", n=4)
    assert step_of(fourth)[0] == 4
    [menu] = await press(merchant, "main_menu")
    assert menu.edited and template(menu) == "menu"
    assert_clean(server)


async def test_ship_command_and_free_text_phrasings_open_the_guide(bot, server):
    merchant = bot.merchant()
    for phrase in ("/ship", "怎麼發貨？", "请问运单怎么打", "订单怎么寄"):
        [reply] = await merchant.send(phrase)
        assert step_of(reply)[0] == 1, phrase
    [warehouse] = await merchant.send("备货单怎么处理")
    assert template(warehouse) == "ship_step" and data(warehouse)["guide"] == "warehouse"
    assert_clean(server)


async def test_unknown_text_gets_help_and_menu(bot, server):
    merchant = bot.merchant()
    [reply] = await merchant.send("今天天气不错")
    assert reply.text
    assert has(reply, "menu_ship")
    [reply] = await merchant.send("/nosuchcommand")
    assert template(reply) == "unknown_command" and "/help" in reply.text
    assert_clean(server)


async def test_html_and_markup_characters_are_escaped(bot, server):
    merchant = bot.merchant()
    nasty = "<b>店铺 & </i> <script>alert(1)</script> *_[x](y)"
    [reply] = await merchant.send(nasty)
    assert reply.text
    [reply] = await merchant.send("/<b>&amp;")
    assert "<b>&amp;" in reply.text  # shown literally, as typed
    [reply] = await merchant.send("字" * 4096)
    assert reply.text
    assert_clean(server)


async def test_stale_and_forged_buttons_are_answered_with_the_current_screen(bot, server):
    merchant = bot.merchant()
    [step] = await merchant.send("/ship")
    forgeries = ("ship:s:99", "ship:x:1", "ship:s:abc", "shipx", "nosuchaction:1", "🙂", "a" * 64)
    for forged in forgeries:
        mark = server.mark()
        await merchant.press_data(step.message_id, forged)
        # the pressed message now shows a real screen (unchanged if it already did)
        assert server.last_bot_message(merchant.user_id).reply_markup, forged
        answers = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        assert len(answers) == 1 and answers[0].ok, forged
    # a button on a message the bot cannot edit (unknown id): answered and shown anew
    shown = await merchant.press_data(999_999, "ship:s:2")
    assert shown and not shown[-1].edited and step_of(shown[-1])[0] == 2
    stale = [c for c in server.calls if c.method == "answerCallbackQuery" and c.params.get("text")]
    assert stale, "a forged step should carry a short notice"
    assert server.pending_callback_queries() == []


async def test_menu_entries_not_built_yet_answer_politely(bot, server):
    merchant = bot.merchant()
    [menu] = await merchant.send("/menu")
    for label in menu.labels:
        shown = await merchant.press(label, menu)
        assert shown and shown[-1].text, label
        assert shown[-1].labels, f"{label}: a screen without a way back"
    assert_clean(server)


async def test_restart_with_the_same_database_remembers_the_merchant(server, tmp_path):
    db = tmp_path / "bot.sqlite3"
    async with running_bot(server, db) as bot:
        [first] = await bot.merchant(42).send("/start")
        assert template(first) == "welcome"
        m = bot.merchant(42)
        await m.send("/route")
        await press(m, "route_platform")
        assert await bot.store.count_merchants() == 1
    async with running_bot(server, db) as bot:
        [again] = await bot.merchant(42).send("/start")
        assert template(again) == "welcome_back"
        # a button from before the restart still works
        [step] = await bot.merchant(42).press_data(first.message_id, "ship:s:3")
        assert step_of(step)[0] == 3
    assert_clean(server)


async def test_two_merchants_do_not_see_each_other(bot, server):
    a, b = bot.merchant(1), bot.merchant(2)
    await a.send("/start")
    await b.send("怎么发货")
    assert all(c.chat_id in (1, 2, None) for c in server.calls)
    assert not shows(server.last_bot_message(1), "ship_step")
