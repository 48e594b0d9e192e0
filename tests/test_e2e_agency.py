"""End to end over HTTP: /agency on route A (candidates, red flags, scorecard, comparison,
choice) and route B (self-check), against the strict local Bot API server."""

from __future__ import annotations

import re

import yaml

from bot.content import CONTENT_ROOT
from devserver.client import shown_since
from tests.contentkit import CONTENT, data, has, label, notice, notices, press, template
from tests.test_e2e_foundation import assert_clean

AGENCY = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "agency.yaml").read_text("utf-8"))
ROUTES = yaml.safe_load((CONTENT_ROOT / "zh-CN" / "routes.yaml").read_text("utf-8"))["routes"]
CRITERIA = AGENCY["criteria"]
FLAGS = AGENCY["red_flags"]
ICONS = CONTENT.data["ui"]["agency_icons"]
PAID = AGENCY["if_wrong"][0]  # the first line of what to do if money is already paid
NASTY = "<b>A&B</b> 公司"


async def answer(merchant, code: str):
    """Press 是 / 否 / 不确定 (yes / no / unsure) on the current question; the edited screen."""
    [shown] = await press(merchant, "ag_answer", code)
    assert shown.edited
    return shown


async def test_route_a_from_no_route_to_a_chosen_agency(bot, server):
    m = bot.merchant()
    await m.send("/start")
    [choice] = await m.send("/agency")
    assert template(choice) == "route_choice" and ROUTES["agency"]["name"] in choice.text
    assert has(choice, "route_agency")
    [chosen] = await press(m, "route_agency")
    assert chosen.edited and template(chosen) == "route_set" and data(chosen)["route"] == "agency"
    [home] = await press(m, "continue_agency_agency")
    assert home.edited and template(home) == "agency_home"
    assert not has(home, "ag_compare")
    [prompt] = await press(m, "ag_add")
    assert prompt.edited and template(prompt) == "agency_name"

    [first] = await m.send(NASTY)
    assert not first.edited
    assert NASTY in first.text  # shown literally, as typed
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in first.html
    assert template(first) == "agency_question"
    assert CRITERIA[0]["question"] in first.text and "1/16" in first.text

    # the ten criteria: mostly 是, one 否, one 不确定
    codes = ["yes"] * 8 + ["no", "unsure"]
    for number, code in enumerate(codes, start=1):
        shown = await answer(m, code)
        if number < len(codes):
            assert CRITERIA[number]["question"] in shown.text
    assert data(shown)["kind"] == "flag" and data(shown)["index"] == 0
    assert "1/6" in shown.text and FLAGS[0]["question"] in shown.text
    # red flags: the second one is 是 → a warning with what to do, then on
    await answer(m, "no")
    warning = await answer(m, "yes")
    assert template(warning) == "agency_warning"
    assert FLAGS[1]["warning"] in warning.text and FLAGS[1]["action"] in warning.text
    assert AGENCY["verify_where"] in warning.text
    # what to do if money is already paid: once, on the scorecard, not after every red flag
    assert not any(line in warning.text for line in AGENCY["if_wrong"])
    [nxt] = await press(m, "ag_next_q")
    assert FLAGS[2]["question"] in nxt.text
    for _ in FLAGS[2:]:
        card = await answer(m, "no")
    assert template(card) == "agency_card" and NASTY in card.text
    assert "16/16" in card.text and "8/10" in card.text
    assert data(card)["c"]["verdict"] == "danger"
    assert all(line in card.text for line in AGENCY["if_wrong"])

    # change the red flag to 否 from the scorecard (its 改危险信号 page)
    [page] = await press(m, "edit_red_flags")
    assert label("ag_item", icon=ICONS["flag"]["yes"], label=FLAGS[1]["label"]) in page.labels
    [again] = await press(m, "ag_item", FLAGS[1]["key"])
    assert FLAGS[1]["question"] in again.text and not has(again, "ag_skip")
    [card] = await press(m, "ag_answer", "no")
    assert template(card) == "agency_card" and data(card)["c"]["verdict"] != "danger"
    assert not any(line in card.text for line in AGENCY["if_wrong"])

    # a second candidate, partly answered, then the comparison
    [home] = await press(m, "ag_list")
    assert template(home) == "agency_home" and "1/5" in home.text
    await press(m, "ag_add")
    await m.send("第二家代运营")
    await answer(m, "no")
    await answer(m, "unsure")
    [home] = await press(m, "ag_list")
    assert "2/5" in home.text
    [compare] = await press(m, "ag_compare")
    assert compare.edited and template(compare) == "agency_compare"
    assert NASTY in compare.text and "第二家代运营" in compare.text
    leader = data(compare)["leader"]
    assert data(compare)["candidates"][leader]["name"] == NASTY

    # choose the first one
    [card] = await press(m, "ag_candidate", name=NASTY)
    [card] = await press(m, "ag_pick")
    assert template(card) == "agency_card" and data(card)["c"]["chosen"]
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
    assert notice("ag_chosen") in notices(server)
    assert_clean(server)


