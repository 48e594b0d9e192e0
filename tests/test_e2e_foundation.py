"""End to end: the real Application over HTTP against the strict local Bot API server."""

from __future__ import annotations

import yaml

from bot.content import CONTENT_ROOT
from tests.harness import running_bot

SHIPPING = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "shipping.yaml").read_text("utf-8"))
SELLER_TITLES = [s["title"] for s in SHIPPING["guides"]["seller"]["steps"]]
MENU_WORDS = ("托管公司", "资料", "申请", "审核", "发货", "提醒")


def assert_clean(server) -> None:
    """Nothing the strict server refused, and no button press left unanswered."""
    refused = [c for c in server.calls if not c.ok]
    assert refused == [], [(c.method, c.description) for c in refused]
    assert server.pending_callback_queries() == []


async def test_start_shows_welcome_and_menu_and_registers_commands(bot, server):
    merchant = bot.merchant()
    [welcome] = await merchant.send("/start")
    assert "托管助手" in welcome.text
    for word in MENU_WORDS:
        assert any(word in label for label in welcome.labels), (word, welcome.labels)
    commands = [c for c in server.calls if c.method == "setMyCommands"]
    assert commands, "setMyCommands was never called"
    names = {c["command"] for c in commands[-1].params["commands"]}
    assert {"start", "menu", "help", "ship", "progress", "docs", "cancel"} <= names
    described = {c["command"]: c["description"] for c in commands[-1].params["commands"]}
    assert "发货" in described["ship"]
    assert_clean(server)


async def test_shipping_guide_forward_back_contents_and_menu(bot, server):
    merchant = bot.merchant()
    [first] = await merchant.send("怎么发货")
    assert f"第 1 步 / 共 {len(SELLER_TITLES)} 步" in first.text
    assert SELLER_TITLES[0] in first.text
    assert not any("上一步" in label for label in first.labels)
    seen = [first]
    for expected in SELLER_TITLES[1:]:
        [step] = await merchant.press("下一步")
        assert step.edited and step.message_id == first.message_id
        assert f"：{expected}" in step.text
        seen.append(step)
    assert len(seen) == 7
    assert not any("下一步" in label for label in seen[-1].labels)
    assert any("备货入仓" in label for label in seen[-1].labels)
    # every step carries practical detail from the content
    for number, step in enumerate(seen, start=1):
        detail = SHIPPING["guides"]["seller"]["steps"][number - 1]
        assert detail["checks"][0] in step.text and detail["mistakes"][0] in step.text
    [back] = await merchant.press("上一步")
    assert f"：{SELLER_TITLES[5]}" in back.text
    [contents] = await merchant.press("目录")
    assert contents.edited and "目录" in contents.text
    assert len([label for label in contents.labels if label[0].isdigit()]) == 7
    [fourth] = await merchant.press(f"4. {SELLER_TITLES[3]}")
    assert "第 4 步" in fourth.text
    [menu] = await merchant.press("主菜单")
    assert menu.edited and "主菜单" in menu.text
    assert_clean(server)


async def test_ship_command_and_free_text_phrasings_open_the_guide(bot, server):
    merchant = bot.merchant()
    for phrase in ("/ship", "怎麼發貨？", "请问运单怎么打", "订单怎么寄"):
        [reply] = await merchant.send(phrase)
        assert "第 1 步" in reply.text, phrase
    [warehouse] = await merchant.send("备货单怎么处理")
    assert "入仓" in warehouse.text or "备货" in warehouse.text
    assert_clean(server)


async def test_unknown_text_gets_help_and_menu(bot, server):
    merchant = bot.merchant()
    [reply] = await merchant.send("今天天气不错")
    assert reply.text
    assert any("发货" in label for label in reply.labels)
    [reply] = await merchant.send("/nosuchcommand")
    assert "/help" in reply.text
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
    for data in ("ship:s:99", "ship:x:1", "ship:s:abc", "shipx", "nosuchaction:1", "🙂", "a" * 64):
        mark = server.mark()
        await merchant.press_data(step.message_id, data)
        # the pressed message now shows a real screen (unchanged if it already did)
        assert server.last_bot_message(merchant.user_id).reply_markup, data
        answers = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        assert len(answers) == 1 and answers[0].ok, data
    # a button on a message the bot cannot edit (unknown id): answered and shown anew
    shown = await merchant.press_data(999_999, "ship:s:2")
    assert shown and not shown[-1].edited and "第 2 步" in shown[-1].text
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
        assert "欢迎回来" not in first.text
        m = bot.merchant(42)
        await m.send("/route")
        await m.press("全托管")
        assert await bot.store.count_merchants() == 1
    async with running_bot(server, db) as bot:
        [again] = await bot.merchant(42).send("/start")
        assert "欢迎回来" in again.text
        # a button from before the restart still works
        [step] = await bot.merchant(42).press_data(first.message_id, "ship:s:3")
        assert "第 3 步" in step.text
    assert_clean(server)


async def test_two_merchants_do_not_see_each_other(bot, server):
    a, b = bot.merchant(1), bot.merchant(2)
    await a.send("/start")
    await b.send("怎么发货")
    assert all(c.chat_id in (1, 2, None) for c in server.calls)
    assert "第 1 步" not in (server.last_bot_message(1).text or "")
