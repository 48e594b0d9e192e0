"""Unit tests of /agency: candidates, questions, red flags, scorecard, comparison, choice, and
the route-B self-check. Pure flows: no I/O, no Telegram."""

from __future__ import annotations

import ast
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

import bot.content_check as content_check
from bot import callbacks
from bot.telegram_html import visible_length
from devserver.client import html_to_plain
from flows import agency, questionnaire, router, selfcheck
from flows.core import Command, Context, MerchantState, Outcome, Press, Screen, Text
from tests import flowkit
from tests.flowkit import actions, labels, text_of
from tests.harness import contents

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CONTENT = contents().default
CFG = CONTENT.catalog["agency"]
CRITERIA = [c["key"] for c in CFG["criteria"]]
FLAGS = [f["key"] for f in CFG["red_flags"]]
SELF_CHECK = [i["key"] for i in CFG["self_check"]]
READINESS = [i["key"] for i in CFG["readiness"]]
MAX = CFG["max_candidates"]
MAX_BUTTONS = 10
NEGATIONS = "不没未无非别莫勿"


def negations(question: str) -> str:
    """The negation characters of a question, outside quoted phrases (「不达标全额退款」)."""
    return "".join(ch for ch in re.sub(r"「[^」]*」", "", question) if ch in NEGATIONS)


@pytest.fixture(scope="module")
def ctx() -> Context:
    return Context(CONTENT.catalog, NOW)


class Session(flowkit.Session):
    """A merchant vetting agencies."""

    @property
    def cands(self) -> list[dict]:
        return self.state.data.get("agency", {}).get("candidates", [])

    def add(self, name: str) -> Outcome:
        self.press("agadd")
        return self.do(Text(name))


# --- entry and route ----------------------------------------------------------------------


def test_agency_without_a_route_asks_for_the_route_then_continues(ctx):
    s = Session(ctx)
    s.do(Command("agency"))
    assert s.screen.template == "route_choice" and not s.screen.edit
    s.press("agency")
    assert s.screen.template == "route_choice" and s.screen.edit
    s.press("setroute", "agency", "agency")
    assert ("agency", ()) in actions(s.screen)
    s.press("agency")
    assert s.screen.template == "agency_home" and s.screen.edit
    s.do(Command("agency"))
    assert s.screen.template == "agency_home" and not s.screen.edit


def test_empty_home_offers_add_and_menu_but_no_compare(ctx):
    s = Session(ctx, route="agency")
    s.do(Command("agency"))
    acts = [a for a, _ in actions(s.screen)]
    assert "agadd" in acts and "menu" in acts and "agcmp" not in acts
    assert any("添加" in label for label in labels(s.screen))
    shown = text_of(s.screen)
    for flag in CFG["red_flags"]:
        assert flag["label"] in shown
    assert "agency" not in s.state.data  # only looking stores nothing


# --- adding candidates ----------------------------------------------------------------------


def test_adding_asks_for_a_name_and_goes_to_the_first_question(ctx):
    s = Session(ctx, route="agency")
    s.press("agadd")
    assert s.state.data["input"] == {"kind": "agency_name"}
    assert s.screen.template == "agency_name" and s.screen.edit
    s.do(Text("  深圳  某某\n电商 "))
    assert s.cands == [{"id": 1, "name": "深圳 某某 电商", "answers": {}, "flags": {}}]
    assert "input" not in s.state.data
    assert s.screen.template == "agency_question" and s.screen.data["added"]
    assert s.screen.data["kind"] == "criterion" and s.screen.data["index"] == 0
    assert ("aga", ("1", CRITERIA[0], "yes")) in actions(s.screen)
    assert "深圳 某某 电商" in text_of(s.screen)
    assert CFG["criteria"][0]["question"] in text_of(s.screen)


@pytest.mark.parametrize(
    ("typed", "error"),
    [("x" * 41, "too_long"), ("   ", "empty"), ("\x00\x01", "empty")],
)
def test_invalid_names_are_refused_and_the_prompt_stays_open(ctx, typed, error):
    s = Session(ctx, route="agency")
    s.press("agadd")
    s.do(Text(typed))
    assert s.screen.template == "agency_name" and s.screen.data["error"] == error
    assert s.state.data["input"]["kind"] == "agency_name"
    assert s.cands == []
    assert text_of(s.screen)


def test_a_forty_character_name_is_accepted_and_markup_is_just_text(ctx):
    s = Session(ctx, route="agency")
    name = "<b>A&B</b> 公司" + "店" * 27
    assert len(name) == 40
    s.add(name)
    assert s.cands[0]["name"] == name
    html = CONTENT.render_text(s.screen.template, s.screen.data)
    assert "&lt;b&gt;A&amp;B&lt;/b&gt;" in html and "<b>A&B</b>" not in html
    assert name in html_to_plain(html)