async def test_choosing_a_candidate_with_a_red_flag_asks_first(bot, server):
    m = bot.merchant(1002)
    await m.send("/route")
    await press(m, "route_agency")
    await m.send("/agency")
    await press(m, "ag_add")
    await m.send("顺达代运营")
    await press(m, "ag_card")
    await press(m, "edit_red_flags")
    [question] = await press(m, "ag_item", FLAGS[0]["key"])
    [warning] = await press(m, "ag_answer", "yes")
    assert FLAGS[0]["warning"] in warning.text
    [card] = await press(m, "ag_card")
    [confirm] = await press(m, "ag_pick")
    assert template(confirm) == "agency_confirm" and data(confirm)["kind"] != "delete"
    assert FLAGS[0]["warning"] in confirm.text
    assert (await bot.store.load_merchant(m.user_id)).data["agency"]["chosen"] is None
    [card] = await press(m, "ag_pick_anyway")
    assert template(card) == "agency_card" and data(card)["c"]["chosen"]
    [confirm] = await press(m, "ag_delete")
    assert template(confirm) == "agency_confirm" and data(confirm)["kind"] == "delete"
    [home] = await press(m, "ag_delete_ok")
    assert template(home) == "agency_home" and "顺达" not in home.text
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["agency"]["candidates"] == [] and stored.data["agency"]["chosen"] is None
    assert_clean(server)


async def test_forged_and_outdated_agency_buttons_are_answered(bot, server):
    m = bot.merchant(1003)
    await m.send("/route")
    await press(m, "route_agency")
    [home] = await m.send("/agency")
    for forged in (
        "agc:99",
        "aga:1:nokey:yes",
        "agq:x",
        "agpick:1:zzz",
        "agdel",
        "scq:nokey",
        "agcmp",
    ):
        mark = server.mark()
        await m.press_data(home.message_id, forged)
        # the pressed message shows a real screen (unchanged if it already showed it)
        assert server.last_bot_message(m.user_id).reply_markup, forged
        answers = [c for c in server.calls[mark:] if c.method == "answerCallbackQuery"]
        assert len(answers) == 1 and answers[0].params.get("text"), forged
    await press(m, "ag_add", on=home)
    await m.send("顺达代运营")
    [card] = await press(m, "ag_card")
    [back] = await m.press_data(card.message_id, "agc:99")  # a deleted or forged candidate
    assert back.edited and back.message_id == card.message_id
    assert template(back) == "agency_home" and "顺达代运营" in back.text
    # a forged press on a screen that already shows the answer edits nothing: Telegram says
    # "not modified", which the adapter expects; anything else refused would be a bug
    refused = [c for c in server.calls if not c.ok and "not modified" not in c.description]
    assert refused == []
    assert server.pending_callback_queries() == []


