"""A questionnaire: questions answered 是 / 否 / 不确定 one at a time, and changed later.

Two flows are built on it: an agency candidate's criteria and red flags (flows/candidates.py)
and route B's self-check and shop readiness (flows/selfcheck.py). Each subclasses
`Questionnaire`, declaring

- its sections, as (store, section) pairs: the questions are the items of the content file's
  `section` list (content/agency.yaml), in order, each with a stable ASCII `key`;
- the subject that holds the answers: a dict with one {key: answer} dict per store (a
  candidate, or the merchant's data), answer in "yes" | "no" | "unsure";
- its four actions, and the screens that dress the rows built here (its own templates).

The rows use the same label keys for both (ui.yaml: ag_answer, ag_prev_q, ag_skip, ag_item,
ag_prev_page, ag_next_page, edit_<section>) and the answer marks of ui.yaml agency_icons.

This module does the rest: the order (next unanswered, 跳过, 上一题, wrapping round to the
skipped ones), recording an answer, the review mode (a question opened from the subject's
home returns there once answered), the pages of answers to change, and stale presses.

Callback data, with S the subject's own leading arguments (`subject_args` of them: a
candidate's id; none for the self-check; `subject_spec` declares them):

    <ask>:S:<key>[:r]              one question (r, review: answering returns to the subject's
                                   home instead of going on to the next question)
    <answer>:S:<key>:<answer>[:r]  record the answer, then the next unanswered question
    <next>:S[:<key>]               the next unanswered question (after <key>: skip it)
    <page>:S:<page>                a page of answers to change, at most PAGE_ITEMS of them

A press whose subject is gone goes to `lost`; one naming a question that is not (or no
longer) in the list, an answer that is not allowed, or a page that does not exist shows the
subject's home with the notice "stale".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from flows.core import Button, Context, Outcome, Screen
from flows.feature import Action, Arg, choice, number, token

ANSWERS = ("yes", "no", "unsure")
# In a question screen's data: the callback data of the press that shows it again.
RESUME_WITH = "resume_with"
REVIEW = "r"  # marks a question opened from a scorecard / summary: answering returns there
# At most this many answers on one 改答案 page; with 上一页 / 下一页 and 返回 a screen keeps
# to ten buttons or fewer (a phone shows them without scrolling).
PAGE_ITEMS = 6

Rows = tuple[tuple[Button, ...], ...]


def answers(values: object) -> dict[str, str]:
    """The valid answers of a stored mapping (anything malformed is ignored)."""
    if not isinstance(values, dict):
        return {}
    return {k: v for k, v in values.items() if v in ANSWERS}


def is_answered(holder: object, store: str, key: str) -> bool:
    """Whether the subject `holder` has a valid answer to `key` in `store`."""
    values = holder.get(store) if isinstance(holder, dict) else None
    return isinstance(values, dict) and values.get(key) in ANSWERS


# The dict holding a subject's stores: a candidate (shortlist.Candidate) or the merchant's data
# (state.MerchantData).
H = TypeVar("H", bound=Mapping[str, object])


@dataclass(frozen=True)
class Subject(Generic[H]):
    """Whose answers: the dict holding the stores, and the button arguments that name it."""

    values: H
    args: tuple[str, ...] = ()


def _record(holder: Mapping[str, object], store: str, key: str, answer: str) -> None:
    """Keep an answer in the subject's store (created if missing or malformed)."""
    # The store is named by the content (a section's store), so it is looked up by a string the
    # type checker cannot follow; the subject is a plain dict at run time.
    stores = cast(dict[str, Any], holder)
    if not isinstance(stores.get(store), dict):
        stores[store] = {}
    stores[store][key] = answer


@dataclass(frozen=True)
class Question:
    """Where one question stands: its section, place and current answer."""

    key: str
    store: str
    section: str
    index: int  # in its section
    number: int  # 1-based, over the whole questionnaire
    total: int
    current: str | None
    review: bool
    flag: bool  # a red flag: 是 is bad


@dataclass(frozen=True)
class Page:
    """One page of answers to change: items of one section."""

    store: str
    section: str
    items: list[dict[str, Any]]
    index: int
    count: int
    flag: bool


def _pairs(buttons: list[Button]) -> list[tuple[Button, ...]]:
    """Buttons two to a row."""
    return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