def test_duplicate_names_are_refused_politely(ctx):
    s = Session(ctx, route="agency")
    s.add("Acme 代运营")
    s.add("  ACME   代运营 ")
    assert len(s.cands) == 1
    assert s.screen.template == "agency_name" and s.screen.data["error"] == "duplicate"
    assert "ACME 代运营" in text_of(s.screen)
    s.do(Text("Acme 代运营（杭州）"))
    assert len(s.cands) == 2 and s.cands[1]["id"] == 2


def test_up_to_five_candidates_and_the_sixth_is_refused(ctx):
    s = Session(ctx, route="agency")
    for i in range(MAX):
        s.add(f"公司{i}")
    assert [c["id"] for c in s.cands] == list(range(1, MAX + 1))
    s.press("ag")
    home = s.screen
    assert "agadd" not in [a for a, _ in actions(home)] and home.data["full"]
    assert len([a for a, _ in actions(home) if a == "agc"]) == MAX
    s.press("agadd")  # an old 添加 button
    assert s.out.notice == "ag_full" and s.screen.template == "agency_home"
    assert "input" not in s.state.data
    # a name prompt opened earlier and answered now cannot add a sixth either
    s.state.data["input"] = {"kind": "agency_name"}
    s.do(Text("第六家"))
    assert len(s.cands) == MAX and s.screen.template == "agency_home"
    assert "input" not in s.state.data


def test_leaving_the_prompt_and_resuming_it(ctx):
    s = Session(ctx, route="agency")
    s.press("agadd")
    s.press("menu")
    assert s.state.data["suspended"] == {"kind": "agency_name"}
    assert ("resume", ()) in actions(s.screen)
    s.press("resume")
    assert s.screen.template == "agency_name" and s.screen.data["error"] is None
    s.press("agstop")
    assert "input" not in s.state.data and "suspended" not in s.state.data
    assert s.screen.template == "agency_home"
    assert ("resume", ()) not in actions(s.screen)