async def test_name_prompt_survives_a_question_and_resumes(bot, server):
    m = bot.merchant(1004)
    await m.send("/route")
    await press(m, "route_agency")
    await m.send("/agency")
    await press(m, "ag_add")
    [faq] = await m.send("审核要多久")
    assert template(faq) == "faq" and has(faq, "resume")
    [prompt] = await press(m, "resume")
    assert template(prompt) == "agency_name" and not data(prompt)["error"]
    [refused] = await m.send("长" * 41)
    assert template(refused) == "agency_name" and data(refused)["error"] == "too_long"
    [first] = await m.send("长" * 40)
    assert template(first) == "agency_question" and "1/16" in first.text
    assert_clean(server)


async def test_route_b_self_check(bot, server):
    m = bot.merchant(1005)
    [choice] = await m.send("/agency")
    await press(m, "route_platform", on=choice)
    [home] = await press(m, "continue_agency_platform")
    assert template(home) == "selfcheck_home" and AGENCY["self_check_note"] in home.text
    [question] = await press(m, "sc_start")
    assert AGENCY["self_check"][0]["question"] in question.text
    plan = ["yes", "no", "yes", "yes", "unsure", "yes", "yes", "no", "yes"]
    for code in plan:
        [shown] = await press(m, "ag_answer", code)
    assert template(shown) == "selfcheck_home"
    assert AGENCY["self_check"][1]["how"] in shown.text  # 商品合规: 否 → what to improve
    assert AGENCY["readiness"][2]["how"] in shown.text  # 店铺名称: 否
    assert AGENCY["self_check"][0]["how"] not in shown.text
    stored = await bot.store.load_merchant(m.user_id)
    assert stored.data["self_check"][AGENCY["self_check"][4]["key"]] == "unsure"
    assert stored.data["readiness"] == {
        i["key"]: a for i, a in zip(AGENCY["readiness"], ["yes", "yes", "no", "yes"], strict=True)
    }
    [again] = await m.send("/agency")
    assert not again.edited and template(again) == "selfcheck_home"
    assert_clean(server)


# --- issue 8: plain questions, at most ten buttons, the "already paid" block once -------------

MAX_BUTTONS = 10
NEGATIONS = "不没未无非别莫勿"


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


def legend(kind: str) -> str:
    """The marks of a section with what each means (good: criteria, flag: red flags)."""
    return "　".join(
        f"{ICONS[kind][k]} {AGENCY['legend'][kind][k]}" for k in ("yes", "no", "unsure", "none")
    )