class Questionnaire(Generic[H]):
    """One questionnaire: its questions and actions (class attributes), and the topic's hooks
    (methods a topic overrides). An instance holds no state: the answers are in the subject.

    Hooks: `subject` finds the subject named by the leading arguments (None: gone; by default
    the merchant's data); `home` is the screen a finished or stale press returns to (edited in
    place); `lost` answers a press whose subject is gone; `show_question` and `show_page` add
    the topic's text and back buttons to the rows built here; `warn` may show a screen right
    after an answer is recorded instead of moving on (by default it does not).

    H is the type of the subject's dict (the merchant's data, or a candidate).
    """

    sections: tuple[tuple[str, str], ...] = ()
    ask = answer = next = page = ""  # the four actions
    done = ""  # the notice when every question is answered
    subject_spec: tuple[Arg, ...] = ()  # leading button arguments that name the subject
    flag_stores: tuple[str, ...] = ()  # stores whose 是 is bad (red flags)
    content = "agency"  # the content file holding the sections and the answer texts

    def subject(self, out: Outcome, args: tuple[object, ...]) -> Subject[H] | None:
        """The subject named by the leading arguments: by default the merchant's data."""
        # Right for a Questionnaire[MerchantData] (the self-check); one about anything else
        # overrides this, which the type checker cannot require.
        return cast(Subject[H], Subject(out.state.data))

    def home(self, out: Outcome, ctx: Context, subject: Subject[H]) -> Screen:
        """Where a finished questionnaire, a review answer or a stale press returns to."""
        raise NotImplementedError

    def lost(self, out: Outcome, ctx: Context) -> Outcome:
        """A press whose subject is gone (only where `subject` can return None)."""
        raise NotImplementedError

    def show_question(
        self,
        ctx: Context,
        subject: Subject[H],
        q: Question,
        rows: Rows,
        *,
        edit: bool,
        **extra: Any,
    ) -> Screen:
        """One question's screen around the rows built here."""
        raise NotImplementedError

    def show_page(self, ctx: Context, subject: Subject[H], page: Page, rows: Rows) -> Screen:
        """One page of answers to change around the rows built here."""
        raise NotImplementedError

    def warn(self, ctx: Context, subject: Subject[H], q: Question) -> Screen | None:
        """A screen to show right after an answer is recorded, instead of moving on."""
        return None

    # --- the questions ---------------------------------------------------------------------

    def items(self, ctx: Context) -> list[tuple[str, str, dict[str, Any]]]:
        """The questions in order, as (store, section, item)."""
        cfg = ctx.catalog[self.content]
        return [(store, section, item) for store, section in self.sections for item in cfg[section]]

    def keys(self, ctx: Context) -> dict[str, str]:
        """Every question's key, with the store its answer is kept in."""
        return {item["key"]: store for store, _, item in self.items(ctx)}

    def question(self, ctx: Context, subject: Subject[H], key: str, *, review: bool) -> Question:
        """Where question `key` stands for this subject."""
        items = self.items(ctx)
        number = next(i for i, (_, _, item) in enumerate(items) if item["key"] == key)
        store, section, _ = items[number]
        index = [item["key"] for item in ctx.catalog[self.content][section]].index(key)
        return Question(
            key=key,
            store=store,
            section=section,
            index=index,
            number=number + 1,
            total=len(items),
            current=answers(subject.values.get(store)).get(key),
            review=review,
            flag=store in self.flag_stores,
        )

    def left(self, ctx: Context, subject: Subject[H]) -> int:
        """How many questions are still unanswered."""
        return sum(
            not is_answered(subject.values, store, item["key"])
            for store, _, item in self.items(ctx)
        )

    def next_key(self, ctx: Context, subject: Subject[H], after: str | None = None) -> str | None:
        """The first unanswered question after `after` (wrapping round, `after` excluded)."""
        keys: list[tuple[str, str]] = [(store, item["key"]) for store, _, item in self.items(ctx)]
        start = 0
        if after is not None:
            start = next((i + 1 for i, (_, k) in enumerate(keys) if k == after), 0)
        for store, key in keys[start:] + keys[:start]:
            if key != after and not is_answered(subject.values, store, key):
                return key
        return None

    def pages(self, ctx: Context) -> list[Page]:
        """The answers to change, split into pages of at most PAGE_ITEMS.

        A page holds one section; groups (criteria groups) are kept together where they fit,
        so a page reads as "公司实力、用户评价、资质" rather than cutting a group in two.
        """
        cut: list[tuple[str, str, list[dict[str, Any]]]] = []
        for store, section in self.sections:
            groups: list[list[dict[str, Any]]] = []
            for item in ctx.catalog[self.content][section]:
                if groups and groups[-1][0].get("group") == item.get("group"):
                    groups[-1].append(item)
                else:
                    groups.append([item])
            current: list[dict[str, Any]] = []
            for group in groups:
                for start in range(0, len(group), PAGE_ITEMS):
                    part = group[start : start + PAGE_ITEMS]
                    if current and len(current) + len(part) > PAGE_ITEMS:
                        cut.append((store, section, current))
                        current = []
                    current = current + part
            if current:
                cut.append((store, section, current))
        return [
            Page(store, section, items, i, len(cut), store in self.flag_stores)
            for i, (store, section, items) in enumerate(cut)
        ]

    # --- buttons ---------------------------------------------------------------------------

    def next_button(self, label: str, subject: Subject[H], *after: str) -> Button:
        """A button to the next unanswered question (after `after`: skipping it)."""
        return Button.of(label, self.next, *subject.args, *after)

    def ask_button(self, label: str, subject: Subject[H], key: str, *, review: bool) -> Button:
        """A button to one question."""
        return Button.of(label, self.ask, *subject.args, key, *((REVIEW,) if review else ()))

    def edit_buttons(self, ctx: Context, subject: Subject[H]) -> tuple[Button, ...]:
        """改… per section: the first page of that section's answers."""
        firsts: dict[str, int] = {}
        for page in self.pages(ctx):
            firsts.setdefault(page.section, page.index)
        return tuple(
            Button.of(f"edit_{section}", self.page, *subject.args, index)
            for section, index in firsts.items()
        )

    def _question_rows(self, ctx: Context, subject: Subject[H], q: Question) -> Rows:
        """是 / 否 / 不确定 (the current answer marked; a red flag's say what 是 means), and
        上一题 / 跳过 unless the question was opened to change one answer."""
        cfg = ctx.catalog[self.content]
        texts = (cfg.get("flag_answers") or cfg["answers"]) if q.flag else cfg["answers"]
        mode = (REVIEW,) if q.review else ()
        rows = [
            tuple(
                Button.of(
                    "ag_answer",
                    self.answer,
                    *subject.args,
                    q.key,
                    a,
                    *mode,
                    text=texts[a],
                    current=q.current == a,
                )
                for a in ANSWERS
            )
        ]
        if not q.review:
            nav = []
            if q.number > 1:
                previous = self.items(ctx)[q.number - 2][2]["key"]
                nav.append(self.ask_button("ag_prev_q", subject, previous, review=False))
            nav.append(self.next_button("ag_skip", subject, q.key))
            rows.append(tuple(nav))
        return tuple(rows)

    def _page_rows(self, ctx: Context, subject: Subject[H], page: Page) -> Rows:
        """The page's answers, two to a row (press one to answer it again); 上一页 / 下一页."""
        icons = ctx.catalog["ui"]["agency_icons"]["flag" if page.flag else "good"]
        values = answers(subject.values.get(page.store))
        rows = _pairs(
            [
                Button.of(
                    "ag_item",
                    self.ask,
                    *subject.args,
                    item["key"],
                    REVIEW,
                    icon=icons[values.get(item["key"], "none")],
                    label=item["label"],
                )
                for item in page.items
            ]
        )
        nav = []
        if page.index > 0:
            nav.append(Button.of("ag_prev_page", self.page, *subject.args, page.index - 1))
        if page.index + 1 < page.count:
            nav.append(Button.of("ag_next_page", self.page, *subject.args, page.index + 1))
        if nav:
            rows.append(tuple(nav))
        return tuple(rows)

    # --- screens ---------------------------------------------------------------------------

    def question_screen(
        self, ctx: Context, subject: Subject[H], key: str, *, review: bool, edit: bool, **extra: Any
    ) -> Screen:
        """One question, dressed by the topic (`extra` goes to its show_question). It names
        the press that shows it again (RESUME_WITH): a question typed meanwhile is answered
        with a button back to it (flows.router)."""
        q = self.question(ctx, subject, key, review=review)
        rows = self._question_rows(ctx, subject, q)
        screen = self.show_question(ctx, subject, q, rows, edit=edit, **extra)
        again = self.ask_button("resume_question", subject, key, review=review)
        resume = [again.action, *again.args]
        return dataclasses.replace(screen, data={**screen.data, RESUME_WITH: resume})

    def show_next(
        self, out: Outcome, ctx: Context, subject: Subject[H], after: str | None
    ) -> Outcome:
        """The next unanswered question, or the subject's home when none is left."""
        key = self.next_key(ctx, subject, after)
        if key is None:
            out.notice = self.done
            out.screens.append(self.home(out, ctx, subject))
        else:
            out.screens.append(self.question_screen(ctx, subject, key, review=False, edit=True))
        return out

    def stale(self, out: Outcome, ctx: Context, subject: Subject[H] | None) -> Outcome:
        """An outdated or forged press: the subject's home with a notice (or `lost`)."""
        if subject is None:
            return self.lost(out, ctx)
        out.notice = "stale"
        out.screens.append(self.home(out, ctx, subject))
        return out

    # --- presses ---------------------------------------------------------------------------
    # The router has decoded each press against `actions()`: the subject's own leading
    # arguments (`subject_spec`), then the question key, answer, review mark or page.

    def _named(
        self, out: Outcome, args: tuple[object, ...]
    ) -> tuple[Subject[H] | None, tuple[object, ...]]:
        """The subject named by the leading arguments, and the arguments after them."""
        n = len(self.subject_spec)
        return self.subject(out, args[:n]), args[n:]

    def press_ask(self, out: Outcome, ctx: Context, *args: object) -> Outcome:
        """One question (from 上一题, or from the answers to change)."""
        subject, (key, review) = self._named(out, args)
        if subject is None or key not in self.keys(ctx):
            return self.stale(out, ctx, subject)
        out.screens.append(
            self.question_screen(ctx, subject, str(key), review=bool(review), edit=True)
        )
        return out

    def press_answer(self, out: Outcome, ctx: Context, *args: object) -> Outcome:
        """Record 是 / 否 / 不确定; then the topic's warning, the home (review) or move on."""
        subject, (raw_key, raw_answer, review) = self._named(out, args)
        if subject is None or raw_key not in self.keys(ctx):
            return self.stale(out, ctx, subject)
        key, answer = str(raw_key), str(raw_answer)
        _record(subject.values, self.keys(ctx)[key], key, answer)
        warning = self.warn(ctx, subject, self.question(ctx, subject, key, review=bool(review)))
        if warning is not None:
            out.screens.append(warning)
            return out
        if review:
            out.notice = "saved"
            out.screens.append(self.home(out, ctx, subject))
            return out
        return self.show_next(out, ctx, subject, key)

    def press_next(self, out: Outcome, ctx: Context, *args: object) -> Outcome:
        """开始 / 继续 (the first unanswered question) or 跳过 (after the given one)."""
        subject, (after,) = self._named(out, args)
        if subject is None or (after is not None and after not in self.keys(ctx)):
            return self.stale(out, ctx, subject)
        return self.show_next(out, ctx, subject, None if after is None else str(after))

    def press_page(self, out: Outcome, ctx: Context, *args: object) -> Outcome:
        """改… / 上一页 / 下一页: one page of answers to change."""
        subject, (index,) = self._named(out, args)
        pages = self.pages(ctx)
        if subject is None or not isinstance(index, int) or index >= len(pages):
            return self.stale(out, ctx, subject)
        page = pages[index]
        out.screens.append(self.show_page(ctx, subject, page, self._page_rows(ctx, subject, page)))
        return out

    def actions(self) -> tuple[Action, ...]:
        """The questionnaire's four actions, for its feature's declaration."""
        head = self.subject_spec
        key = token("question")
        review = choice("review", REVIEW, optional=True, default="")
        return (
            Action(self.ask, self.press_ask, (*head, key, review)),
            Action(
                self.answer, self.press_answer, (*head, key, choice("answer", *ANSWERS), review)
            ),
            Action(self.next, self.press_next, (*head, token("after", optional=True))),
            Action(self.page, self.press_page, (*head, number("page", 0, 99))),
        )
