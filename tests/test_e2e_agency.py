"""End to end over HTTP: /agency on route A (candidates, red flags, scorecard, comparison,
choice) and route B (self-check), against the strict local Bot API server."""

from __future__ import annotations

import re

import yaml

from bot.content import CONTENT_ROOT
from devserver.client import shown_since
from tests.test_e2e_foundation import assert_clean

AGENCY = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "agency.yaml").read_text("utf-8"))
CRITERIA = AGENCY["criteria"]
FLAGS = AGENCY["red_flags"]
NASTY = "<b>A&B</b> 公司"


async def answer(merchant, word: str):
    """Press 是 / 否 / 不确定 on the current question; returns the one edited screen."""
    [shown] = await merchant.press(word)
    assert shown.edited
    return shown


async def test_route_a_from_no_route_to_a_chosen_agency(bot, server):
    m = bot.merchant()
    await m.send("/start")
    [choice] = await m.send("/agency")
    assert "托管公司代运营" in choice.text and any("托管公司" in x for x in choice.labels)
    [chosen] = await m.press("托管公司")
    assert chosen.edited and "已选择" in chosen.text
    [home] = await m.press("继续")
    assert home.edited and "选托管公司" in home.text
    assert not any("对比" in x for x in home.labels)
    [prompt] = await m.press("添加")
    assert prompt.edited and "名称" in prompt.text

    [first] = await m.send(NASTY)
    assert not first.edited
    assert NASTY in first.text  # shown literally, as typed
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in first.html
    assert CRITERIA[0]["question"] in first.text and "1/16" in first.text

    # the ten criteria: mostly 是, one 否, one 不确定
    words = ["是"] * 8 + ["否", "不确定"]
    for number, word in enumerate(words, start=1):
        shown = await answer(m, word)
        if number < len(words):
            assert CRITERIA[number]["question"] in shown.text
    assert "危险信号 1/6" in shown.text and FLAGS[0]["question"] in shown.text
    # red flags: the second one is 是 → a warning with what to do, then on
    await answer(m, "否")
    warning = await answer(m, "是")
    assert FLAGS[1]["warning"] in warning.text and FLAGS[1]["action"] in warning.text
    assert "国家企业信用信息公示系统" in warning.text
    # what to do if money is already paid: once, on the scorecard, not after every red flag
    assert "如果已经付了钱" not in warning.text and "12315" not in warning.text
    [nxt] = await m.press("继续下一题")
    assert FLAGS[2]["question"] in nxt.text
    for _ in FLAGS[2:]:
        card = await answer(m, "否")
    assert "评分卡" in card.text and NASTY in card.text
    assert "16/16" in card.text and "8/10" in card.text
    assert "强烈建议不要" in card.text and "12315" in card.text

    # change the red flag to 否 from the scorecard (its 改危险信号 page)
    [page] = await m.press("改危险信号")
    assert any(x.startswith("🚨") and FLAGS[1]["label"] in x for x in page.labels)
    [again] = await m.press(FLAGS[1]["label"])
    assert FLAGS[1]["question"] in again.text and not any("跳过" in x for x in again.labels)
    [card] = await m.press("否")
    assert "评分卡" in card.text and "强烈建议不要" not in card.text

    # a second candidate, partly answered, then the comparison
    [home] = await m.press("返回候选列表")
    assert "1/5" in home.text
    await m.press("添加")
    await m.send("第二家代运营")
    await answer(m, "否")
    await answer(m, "不确定")
    [home] = await m.press("返回候选列表")
    assert "2/5" in home.text
    [compare] = await m.press("对比")
    assert compare.edited and "对比" in compare.text
    assert NASTY in compare.text and "第二家代运营" in compare.text
    assert "领先" in compare.text and NASTY in compare.text.split("领先")[1]

    # choose the first one
    [card] = await m.press("A&B")
    [card] = await m.press("选定这家")
    assert "已选定" in card.text
    stored = await bot.store.load_merchant(m.user_id)
    ag = stored.data["agency"]
    assert [c["name"] for c in ag["candidates"]] == [NASTY, "第二家代运营"]
    assert ag["chosen"] == ag["candidates"][0]["id"]
    assert ag["candidates"][0]["answers"][CRITERIA[9]["key"]] == "unsure"
    assert ag["candidates"][0]["flags"][FLAGS[1]["key"]] == "no"
    assert ag["candidates"][1]["answers"] == {
        CRITERIA[0]["key"]: "no",
        CRITERIA[1]["key"]: "unsure",
    }
    notices = [c.params.get("text") for c in server.calls if c.method == "answerCallbackQuery"]
    assert "已选定 ⭐" in notices
    assert_clean(server)