def test_deleted_ids_are_not_reused(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.add("B")
    s.press("agdel", 2, "ok")
    s.add("C")
    assert [c["id"] for c in s.cands] == [1, 3]
    s.press("agc", 2)  # a button of the deleted B
    assert s.out.notice == "stale"


# --- questions -----------------------------------------------------------------------------


def answer_all(s: Session, cid: int, answers: list[str]) -> list[str]:
    """Answer with the pressed-for question each time; return the keys in the order asked."""
    asked = []
    for answer in answers:
        while s.screen.template == "agency_warning":
            s.press(*_go_on(s.screen))
        assert s.screen.template == "agency_question", s.screen.template
        key = next(b.args[1] for row in s.screen.buttons for b in row if b.action == "aga")
        asked.append(key)
        s.press("aga", cid, key, answer)
    return asked


def _go_on(screen: Screen) -> tuple[str, ...]:
    b = screen.buttons[0][0]
    return (b.action, *b.args)


def test_answering_every_question_in_order_ends_on_the_scorecard(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    asked = answer_all(s, 1, ["yes"] * len(CRITERIA) + ["no"] * len(FLAGS))
    assert asked == CRITERIA + FLAGS
    assert s.screen.template == "agency_card" and s.out.notice == "ag_all_answered"
    cand = s.cands[0]
    assert cand["answers"] == dict.fromkeys(CRITERIA, "yes")
    assert cand["flags"] == dict.fromkeys(FLAGS, "no")
    c = s.screen.data["c"]
    assert (c["answered"], c["total"], c["score"], c["red"]) == (16, 16, 10, 0)
    assert c["verdict"] == "good"
    assert "agn" not in [a for a, _ in actions(s.screen)]  # nothing left to continue


def test_the_question_screen_shows_why_and_how_and_the_progress(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.press("aga", 1, CRITERIA[0], "yes")
    shown = text_of(s.screen)
    crit = CFG["criteria"][1]
    for part in (crit["group"], crit["label"], crit["question"], crit["why"], crit["how"]):
        assert part in shown
    assert s.screen.data["number"] == 2 and s.screen.data["answered"] == 1
    assert ("agq", ("1", CRITERIA[0])) in actions(s.screen)  # 上一题
    assert ("agn", ("1", CRITERIA[1])) in actions(s.screen)  # 跳过
    assert ("agc", ("1",)) in actions(s.screen) and ("ag", ()) in actions(s.screen)
    assert [CONTENT.label(b) for b in s.screen.buttons[0]] == [
        CFG["answers"][a] for a in ("yes", "no", "unsure")
    ]


def test_skip_and_previous(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.press("agn", 1, CRITERIA[0])  # 跳过
    assert s.screen.data["index"] == 1 and s.cands[0]["answers"] == {}
    s.press("aga", 1, CRITERIA[1], "no")
    s.press("agq", 1, CRITERIA[1])  # 上一题 from question 3
    assert s.screen.data["current"] == "no"
    assert any(label.startswith("☑️") for label in labels(s.screen))
    s.press("agq", 1, CRITERIA[0])
    s.press("aga", 1, CRITERIA[0], "yes")  # the skipped one, answered now: on to question 3
    assert s.screen.data["index"] == 2
    s.press("agc", 1)
    s.press("agn", 1)  # 继续回答: the first unanswered
    assert s.screen.data["index"] == 2


def test_skipping_the_last_open_question_wraps_to_the_skipped_ones(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.press("agn", 1, CRITERIA[0])
    answer_all(s, 1, ["yes"] * (len(CRITERIA) - 1) + ["no"] * len(FLAGS))
    assert s.screen.template == "agency_question" and s.screen.data["index"] == 0
    s.press("agn", 1, CRITERIA[0])  # skip it again: nothing else left, so the scorecard
    assert s.screen.template == "agency_card"


def test_a_red_flag_answered_yes_warns_with_what_to_do(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    answer_all(s, 1, ["yes"] * len(CRITERIA))
    assert s.screen.data["kind"] == "flag" and s.screen.data["index"] == 0
    s.press("aga", 1, FLAGS[0], "yes")
    assert s.screen.template == "agency_warning" and s.screen.edit
    shown = text_of(s.screen)
    flag = CFG["red_flags"][0]
    assert flag["label"] in shown and flag["warning"] in shown and flag["action"] in shown
    assert "国家企业信用信息公示系统" in shown
    # what to do if money is already paid is on the scorecard, once, not after every flag
    assert "如果已经付了钱" not in shown and "12315" not in shown
    assert s.cands[0]["flags"] == {FLAGS[0]: "yes"}
    s.press(*_go_on(s.screen))  # 继续下一题
    assert s.screen.template == "agency_question" and s.screen.data["index"] == 1


def test_a_red_flag_answered_unsure_warns_more_gently(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.press("aga", 1, FLAGS[2], "unsure")
    assert s.screen.template == "agency_warning" and s.screen.data["answer"] == "unsure"
    shown = text_of(s.screen)
    flag = CFG["red_flags"][2]
    assert flag["warning"] in shown and flag["action"] in shown
    assert "12315" not in shown


def test_no_question_is_a_negative_question():
    """是 / 否 to "不是……吗？" is read both ways: every question asks plainly, so 是 is always
    "yes, that is so" (good for criteria and the self-check, bad for a red flag)."""
    sections = ("criteria", "red_flags", "self_check", "readiness")
    questions = [item["question"] for section in sections for item in CFG[section]]
    assert len(questions) == len(CRITERIA) + len(FLAGS) + len(SELF_CHECK) + len(READINESS)
    assert [q for q in questions if negations(q)] == []


def test_red_flag_buttons_say_what_yes_means_and_the_legend_agrees(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.press("agq", 1, FLAGS[0])
    flag_labels = [CONTENT.label(b) for b in s.screen.buttons[0]]
    assert flag_labels == [CFG["flag_answers"][a] for a in ("yes", "no", "unsure")]
    assert flag_labels[0].startswith(CFG["answers"]["yes"]) and "有" in flag_labels[0]
    assert flag_labels[1].startswith(CFG["answers"]["no"]) and "没有" in flag_labels[1]
    # the scorecard explains each section's marks by what they mean, not by 是 / 否
    s.press("aga", 1, FLAGS[0], "yes", "r")
    s.press("aga", 1, FLAGS[1], "no", "r")
    shown = text_of(s.screen)
    icons = CONTENT.catalog["ui"]["agency_icons"]
    legend = CFG["legend"]
    flags_part = shown.split("危险信号")[1]
    for answer in ("yes", "no", "unsure", "none"):
        assert f"{icons['flag'][answer]} {legend['flag'][answer]}" in flags_part
        assert f"{icons['good'][answer]} {legend['good'][answer]}" in shown.split("危险信号")[0]
    assert "有" in legend["flag"]["yes"] and "没有" in legend["flag"]["no"]
    assert f"{icons['flag']['yes']} {CFG['red_flags'][0]['label']}" in flags_part
    assert f"{icons['flag']['no']} {CFG['red_flags'][1]['label']}" in flags_part
    # and it no longer says that ✅ means 是 (for a red flag ✅ is 否)
    assert f"{icons['good']['yes']}{CFG['answers']['yes']}" not in shown


def test_the_if_already_paid_block_is_shown_once_on_the_scorecard(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    answer_all(s, 1, ["yes"] * len(CRITERIA))
    warnings = []
    for key in FLAGS:
        s.press("aga", 1, key, "yes")
        assert s.screen.template == "agency_warning"
        warnings.append(text_of(s.screen))
    assert not any("如果已经付了钱" in w or CFG["if_wrong"][2] in w for w in warnings)
    s.press("agc", 1)
    card = text_of(s.screen)
    assert s.screen.data["c"]["red"] == len(FLAGS)
    assert card.count("如果已经付了钱") == 1
    assert all(card.count(line) == 1 for line in CFG["if_wrong"])


def test_edit_pages_hold_every_answer_and_keep_to_ten_buttons(ctx):
    seed = agency.check_seeds(CONTENT.catalog)[0]
    s = Session(ctx, **seed)
    pages = edit_pages(s, 2)
    assert [p.data["page"] for p in pages] == list(range(len(pages)))
    assert {p.data["section"] for p in pages} == {"criteria", "red_flags"}
    keys = [b.args[1] for p in pages for row in p.buttons for b in row if b.action == "agq"]
    assert keys == CRITERIA + FLAGS
    for page in pages:
        assert sum(len(row) for row in page.buttons) <= MAX_BUTTONS
        assert ("agc", ("2",)) in actions(page)
        # a page keeps its criteria groups whole
        groups = page.data["groups"]
        assert groups == list(dict.fromkeys(groups))
    s.press("agq", 2, FLAGS[3], "r")
    s.press("aga", 2, FLAGS[3], "no", "r")
    assert s.screen.template == "agency_card" and s.cands[1]["flags"][FLAGS[3]] == "no"


def test_self_check_answers_are_changed_through_pages(ctx):
    s = Session(ctx, route="platform", self_check={SELF_CHECK[0]: "yes"})
    s.press("sc")
    assert sum(len(row) for row in s.screen.buttons) <= MAX_BUTTONS
    assert not [a for a, _ in actions(s.screen) if a == "scq"]
    entries = [b for row in s.screen.buttons for b in row if b.action == "sce"]
    assert [b.label for b in entries] == ["edit_self_check", "edit_readiness"]
    seen = []
    for entry in entries:
        s.press(entry.action, *entry.args)
        assert s.screen.template == "selfcheck_edit"
        assert sum(len(row) for row in s.screen.buttons) <= MAX_BUTTONS
        seen += [b.args[0] for row in s.screen.buttons for b in row if b.action == "scq"]
        assert ("sc", ()) in actions(s.screen)
    assert seen == SELF_CHECK + READINESS
    s.press("sce", 0)
    assert "✅ " + CFG["self_check"][0]["label"] in labels(s.screen)


def test_a_red_flag_answered_no_does_not_warn(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.press("aga", 1, FLAGS[0], "no")
    assert s.screen.template == "agency_question"


def edit_pages(s: Session, cid: int = 1) -> list[Screen]:
    """Every 改答案 page of a candidate, from its scorecard's first 改… button onwards."""
    s.press("agc", cid)
    entries = [b for row in s.screen.buttons for b in row if b.action == "age"]
    pages = []
    s.press(entries[0].action, *entries[0].args)
    while True:
        pages.append(s.screen)
        forward = [b for row in s.screen.buttons for b in row if b.label == "ag_next_page"]
        if not forward:
            return pages
        s.press(forward[0].action, *forward[0].args)


def test_answers_can_be_changed_from_the_scorecard(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    answer_all(s, 1, ["yes"] * len(CRITERIA) + ["no"] * len(FLAGS))
    card = s.screen
    assert not [b for row in card.buttons for b in row if b.action == "agq"]
    entries = [b.args for row in card.buttons for b in row if b.action == "age"]
    pages = edit_pages(s)
    assert all(p.template == "agency_edit" for p in pages)
    assert entries == [
        ("1", "0"),
        ("1", str(next(i for i, p in enumerate(pages) if p.data["section"] == "red_flags"))),
    ]
    items = [b for p in pages for row in p.buttons for b in row if b.action == "agq"]
    assert [b.args[1] for b in items] == CRITERIA + FLAGS
    assert all(b.args[2] == "r" for b in items)
    s.press("agq", 1, CRITERIA[3], "r")
    assert not any(a == "agn" for a, _ in actions(s.screen))  # no 跳过 when changing one
    s.press("aga", 1, CRITERIA[3], "no", "r")
    assert s.screen.template == "agency_card" and s.out.notice == "saved"
    assert s.cands[0]["answers"][CRITERIA[3]] == "no"
    s.press("aga", 1, FLAGS[4], "yes", "r")
    assert s.screen.template == "agency_warning"
    assert _go_on(s.screen) == ("agc", "1")  # back to the scorecard, not the next question


# --- scorecard -----------------------------------------------------------------------------


def seeded(ctx, answers: dict, flags: dict, **extra) -> Session:
    cand = {"id": 1, "name": "A", "answers": answers, "flags": flags}
    return Session(ctx, route="agency", agency={"candidates": [cand], "chosen": None, **extra})


def test_scorecard_counts_and_marks(ctx):
    answers = dict(zip(CRITERIA, ["yes", "yes", "no", "unsure", "yes"], strict=False))
    flags = {FLAGS[1]: "yes", FLAGS[2]: "unsure", FLAGS[3]: "no"}
    s = seeded(ctx, answers, flags)
    s.press("agc", 1)
    c = s.screen.data["c"]
    assert c["answered"] == 8 and c["total"] == len(CRITERIA) + len(FLAGS)
    assert (c["score"], c["score_total"], c["no"], c["unsure"]) == (3, 10, 1, 2)
    assert (c["red"], c["red_unsure"], c["verdict"]) == (1, 1, "danger")
    shown = text_of(s.screen)
    assert "3/10" in shown and "8/16" in shown
    flag = CFG["red_flags"][1]
    assert flag["warning"] in shown and flag["action"] in shown
    assert CFG["red_flags"][2]["warning"] not in shown  # only 是 gets the warning inline
    assert "12315" in shown
    assert ("agn", ("1",)) in actions(s.screen)  # 继续回答
    assert ("agdel", ("1",)) in actions(s.screen) and ("agpick", ("1",)) in actions(s.screen)
    item_labels = [label for page in edit_pages(s) for label in labels(page)]
    assert "✅ " + CFG["criteria"][0]["label"] in item_labels
    assert "❌ " + CFG["criteria"][2]["label"] in item_labels
    assert "⬜ " + CFG["criteria"][9]["label"] in item_labels
    assert "🚨 " + CFG["red_flags"][1]["label"] in item_labels


@pytest.mark.parametrize(
    ("crit", "flag", "verdict", "shows"),
    [
        (["yes"] * 10, ["no"] * 6, "good", "protect"),
        (["yes"] * 9 + ["no"], ["no"] * 6, "gaps", "protect"),
        (["yes"] * 7 + ["no"] * 3, ["no"] * 6, "weak", "protect"),
        (["yes"] * 9 + ["unsure"], ["no"] * 6, "verify", "verify_where"),
        (["yes"] * 10, ["no"] * 5 + ["unsure"], "verify", "verify_where"),
        (["yes"] * 10, ["no"] * 5 + ["yes"], "danger", "if_wrong"),
        (["yes"] * 9, [], "incomplete", None),
    ],
)
def test_verdicts(ctx, crit, flag, verdict, shows):
    s = seeded(ctx, dict(zip(CRITERIA, crit, strict=False)), dict(zip(FLAGS, flag, strict=False)))
    s.press("agc", 1)
    assert s.screen.data["c"]["verdict"] == verdict
    shown = text_of(s.screen)
    if shows == "protect":
        assert all(line in shown for line in CFG["protect"])
    elif shows == "verify_where":
        assert CFG["verify_where"] in shown
    elif shows == "if_wrong":
        assert all(line in shown for line in CFG["if_wrong"])


# --- comparison -----------------------------------------------------------------------------


def test_compare_needs_two(ctx):
    s = seeded(ctx, {}, {})
    s.press("agcmp")
    assert s.out.notice == "ag_need_two" and s.screen.template == "agency_home"
    s.press("ag")
    assert "agcmp" not in [a for a, _ in actions(s.screen)]


def test_compare_five_candidates_with_long_names_fits_one_message(ctx):
    seed = agency.check_seeds(CONTENT.catalog)[0]
    assert len(seed["agency"]["candidates"]) == MAX
    s = Session(ctx, **seed)
    s.press("ag")
    assert "agcmp" in [a for a, _ in actions(s.screen)]
    s.press("agcmp")
    screen = s.screen
    assert screen.template == "agency_compare" and screen.edit
    html = CONTENT.render_text(screen.template, screen.data)
    assert visible_length(html) <= 2000  # compact: far below Telegram's 4096
    shown = html_to_plain(html)
    for cand in seed["agency"]["candidates"]:
        assert len(cand["name"]) == 40 and cand["name"] in shown
    for group in {c["group"] for c in CFG["criteria"]}:
        assert group in shown
    assert screen.data["leader"] == 0  # all 是, no red flag
    flags_line = shown.split("🚨 有")[1].splitlines()[1]
    assert flags_line.split("　") == ["①无", "②🚨6", "③❓6", "④⬜6", "⑤⬜6"]
    assert all(len(label) <= content_check.MAX_LABEL for label in labels(screen))
    assert ("ag", ()) in actions(screen)


def test_compare_says_who_is_ahead_or_that_it_is_a_tie(ctx):
    good = {"id": 1, "name": "A", "answers": dict.fromkeys(CRITERIA, "yes"), "flags": {}}
    bad = {
        "id": 2,
        "name": "B",
        "answers": dict.fromkeys(CRITERIA, "yes"),
        "flags": {FLAGS[0]: "yes"},
    }
    s = Session(ctx, route="agency", agency={"candidates": [bad, good], "chosen": None})
    s.press("agcmp")
    assert s.screen.data["leader"] == 1
    assert "B" in text_of(s.screen) and "🏆" in text_of(s.screen)
    twin = dict(good, id=3, name="C")
    s = Session(ctx, route="agency", agency={"candidates": [good, twin], "chosen": None})
    s.press("agcmp")
    assert s.screen.data["leader"] is None
    both_bad = dict(bad, id=4, name="D")
    s = Session(ctx, route="agency", agency={"candidates": [bad, both_bad], "chosen": None})
    s.press("agcmp")
    assert "⛔" in text_of(s.screen)


# --- choosing and deleting ------------------------------------------------------------------


def test_choosing_a_candidate_without_red_flags(ctx):
    s = seeded(ctx, dict.fromkeys(CRITERIA, "yes"), dict.fromkeys(FLAGS, "no"))
    s.press("agpick", 1)
    assert s.state.data["agency"]["chosen"] == 1 and s.out.notice == "ag_chosen"
    assert s.screen.template == "agency_card" and s.screen.data["c"]["chosen"]
    assert ("agpick", ("1", "off")) in actions(s.screen)
    assert ("progress", ()) in actions(s.screen)
    assert agency.summary(s.state.data)["done"] is True
    s.press("ag")
    assert s.screen.data["candidates"][0]["chosen"]
    assert labels(s.screen)[0].startswith("⭐")
    s.press("agpick", 1, "off")
    assert s.state.data["agency"]["chosen"] is None and s.out.notice == "ag_unchosen"


def test_choosing_a_candidate_with_a_red_flag_asks_first(ctx):
    s = seeded(ctx, {}, {FLAGS[2]: "yes"})
    s.press("agpick", 1)
    assert s.state.data["agency"]["chosen"] is None
    assert s.screen.template == "agency_confirm" and s.screen.data["kind"] == "pick"
    assert CFG["red_flags"][2]["warning"] in text_of(s.screen)
    assert ("agpick", ("1", "ok")) in actions(s.screen) and ("agc", ("1",)) in actions(s.screen)
    s.press("agpick", 1, "ok")
    assert s.state.data["agency"]["chosen"] == 1 and s.out.notice == "ag_chosen"


def test_choosing_another_replaces_the_choice(ctx):
    s = Session(ctx, route="agency")
    s.add("A")
    s.add("B")
    s.press("agpick", 1)
    s.press("agpick", 2)
    assert s.state.data["agency"]["chosen"] == 2


def test_deleting_asks_first_and_clears_the_choice(ctx):
    s = seeded(ctx, {CRITERIA[0]: "yes"}, {})
    s.press("agpick", 1)
    s.press("agdel", 1)
    assert s.screen.template == "agency_confirm" and s.screen.data["kind"] == "delete"
    assert len(s.cands) == 1
    s.press("agdel", 1, "ok")
    assert s.cands == [] and s.state.data["agency"]["chosen"] is None
    assert s.out.notice == "ag_deleted" and s.screen.template == "agency_home"
    s.press("agdel", 1, "ok")  # pressed twice
    assert s.out.notice == "stale"


# --- forged and outdated buttons ---------------------------------------------------------------

FORGED = [
    ("agency", ("x",)),
    ("ag", ("1",)),
    ("agadd", ("1",)),
    ("agc", ()),
    ("agc", ("9",)),
    ("agc", ("1", "2")),
    ("agc", ("-1",)),
    ("agc", ("١",)),
    ("agc", ("9" * 30,)),
    ("agq", ("1",)),
    ("agq", ("1", "nokey")),
    ("agq", ("9", CRITERIA[0])),
    ("agq", ("1", CRITERIA[0], "x")),
    ("aga", ("1", CRITERIA[0])),
    ("aga", ("1", CRITERIA[0], "maybe")),
    ("aga", ("1", CRITERIA[0], "YES")),
    ("aga", ("1", "nokey", "yes")),
    ("aga", ("9", CRITERIA[0], "yes")),
    ("aga", ("1", CRITERIA[0], "yes", "x")),
    ("aga", ("1", CRITERIA[0], "yes", "r", "r")),
    ("agn", ()),
    ("agn", ("x",)),
    ("agn", ("1", "nokey")),
    ("agn", ("1", CRITERIA[0], "x")),
    ("agcmp", ("1",)),
    ("agpick", ()),
    ("agpick", ("9",)),
    ("agpick", ("1", "maybe")),
    ("agpick", ("1", "off")),  # not chosen
    ("agdel", ("9",)),
    ("agdel", ("1", "yes")),
    ("agdel", ("1", "ok", "ok")),
    ("sc", ("x",)),
    ("scq", ()),
    ("scq", ("nokey",)),
    ("scq", (SELF_CHECK[0], "x")),
    ("sca", (SELF_CHECK[0],)),
    ("sca", (SELF_CHECK[0], "maybe")),
    ("sca", ("nokey", "yes")),
    ("sca", (SELF_CHECK[0], "yes", "x")),
    ("scn", ("nokey",)),
    ("scn", (SELF_CHECK[0], "x")),
    ("age", ("1",)),
    ("age", ("1", "99")),
    ("age", ("1", "-1")),
    ("age", ("1", "x")),
    ("age", ("9", "0")),
    ("age", ("1", "0", "0")),
    ("sce", ()),
    ("sce", ("99",)),
    ("sce", ("x",)),
    ("sce", ("0", "0")),
]


@pytest.mark.parametrize(("action", "args"), FORGED)
@pytest.mark.parametrize("route", ["agency", "platform", None])
def test_forged_or_outdated_buttons_get_a_notice_and_a_screen(ctx, action, args, route):
    data = {
        "agency": {
            "candidates": [{"id": 1, "name": "A", "answers": {}, "flags": {}}],
            "chosen": None,
            "next_id": 2,
        }
    }
    if route:
        data["route"] = route
    state = MerchantState(7, created=False, data=data)
    out = router.handle(state, Press(action, args), ctx)
    assert out.notice == "stale"
    assert out.screens and out.screens[0].edit
    assert out.state.data == state.data  # nothing changed
    for screen in out.screens:
        assert text_of(screen) and screen.buttons


def test_a_forged_button_with_no_route_and_no_data_shows_the_route_choice(ctx):
    out = router.handle(MerchantState(7), Press("agc", ("1",)), ctx)
    assert out.notice == "stale" and out.screens[0].template == "route_choice"


def test_callback_data_stays_small_and_never_carries_a_name(ctx):
    seed = agency.check_seeds(CONTENT.catalog)[0]
    s = Session(ctx, **seed)
    names = [c["name"] for c in seed["agency"]["candidates"]]
    for event in (
        Press("ag"),
        Press("agcmp"),
        Press("agc", ("2",)),
        Press("agq", ("2", FLAGS[5], "r")),
    ):
        s.do(event)
        for b in (b for row in s.screen.buttons for b in row):
            data = ":".join((b.action, *b.args))
            assert len(data.encode()) <= 64
            assert b.action.startswith(("ag", "sc")) or b.action in ("menu", "progress")
            assert not any(name[:5] in data for name in names)


# --- route B: self-check ------------------------------------------------------------------------


def test_route_b_shows_the_self_check_and_records_answers(ctx):
    s = Session(ctx, route="platform")
    s.do(Command("agency"))
    home = s.screen
    assert home.template == "selfcheck_home" and not home.edit
    shown = text_of(home)
    for item in CFG["self_check"] + CFG["readiness"]:
        assert item["label"] in shown
    assert CFG["self_check_note"] in shown
    s.press("scn")
    asked = []
    plan = ["yes", "no", "yes", "unsure", "yes", "yes", "no", "yes", "yes"]
    for answer in plan:
        assert s.screen.template == "selfcheck_question"
        key = s.screen.buttons[0][0].args[0]
        asked.append(key)
        s.press("sca", key, answer)
    assert asked == SELF_CHECK + READINESS
    assert s.screen.template == "selfcheck_home" and s.out.notice == "sc_done"
    assert s.state.data["self_check"] == dict(zip(SELF_CHECK, plan[:5], strict=True))
    assert s.state.data["readiness"] == dict(zip(READINESS, plan[5:], strict=True))
    shown = text_of(s.screen)
    for item, answer in zip(CFG["self_check"] + CFG["readiness"], plan, strict=True):
        assert (item["how"] in shown) == (answer != "yes"), item["key"]
    assert ("progress", ()) in actions(s.screen)
    assert agency.summary(s.state.data) == {
        "route": "platform",
        "done": True,
        "started": True,
        "missing": [],
        "missing_keys": [],
    }


def test_route_b_questions_show_why_and_how_and_can_be_changed(ctx):
    s = Session(ctx, route="platform")
    s.press("scq", SELF_CHECK[1], "r")
    item = CFG["self_check"][1]
    shown = text_of(s.screen)
    assert item["question"] in shown and item["why"] in shown and item["how"] in shown
    assert not any(a == "scn" for a, _ in actions(s.screen))
    s.press("sca", SELF_CHECK[1], "no", "r")
    assert s.screen.template == "selfcheck_home" and s.out.notice == "saved"
    assert s.state.data["self_check"] == {SELF_CHECK[1]: "no"}
    s.press("scn", READINESS[0])  # skip
    assert s.screen.buttons[0][0].args[0] == READINESS[1]


# --- summary for /progress -----------------------------------------------------------------------


def test_summary_for_each_route(ctx):
    cat = CONTENT.catalog
    assert agency.summary({}) == {
        "route": None,
        "done": False,
        "started": False,
        "missing": ["route"],
        "missing_keys": ["route"],
    }
    a = agency.summary({"route": "agency"}, cat)
    assert (a["done"], a["started"], a["missing_keys"]) == (False, False, ["candidates", "chosen"])
    assert a["missing"] == [cat["ui"]["agency_progress"][k] for k in ("candidates", "chosen")]
    cand = {"id": 3, "name": "A", "answers": {}, "flags": {}}
    a = agency.summary({"route": "agency", "agency": {"candidates": [cand], "chosen": None}})
    assert (a["done"], a["started"], a["missing"]) == (False, True, ["chosen"])
    a = agency.summary({"route": "agency", "agency": {"candidates": [cand], "chosen": 3}})
    assert (a["done"], a["missing"]) == (True, [])
    gone = agency.summary({"route": "agency", "agency": {"candidates": [], "chosen": 3}})
    assert gone["done"] is False
    b = agency.summary({"route": "platform", "self_check": {SELF_CHECK[0]: "yes"}}, cat)
    assert (b["done"], b["started"]) == (False, True)
    assert b["missing_keys"] == SELF_CHECK[1:] + READINESS
    assert b["missing"][0] == CFG["self_check"][1]["label"]
    assert agency.summary({"route": "platform"})["missing"] == SELF_CHECK + READINESS


def test_summary_keys_match_the_content():
    assert list(selfcheck.SELF_CHECK_KEYS) == SELF_CHECK
    assert list(selfcheck.READINESS_KEYS) == READINESS


# --- content and purity ------------------------------------------------------------------------


@pytest.mark.parametrize("module", [agency, selfcheck, questionnaire])
def test_no_chinese_text_in_the_flow(module):
    """All merchant-facing text lives in content/: no Chinese string literal in the code."""
    tree = ast.parse(Path(module.__file__).read_text("utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
    }
    literals = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]
    assert literals and not [s for s in literals if re.search(r"[\u4e00-\u9fff]", s)]


def test_every_screen_reachable_from_rich_states_is_within_telegram_limits(ctx):
    """The content check's rules (valid HTML, 4096 characters, callback data, short labels) on
    every screen of this topic, walking the buttons from states with candidates and answers."""
    seeds = agency.check_seeds(CONTENT.catalog) + [{"route": "agency"}, {"route": "platform"}]
    entries = [Command("agency"), Press("ag"), Press("sc"), Press("agcmp")]
    queue = [(MerchantState(1, created=False, data=d), e) for d in seeds for e in entries]
    seen: set[tuple[Press, str]] = set()
    templates: set[str] = set()
    processed = 0
    while queue and processed < 6000:
        state, event = queue.pop(0)
        processed += 1
        out = router.handle(state, event, ctx)
        key = repr(sorted(out.state.data.items(), key=str))
        if out.state.data.get("input", {}).get("kind") == "agency_name":
            for typed in ("店" * 40, "<b>A&B</b> 公司", "x" * 41, "Acme"):
                queue.append((out.state, Text(typed)))
        for screen in out.screens:
            templates.add(screen.template)
            html = CONTENT.render_text(screen.template, screen.data)
            assert 0 < visible_length(html) <= content_check.MAX_TEXT, screen.template
            # a phone shows about ten buttons without scrolling: never more on one screen
            assert sum(len(row) for row in screen.buttons) <= MAX_BUTTONS, screen.template
            for b in (b for row in screen.buttons for b in row):
                assert len(callbacks.encode(b).encode()) <= 64
                assert 0 < len(CONTENT.label(b)) <= content_check.MAX_LABEL, CONTENT.label(b)
                press = Press(b.action, b.args)
                if b.action.startswith(("ag", "sc")) and (press, key) not in seen:
                    seen.add((press, key))
                    queue.append((out.state, press))
    mine = {n for n in CONTENT.template_names() if n.startswith(("agency_", "selfcheck_"))}
    assert mine <= templates, mine - templates


def test_a_name_that_contains_a_question_word_is_still_taken_as_the_name(ctx):
    s = Session(ctx, route="agency")
    s.add("保底王代运营")
    assert [c["name"] for c in s.cands] == ["保底王代运营"]


@pytest.mark.parametrize(
    "stored",
    [
        {"candidates": "oops", "chosen": 5},
        {"candidates": [None, {"id": 1, "name": "A", "answers": ["yes"], "flags": None}]},
        {"candidates": [{"id": 1, "name": "A", "answers": {CRITERIA[0]: "maybe"}}], "chosen": 9},
        "not a dict",
    ],
)
def test_malformed_stored_data_never_crashes(ctx, stored):
    s = Session(ctx, route="agency", agency=stored)
    for event in (
        Command("agency"),
        Press("agc", ("1",)),
        Press("agq", ("1", CRITERIA[0])),
        Press("aga", ("1", CRITERIA[0], "yes")),
        Press("agcmp"),
        Press("agadd"),
    ):
        out = s.do(event)
        assert out.screens and all(text_of(screen) for screen in out.screens)
    assert isinstance(agency.summary(s.state.data), dict)
