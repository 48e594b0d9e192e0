"""Unit tests of the questionnaire machine (flows/questionnaire.py) on its own: a small quiz
with two sections, one of them red flags, whose subjects are "boxes" named by an id. The two
real questionnaires (agency candidates, self-check) are tested through the router in
tests/test_flows_agency.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from flows.core import Button, Context, MerchantState, Outcome, Screen
from flows.feature import Feature, token
from flows.questionnaire import (
    PAGE_ITEMS,
    REVIEW,
    Page,
    Question,
    Questionnaire,
    Rows,
    Subject,
    answers,
    is_answered,
)
from tests.flowkit import actions as presses

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
# Section "basics": groups g1 (4 items), g2 (3), g3 (1); section "flags": 2 items.
BASICS = [
    {"key": f"b{i}", "label": f"B{i}", "group": g}
    for i, g in enumerate(["g1"] * 4 + ["g2"] * 3 + ["g3"])
]
FLAGS = [{"key": "f0", "label": "F0"}, {"key": "f1", "label": "F1"}]
KEYS = [i["key"] for i in BASICS + FLAGS]
ICONS = {"yes": "Y", "no": "N", "unsure": "U", "none": "-"}
CATALOG = {
    "quiz": {
        "basics": BASICS,
        "flags": FLAGS,
        "answers": {"yes": "yes", "no": "no", "unsure": "?"},
        "flag_answers": {"yes": "yes, it has", "no": "no, it has not", "unsure": "?"},
    },
    "ui": {"agency_icons": {"good": ICONS, "flag": ICONS}},
}
CTX = Context(CATALOG, NOW)


class Quiz(Questionnaire):
    """Boxes in data["boxes"] = {id: {"good": {...}, "bad": {...}}}, named by their id."""

    sections = (("good", "basics"), ("bad", "flags"))
    ask, answer, next, page, done = "qq", "qa", "qn", "qp", "all_done"
    subject_spec = (token("box"),)
    flag_stores = ("bad",)
    content = "quiz"

    def subject(self, out: Outcome, args: tuple[object, ...]) -> Subject | None:
        box = out.state.data.get("boxes", {}).get(args[0])
        return Subject(box, (str(args[0]),)) if isinstance(box, dict) else None

    def home(self, out: Outcome, ctx: Context, subject: Subject) -> Screen:
        return Screen("home", {"box": subject.args[0]}, edit=True)

    def lost(self, out: Outcome, ctx: Context) -> Outcome:
        out.notice = "gone"
        out.screens.append(Screen("boxes", edit=True))
        return out

    def show_question(
        self, ctx: Context, subject: Subject, q: Question, rows: Rows, *, edit: bool, **extra: Any
    ) -> Screen:
        return Screen("question", {"q": q, **extra}, rows, edit=edit)

    def show_page(self, ctx: Context, subject: Subject, page: Page, rows: Rows) -> Screen:
        return Screen("page", {"page": page}, rows, edit=True)

    def warn(self, ctx: Context, subject: Subject, q: Question) -> Screen | None:
        return Screen("warning", {"q": q}) if q.flag and q.current == "yes" else None


QUIZ = Quiz()


def boxes(out: Outcome, ctx: Context) -> Outcome:
    out.screens.append(Screen("boxes", edit=True))
    return out


FEATURE = Feature("quiz", boxes, actions=QUIZ.actions())


class Box:
    """One merchant with one box ("7"), pressing the quiz's buttons."""

    def __init__(self, **stores: dict[str, str]) -> None:
        self.state = MerchantState(1, created=False, data={"boxes": {"7": dict(stores)}})
        self.out: Outcome | None = None

    def press(self, action: str, *args: str) -> Outcome:
        self.out = Outcome(self.state.copy())
        declared = next(a for a in FEATURE.actions if a.name == action)
        self.out = FEATURE.press(declared, self.out, CTX, tuple(args))
        self.state = self.out.state
        return self.out

    @property
    def values(self) -> dict[str, Any]:
        return self.state.data["boxes"]["7"]

    @property
    def screen(self) -> Screen:
        assert self.out is not None and self.out.screens
        return self.out.screens[-1]


def asked(screen: Screen) -> str:
    assert screen.template == "question", screen.template
    return screen.data["q"].key


# --- reading answers -------------------------------------------------------------------------


def test_only_valid_answers_count():
    assert answers({"a": "yes", "b": "maybe", "c": None}) == {"a": "yes"}
    assert answers(["yes"]) == {}
    assert is_answered({"good": {"b0": "no"}}, "good", "b0")
    assert not is_answered({"good": {"b0": "maybe"}}, "good", "b0")
    assert not is_answered({"good": "oops"}, "good", "b0")
    assert not is_answered(None, "good", "b0")