async def test_choosing_a_candidate_with_a_red_flag_asks_first(bot, server):
    m = bot.merchant(1002)
    await m.send("/route")
    await m.press("托管公司")
    await m.send("/agency")
    await m.press("添加")
    await m.send("顺达代运营")
    await m.press("评分卡")
    await m.press("改危险信号")
    [question] = await m.press(FLAGS[0]["label"])
    [warning] = await m.press("是")
    assert FLAGS[0]["warning"] in warning.text
    [card] = await m.press("评分卡")
    [confirm] = await m.press("选定这家")
    assert "危险信号" in confirm.text and FLAGS[0]["warning"] in confirm.text
    assert (await bot.store.load_merchant(m.user_id)).data["agency"]["chosen"] is None
    [card] = await m.press("仍然选定")
    assert "已选定" in card.text
    [confirm] = await m.press("删除")
    assert "不能恢复" in confirm.text
    [home] = await m.press("确认删除")
    assert "顺达" not in home.text
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["agency"]["candidates"] == [] and stored.data["agency"]["chosen"] is None
    assert_clean(server)


async def test_forged_and_outdated_agency_buttons_are_answered(bot, server):
    m = bot.merchant(1003)
    await m.send("/route")
    await m.press("托管公司")
    [home] = await m.send("/agency")
    for data in (
        "agc:99",
        "aga:1:nokey:yes",
        "agq:x",
        "agpick:1:zzz",
        "agdel",
        "scq:nokey",
        "agcmp",
    ):
        mark = server.mark()
        await m.press_data(home.message_id, data)
        # the pressed message shows a real screen (unchanged if it already showed it)
        assert server.last_bot_message(m.user_id).reply_markup, data
        answers = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        assert len(answers) == 1 and answers[0].params.get("text"), data
    await m.press("添加", home)
    await m.send("顺达代运营")
    [card] = await m.press("评分卡")
    [back] = await m.press_data(card.message_id, "agc:99")  # a deleted or forged candidate
    assert back.edited and back.message_id == card.message_id
    assert "选托管公司" in back.text and "顺达代运营" in back.text
    # a forged press on a screen that already shows the answer edits nothing: Telegram says
    # "not modified", which the adapter expects; anything else refused would be a bug
    refused = [c for c in server.calls if not c.ok and "not modified" not in c.description]
    assert refused == []
    assert server.pending_callback_queries() == []


async def test_name_prompt_survives_a_question_and_resumes(bot, server):
    m = bot.merchant(1004)
    await m.send("/route")
    await m.press("托管公司")
    await m.send("/agency")
    await m.press("添加")
    [faq] = await m.send("审核要多久")
    assert any("继续" in x for x in faq.labels)
    [prompt] = await m.press("继续")
    assert "名称" in prompt.text
    [refused] = await m.send("长" * 41)
    assert "太长" in refused.text
    [first] = await m.send("长" * 40)
    assert "1/16" in first.text
    assert_clean(server)


async def test_route_b_self_check(bot, server):
    m = bot.merchant(1005)
    [choice] = await m.send("/agency")
    await m.press("全托管", choice)
    [home] = await m.press("继续")
    assert "全托管自查" in home.text and AGENCY["self_check_note"] in home.text
    [question] = await m.press("开始自查")
    assert AGENCY["self_check"][0]["question"] in question.text
    plan = ["是", "否", "是", "是", "不确定", "是", "是", "否", "是"]
    for word in plan:
        [shown] = await m.press(word)
    assert "全托管自查" in shown.text
    assert AGENCY["self_check"][1]["how"] in shown.text  # 商品合规: 否 → what to improve
    assert AGENCY["readiness"][2]["how"] in shown.text  # 店铺名称: 否
    assert AGENCY["self_check"][0]["how"] not in shown.text
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["self_check"][AGENCY["self_check"][4]["key"]] == "unsure"
    assert stored.data["readiness"] == {
        i["key"]: a for i, a in zip(AGENCY["readiness"], ["yes", "yes", "no", "yes"], strict=True)
    }
    [again] = await m.send("/agency")
    assert not again.edited and "全托管自查" in again.text
    assert_clean(server)


# --- issue 8: plain questions, at most ten buttons, the "already paid" block once -------------

MAX_BUTTONS = 10
NEGATIONS = "不没未无非别莫勿"
PAID = "如果已经付了钱"


def negations(question: str) -> str:
    """The negation characters of a question, outside quoted phrases (「不达标全额退款」)."""
    return "".join(ch for ch in re.sub(r"「[^」]*」", "", question) if ch in NEGATIONS)


def shown_to(server, user_id: int, since: int = 0) -> list:
    """Every message sent or edited in the merchant's chat since a server mark."""
    return [shown for chat, shown in shown_since(server, since) if chat == user_id]


def too_many_buttons(screens) -> list[tuple[int, str]]:
    """(button count, first line) of every screen with more than MAX_BUTTONS buttons."""
    return [
        (len(s.labels), s.text.splitlines()[0] if s.text else "")
        for s in screens
        if len(s.labels) > MAX_BUTTONS
    ]


