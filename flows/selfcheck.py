"""Route B's stage 2 (速卖通全托管): the eligibility self-check and the shop readiness.

Both checklists of content/agency.yaml (`self_check`, then `readiness`) are one questionnaire
(flows/questionnaire.py), answered 是 / 否 / 不确定, with a summary of what to improve.
/agency shows it to a route-B merchant (candidates.open_topic); flows/agency.py registers
its actions and reports it on /progress (standing()).

State (other modules read it; keep the shape):

    data["self_check"] = {key: answer}
    data["readiness"] = {key: answer}

with answer in "yes" | "no" | "unsure"; the keys are those of content/agency.yaml.

Callback data (the questionnaire's grammar; no subject arguments, the merchant is the subject):

    sc                        the summary: both checklists, what to improve, 开始 / 继续, 改…
    scq:<key>[:r]             one question (r: opened to change an answer: back to the summary)
    sca:<key>:<answer>[:r]    record the answer, then the next question (r: the summary)
    scn[:<key>]               the next unanswered question (after <key>: skip it)
    sce:<page>                a page of answers to change (改资格自查 / 改店铺准备, 上一页 / 下一页)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows.core import Button, Context, Outcome, Screen
from flows.feature import Action, requiring
from flows.questionnaire import Page, Question, Questionnaire, Rows, Subject, answers, is_answered
from flows.route import on_route
from flows.state import MerchantData

if TYPE_CHECKING:
    from flows.catalog import Catalog

STORES = (("self_check", "self_check"), ("readiness", "readiness"))

# The keys of content/agency.yaml, for standing() called without the catalogue (tests check
# that they match the YAML).
SELF_CHECK_KEYS = ("store_rating", "compliance", "operations", "quality", "sales")
READINESS_KEYS = ("account", "logo", "shop_name", "categories")


def self_check_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """Both checklists with their answers, what to improve, the note, and 改… to change."""
    data = out.state.data
    subject = Subject(data)
    total = len(QUESTIONS.items(ctx))
    left = QUESTIONS.left(ctx, subject)
    rows: list[tuple[Button, ...]] = []
    if left:
        label = "sc_start" if left == total else "ag_continue"
        rows.append((QUESTIONS.next_button(label, subject),))
    rows.append(QUESTIONS.edit_buttons(ctx, subject))
    if not left:
        rows.append((Button.of("next_step", "progress"),))
    rows.append((Button.of("main_menu", "menu"),))
    values = {store: answers(data.get(store)) for store, _ in STORES}
    return Screen(
        "selfcheck_home", {**values, "left": left, "total": total}, tuple(rows), edit=edit
    )


class SelfCheck(Questionnaire[MerchantData]):
    """The self-check, then the readiness questions; the merchant (their data) is the subject."""

    sections = STORES
    ask, answer, next, page, done = "scq", "sca", "scn", "sce", "sc_done"

    def home(self, out: Outcome, ctx: Context, subject: Subject[MerchantData]) -> Screen:
        """The summary."""
        return self_check_screen(out, ctx, edit=True)

    def show_question(
        self,
        ctx: Context,
        subject: Subject[MerchantData],
        q: Question,
        rows: Rows,
        *,
        edit: bool,
        **extra: Any,
    ) -> Screen:
        """One self-check or readiness question."""
        return Screen(
            "selfcheck_question",
            {
                "section": q.section,
                "index": q.index,
                "number": q.number,
                "total": q.total,
                "current": q.current,
            },
            (*rows, (Button.of("sc_home", "sc"), Button.of("main_menu", "menu"))),
            edit=edit,
        )

    def show_page(
        self, ctx: Context, subject: Subject[MerchantData], page: Page, rows: Rows
    ) -> Screen:
        """One page of self-check answers to change."""
        return Screen(
            "selfcheck_edit",
            {"section": page.section, "page": page.index, "pages": page.count},
            (*rows, (Button.of("sc_home", "sc"),)),
            edit=True,
        )


QUESTIONS = SelfCheck()


def press_sc(out: Outcome, ctx: Context) -> Outcome:
    """The self-check summary."""
    out.screens.append(self_check_screen(out, ctx, edit=True))
    return out


def standing(
    data: MerchantData, catalog: Catalog | None = None
) -> tuple[bool, list[tuple[str, str]]]:
    """(started, missing): whether any item is answered, and the (key, label) of those that
    are not; labels come from the content when `catalog` is given, else they are the keys."""
    items: list[tuple[str, str, str]]  # (store, key, label)
    if catalog is not None:
        cfg = catalog["agency"]
        items = [
            (store, item["key"], item["label"])
            for store, section in STORES
            for item in cfg[section]
        ]
    else:
        items = [("self_check", k, k) for k in SELF_CHECK_KEYS]
        items += [("readiness", k, k) for k in READINESS_KEYS]
    started = any(is_answered(data, store, key) for store, key, _ in items)
    missing = [(key, label) for store, key, label in items if not is_answered(data, store, key)]
    return started, missing


# route B's own: after switching to route A an old button shows the candidates (stale)
ACTIONS = requiring(on_route("platform"), Action("sc", press_sc), *QUESTIONS.actions())