def test_the_actions_table_holds_the_four_actions():
    assert [a.name for a in QUIZ.actions()] == ["qq", "qa", "qn", "qp"]


# --- order: next, skip, previous ---------------------------------------------------------------


def test_answering_in_order_visits_every_question_then_the_home():
    box = Box()
    box.press("qn", "7")
    seen = []
    while box.screen.template in ("question", "warning"):
        if box.screen.template == "warning":
            box.press("qn", "7", seen[-1])
            continue
        seen.append(asked(box.screen))
        box.press("qa", "7", seen[-1], "yes")
    assert seen == KEYS
    assert box.screen.template == "home" and box.out.notice == "all_done"
    assert box.values["good"] == dict.fromkeys(KEYS[:8], "yes")
    assert box.values["bad"] == {"f0": "yes", "f1": "yes"}
    assert QUIZ.left(CTX, Subject(box.values)) == 0


def test_a_question_knows_its_place_in_its_section_and_overall():
    box = Box()
    box.press("qq", "7", "f1")
    q = box.screen.data["q"]
    assert (q.store, q.section, q.index, q.number, q.total) == ("bad", "flags", 1, 10, 10)
    assert q.flag and not q.review and q.current is None


def test_skipping_moves_on_and_wraps_round_to_the_skipped_ones():
    box = Box(good={k: "no" for k in KEYS[:8] if k != "b2"})
    box.press("qn", "7", "b2")  # skip b2: the next open one is f0
    assert asked(box.screen) == "f0"
    box.press("qa", "7", "f0", "no")
    box.press("qn", "7", "f1")  # skip the last one: round to b2
    assert asked(box.screen) == "b2"
    box.press("qn", "7", "b2")  # skip it again: f1 is still open
    assert asked(box.screen) == "f1"


def test_skipping_the_only_open_question_ends_on_the_home():
    box = Box(good=dict.fromkeys(KEYS[:8], "yes"), bad={"f0": "no"})
    box.press("qn", "7", "f1")
    assert box.screen.template == "home" and box.out.notice == "all_done"


def test_previous_and_skip_buttons_and_the_first_question_has_no_previous():
    box = Box()
    box.press("qn", "7")
    first = box.screen
    assert ("qn", ("7", "b0")) in presses(first)
    assert not any(action == "qq" for action, _ in presses(first))
    box.press("qa", "7", "b0", "unsure")
    second = box.screen
    assert ("qq", ("7", "b0")) in presses(second) and ("qn", ("7", "b1")) in presses(second)
    box.press("qq", "7", "b0")  # 上一题 shows the answer given
    assert box.screen.data["q"].current == "unsure"
    marked = [b.params for row in box.screen.buttons for b in row if b.action == "qa"]
    assert [dict(p)["current"] for p in marked] == [False, False, True]


def test_answer_buttons_of_a_red_flag_say_what_yes_means():
    box = Box()
    box.press("qq", "7", "f0")
    texts = [dict(b.params)["text"] for b in box.screen.buttons[0]]
    assert texts == ["yes, it has", "no, it has not", "?"]
    box.press("qq", "7", "b0")
    assert [dict(b.params)["text"] for b in box.screen.buttons[0]] == ["yes", "no", "?"]


def test_extra_arguments_reach_the_topics_question_screen():
    screen = QUIZ.question_screen(
        CTX, Subject({}, ("7",)), "b3", review=False, edit=False, added=True
    )
    assert screen.data["added"] is True and screen.edit is False


# --- review mode -------------------------------------------------------------------------------


def test_a_question_opened_for_review_has_no_navigation_and_returns_home():
    box = Box(good={"b1": "no"})
    box.press("qq", "7", "b1", REVIEW)
    assert box.screen.data["q"].review
    assert [a for a, _ in presses(box.screen)] == ["qa", "qa", "qa"]
    assert ("qa", ("7", "b1", "yes", REVIEW)) in presses(box.screen)
    box.press("qa", "7", "b1", "yes", REVIEW)
    assert box.screen.template == "home" and box.out.notice == "saved"
    assert box.values["good"] == {"b1": "yes"}


def test_the_warning_hook_comes_before_moving_on_in_both_modes():
    box = Box()
    box.press("qa", "7", "f0", "yes")
    assert box.screen.template == "warning" and box.values["bad"] == {"f0": "yes"}
    box.press("qa", "7", "f0", "yes", REVIEW)
    assert box.screen.template == "warning" and box.screen.data["q"].review
    box.press("qa", "7", "f0", "no")  # no warning: on to the next open question
    assert asked(box.screen) == "f1"


# --- pages of answers to change ----------------------------------------------------------------