async def test_scorecard_walk_is_plain_small_and_says_the_paid_block_once(bot, server):
    """The whole route-A walk: no negative question, red-flag buttons that say what 是 means,
    no screen with more than ten buttons, and 如果已经付了钱 once (on the scorecard)."""
    m = bot.merchant(1006)
    await m.send("/agency")  # the compact route question
    await m.press("托管公司")
    await m.press("继续")
    await m.press("添加")
    [shown] = await m.send("顺达代运营")
    walk_start = server.mark()
    plan = ["是"] * len(CRITERIA) + ["是", "是", "否", "是", "否", "不确定"]
    asked = []
    for word in plan:
        if "继续下一题" in " ".join(shown.labels):  # after a red flag: the warning first
            [shown] = await m.press("继续下一题")
        item = next(i for i in CRITERIA + FLAGS if i["question"] in shown.text)
        asked.append(item["key"])
        assert negations(item["question"]) == "", item["question"]
        answers = shown.labels[:3]
        if item in FLAGS:  # 是 / 否 spelled out: 是 means "yes, they do this"
            assert answers == [AGENCY["flag_answers"][a] for a in ("yes", "no", "unsure")]
            assert "有" in answers[0] and "没有" in answers[1]
        else:
            assert answers == [AGENCY["answers"][a] for a in ("yes", "no", "unsure")]
        [shown] = await m.press(word)
    assert asked == [i["key"] for i in CRITERIA + FLAGS]
    [card] = await m.press("评分卡")  # the last answer (不确定) showed a gentle warning
    assert "评分卡" in card.text and "强烈建议不要" in card.text
    answering = shown_to(server, m.user_id, walk_start)
    warnings = [s for s in answering if any("改答案" in x for x in s.labels)]
    assert len(warnings) == 4  # three 是 and one 不确定
    assert [s.text.count(PAID) for s in answering] == [0] * (len(answering) - 1) + [1]
    for line in AGENCY["if_wrong"]:
        assert card.text.count(line) == 1
    # the legend says what each mark means in each section; for a red flag ✅ is "没有"
    flags_part = card.text.split("危险信号")[1]
    assert f"✅ {AGENCY['legend']['flag']['no']}" in flags_part
    assert f"🚨 {AGENCY['legend']['flag']['yes']}" in flags_part
    assert f"✅ {FLAGS[2]['label']}" in flags_part and f"🚨 {FLAGS[0]['label']}" in flags_part

    # the rest of the topic: the answers a page at a time, choose, compare, delete
    [page] = await m.press("改基本条件")
    assert page.edited and "第 1/" in page.text
    [page] = await m.press("下一页")
    [page] = await m.press("下一页")
    assert any(FLAGS[0]["label"] in x for x in page.labels)
    [page] = await m.press("上一页")
    await m.press("评分卡")
    await m.press("改危险信号")
    await m.press(FLAGS[5]["label"])
    [card] = await m.press("否")
    assert card.text.count(PAID) == 1
    [confirm] = await m.press("选定这家")
    assert "危险信号" in confirm.text
    await m.press("评分卡")
    await m.press("返回候选列表")
    for n in range(2, 6):
        await m.press("添加")
        await m.send(f"候选公司{n}")
        [home] = await m.press("返回候选列表")
    assert "5/5" in home.text
    [compare] = await m.press("对比")
    assert "对比" in compare.text
    await m.press("候选公司5")
    [confirm] = await m.press("删除")
    assert "不能恢复" in confirm.text
    await m.press("确认删除")
    everything = shown_to(server, m.user_id)
    assert len(everything) > 40
    assert too_many_buttons(everything) == []
    assert_clean(server)


async def test_self_check_walk_keeps_to_ten_buttons(bot, server):
    m = bot.merchant(1007)
    await m.send("/agency")
    await m.press("全托管")
    [home] = await m.press("继续")
    assert "全托管自查" in home.text
    await m.press("开始自查")
    for item in AGENCY["self_check"] + AGENCY["readiness"]:
        assert negations(item["question"]) == "", item["question"]
        assert item["question"] in m.last.text
        [shown] = await m.press("是")
    assert "全托管自查" in shown.text
    [page] = await m.press("改资格自查")
    assert any(AGENCY["self_check"][0]["label"] in x for x in page.labels)
    [page] = await m.press("下一页")
    assert any(AGENCY["readiness"][0]["label"] in x for x in page.labels)
    [question] = await m.press(AGENCY["readiness"][0]["label"])
    [summary] = await m.press("否")
    assert AGENCY["readiness"][0]["how"] in summary.text
    assert too_many_buttons(shown_to(server, m.user_id)) == []
    assert_clean(server)