async def test_scorecard_walk_is_plain_small_and_says_the_paid_block_once(bot, server):
    """The whole route-A walk: no negative question, red-flag buttons that say what 是 means,
    no screen with more than ten buttons, and what to do if money is already paid once (on the
    scorecard)."""
    m = bot.merchant(1006)
    await m.send("/agency")  # the compact route question
    await press(m, "route_agency")
    await press(m, "continue_agency_agency")
    await press(m, "ag_add")
    [shown] = await m.send("顺达代运营")
    walk_start = server.mark()
    plan = ["yes"] * len(CRITERIA) + ["yes", "yes", "no", "yes", "no", "unsure"]
    asked = []
    for code in plan:
        if has(shown, "ag_next_q"):  # after a red flag: the warning first
            assert template(shown) == "agency_warning"
            [shown] = await press(m, "ag_next_q")
        item = next(i for i in CRITERIA + FLAGS if i["question"] in shown.text)
        asked.append(item["key"])
        assert negations(item["question"]) == "", item["question"]
        answers = shown.labels[:3]
        if item in FLAGS:  # 是 / 否 spelled out: 是 means "yes, they do this"
            assert answers == [AGENCY["flag_answers"][a] for a in ("yes", "no", "unsure")]
            assert answers != [AGENCY["answers"][a] for a in ("yes", "no", "unsure")]
        else:
            assert answers == [AGENCY["answers"][a] for a in ("yes", "no", "unsure")]
        [shown] = await press(m, "ag_answer", code)
    assert asked == [i["key"] for i in CRITERIA + FLAGS]
    [card] = await press(m, "ag_card")  # the last answer (不确定) showed a gentle warning
    assert template(card) == "agency_card" and data(card)["c"]["verdict"] == "danger"
    answering = shown_to(server, m.user_id, walk_start)
    warnings = [s for s in answering if has(s, "ag_change")]
    assert len(warnings) == 4  # three 是 and one 不确定
    assert [template(s) for s in warnings] == ["agency_warning"] * 4
    assert [s.text.count(PAID) for s in answering] == [0] * (len(answering) - 1) + [1]
    for line in AGENCY["if_wrong"]:
        assert card.text.count(line) == 1
    # the legend says what each mark means in each section; for a red flag ✅ is "没有"
    criteria_part, flags_part = card.text.split(legend("flag"))
    assert legend("good") in criteria_part
    assert f"{ICONS['flag']['no']} {FLAGS[2]['label']}" in flags_part
    assert f"{ICONS['flag']['yes']} {FLAGS[0]['label']}" in flags_part

    # the rest of the topic: the answers a page at a time, choose, compare, delete
    [page] = await press(m, "edit_criteria")
    assert page.edited and template(page) == "agency_edit" and data(page)["page"] == 0
    [page] = await press(m, "ag_next_page")
    [page] = await press(m, "ag_next_page")
    assert has(page, "ag_item", FLAGS[0]["key"])
    [page] = await press(m, "ag_prev_page")
    await press(m, "ag_card")
    await press(m, "edit_red_flags")
    await press(m, "ag_item", FLAGS[5]["key"])
    [card] = await press(m, "ag_answer", "no")
    assert card.text.count(PAID) == 1
    [confirm] = await press(m, "ag_pick")
    assert template(confirm) == "agency_confirm" and data(confirm)["kind"] != "delete"
    await press(m, "ag_card")
    await press(m, "ag_list")
    for n in range(2, 6):
        await press(m, "ag_add")
        await m.send(f"候选公司{n}")
        [home] = await press(m, "ag_list")
    assert "5/5" in home.text
    [compare] = await press(m, "ag_compare")
    assert template(compare) == "agency_compare"
    await press(m, "ag_candidate", name="候选公司5")
    [confirm] = await press(m, "ag_delete")
    assert template(confirm) == "agency_confirm" and data(confirm)["kind"] == "delete"
    await press(m, "ag_delete_ok")
    everything = shown_to(server, m.user_id)
    assert len(everything) > 40
    assert too_many_buttons(everything) == []
    assert_clean(server)


async def test_self_check_walk_keeps_to_ten_buttons(bot, server):
    m = bot.merchant(1007)
    await m.send("/agency")
    await press(m, "route_platform")
    [home] = await press(m, "continue_agency_platform")
    assert template(home) == "selfcheck_home"
    await press(m, "sc_start")
    for item in AGENCY["self_check"] + AGENCY["readiness"]:
        assert negations(item["question"]) == "", item["question"]
        assert item["question"] in m.last.text
        [shown] = await press(m, "ag_answer", "yes")
    assert template(shown) == "selfcheck_home"
    [page] = await press(m, "edit_self_check")
    assert has(page, "ag_item", AGENCY["self_check"][0]["key"])
    [page] = await press(m, "ag_next_page")
    assert has(page, "ag_item", AGENCY["readiness"][0]["key"])
    [question] = await press(m, "ag_item", AGENCY["readiness"][0]["key"])
    [summary] = await press(m, "ag_answer", "no")
    assert AGENCY["readiness"][0]["how"] in summary.text
    assert too_many_buttons(shown_to(server, m.user_id)) == []
    assert_clean(server)