def test_pages_hold_one_section_at_most_six_items_and_keep_groups_whole():
    pages = QUIZ.pages(CTX)
    assert [[i["key"] for i in p.items] for p in pages] == [
        ["b0", "b1", "b2", "b3"],  # g1; g2 would not fit beside it
        ["b4", "b5", "b6", "b7"],  # g2 and g3
        ["f0", "f1"],
    ]
    assert all(len(p.items) <= PAGE_ITEMS for p in pages)
    assert [(p.index, p.count, p.flag) for p in pages] == [
        (0, 3, False),
        (1, 3, False),
        (2, 3, True),
    ]


def test_a_group_longer_than_a_page_is_cut():
    long = {
        **CATALOG,
        "quiz": {
            **CATALOG["quiz"],
            "basics": [{"key": f"b{i}", "label": "x", "group": "g"} for i in range(PAGE_ITEMS + 2)],
        },
    }
    pages = QUIZ.pages(Context(long, NOW))
    assert [len(p.items) for p in pages] == [PAGE_ITEMS, 2, 2]


def test_edit_buttons_open_the_first_page_of_each_section():
    buttons = QUIZ.edit_buttons(CTX, Subject({}, ("7",)))
    assert [(b.label, b.action, b.args) for b in buttons] == [
        ("edit_basics", "qp", ("7", "0")),
        ("edit_flags", "qp", ("7", "2")),
    ]


def test_a_page_lists_its_answers_with_marks_and_pages_back_and_forth():
    box = Box(good={"b4": "no"})
    box.press("qp", "7", "1")
    page = box.screen
    items = [b for row in page.buttons for b in row if b.action == "qq"]
    assert [b.args for b in items] == [("7", k, REVIEW) for k in ("b4", "b5", "b6", "b7")]
    assert [dict(b.params)["icon"] for b in items] == ["N", "-", "-", "-"]
    assert all(len(row) <= 2 for row in page.buttons)
    nav = [(b.label, b.args) for b in page.buttons[-1]]
    assert nav == [("ag_prev_page", ("7", "0")), ("ag_next_page", ("7", "2"))]
    box.press("qp", "7", "0")
    assert [b.label for b in box.screen.buttons[-1]] == ["ag_next_page"]


# --- stale presses -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "args"),
    [
        ("qq", ("7", "gone")),  # a question no longer in the content
        ("qa", ("7", "gone", "yes")),
        ("qn", ("7", "gone")),
        ("qp", ("7", "3")),  # a page that does not exist
    ],
)
def test_an_outdated_press_about_a_box_shows_its_home_and_changes_nothing(action, args):
    box = Box(good={"b0": "no"})
    box.press(action, *args)
    assert box.out.notice == "stale" and box.screen.template == "home"
    assert box.values == {"good": {"b0": "no"}}


@pytest.mark.parametrize(
    ("action", "args"),
    [
        ("qq", ("7", "b0", "x")),  # a mark other than r
        ("qq", ("7",)),
        ("qa", ("7", "b0", "maybe")),  # an answer that is not allowed
        ("qa", ("7", "b0")),
        ("qa", ("7", "b0", "yes", "r", "r")),
        ("qn", ("7", "b0", "b1")),
        ("qp", ("7", "-1")),
        ("qp", ("7", "１")),  # full-width digit
        ("qp", ("7",)),
        ("qq", ("7", "b:0")),
    ],
)
def test_a_malformed_press_gets_the_features_one_stale_answer_and_changes_nothing(action, args):
    box = Box(good={"b0": "no"})
    box.press(action, *args)
    assert box.out.notice == "stale" and box.screen.template == "boxes"
    assert box.values == {"good": {"b0": "no"}}


@pytest.mark.parametrize(
    ("action", "args"),
    [("qq", ("8", "b0")), ("qa", ("8", "b0", "yes")), ("qn", ("8",)), ("qp", ("8", "0"))],
)
def test_a_press_about_a_box_that_is_gone_goes_to_lost(action, args):
    box = Box()
    box.press(action, *args)
    assert box.out.notice == "gone" and box.screen.template == "boxes"
    assert box.state.data == {"boxes": {"7": {}}}


def test_a_malformed_store_is_replaced_when_answering():
    box = Box(good="oops")  # type: ignore[arg-type]
    box.press("qa", "7", "b0", "yes")
    assert box.values["good"] == {"b0": "yes"}
    assert asked(box.screen) == "b1"


def test_the_default_subject_is_the_merchants_data():
    class Flat(Quiz):
        subject_spec = ()
        subject = Questionnaire.subject

    out = Outcome(MerchantState(1, created=False, data={}))
    out = Flat().press_answer(out, CTX, "b0", "yes", "")
    assert out.state.data["good"] == {"b0": "yes"}
    assert isinstance(out.screens[-1], Screen) and out.screens[-1].template == "question"
    assert all(isinstance(b, Button) for row in out.screens[-1].buttons for b in row)
