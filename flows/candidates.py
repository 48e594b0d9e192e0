"""Route A of /agency (托管公司代运营): vetting candidate agencies and choosing one.

The merchant adds up to `max_candidates` agencies by name, answers the criteria of
content/agency.yaml (是 / 否 / 不确定) and its red-flag questions for each (a questionnaire,
flows/questionnaire.py, whose subject is one candidate), reads a scorecard per candidate and a
side-by-side comparison, and marks one as chosen. flows/agency.py registers these actions;
`open_topic` (the topic's home for the merchant's route: this list, or route B's self-check)
is here because a button about a candidate that is gone returns to it.

The state is data["agency"], described in flows/shortlist.py. Button arguments are candidate
ids and the keys of content/agency.yaml, never names.

Callback data:

    ag                   the candidate list
    agadd / agstop       ask for a new candidate's name / stop asking
    agc:<id>             a candidate's scorecard
    agq:<id>:<key>[:r]   one question (r: opened from the scorecard to change an answer)
    age:<id>:<page>      a page of answers to change (改基本条件 / 改危险信号, 上一页 / 下一页)
    aga:<id>:<key>:<answer>[:r]   record the answer (a red flag's 是 / 不确定: a warning first)
    agn:<id>[:<key>]     the next unanswered question (after <key>: skip it)
    agcmp                side-by-side comparison
    agpick:<id>[:ok|off] choose (ok: despite red flags) / un-choose
    agdel:<id>[:ok]      delete (asks first)

agq / aga / agn / age are the questionnaire's (QUESTIONS): a criterion or red flag no longer
in the content, an answer that is not allowed or a page that does not exist shows the
candidate's scorecard with the notice "stale"; a press for a deleted candidate, the topic's
home. Every screen keeps to ten buttons or fewer: the answers to change are paged.
"""

from __future__ import annotations

from typing import Any

from flows import route, selfcheck
from flows.core import Button, Context, Outcome, Screen, ask_input, clear_input
from flows.feature import Action, choice, number, requiring
from flows.parsing import ParseError, validate_text
from flows.questionnaire import Page, Question, Questionnaire, Rows, Subject
from flows.shortlist import (
    NAME_MAX,
    all_candidates,
    candidate_button,
    chosen_id,
    criteria_groups,
    figures,
    find,
    max_candidates,
    name_key,
    view_of,
    writable,
)
from flows.state import Candidate

NAME_INPUT = "agency_name"

# Criteria answers and red-flag answers are kept apart, in each candidate.
STORES = (("answers", "criteria"), ("flags", "red_flags"))


CANDIDATE = number("candidate", 1, 999_999_999)  # a candidate's id, named by its buttons


def _subject(cand: Candidate) -> Subject[Candidate]:
    """A candidate as the subject of the questionnaire: its buttons carry its id."""
    return Subject(cand, (str(cand.get("id")),))


# --- screens ----------------------------------------------------------------------------------


def home_screen(out: Outcome, ctx: Context, *, edit: bool, full: bool = False) -> Screen:
    """The candidate list: one button each, 添加, 对比 (two or more), 主菜单."""
    data = out.state.data
    cands = all_candidates(data)
    chosen = chosen_id(data)
    rows: list[tuple[Button, ...]] = [(candidate_button(ctx, c, chosen),) for c in cands]
    if len(cands) < max_candidates(ctx):
        rows.append((Button.of("ag_add", "agadd"),))
    if len(cands) >= 2:
        rows.append((Button.of("ag_compare", "agcmp"),))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen(
        "agency_home",
        {
            "candidates": [view_of(ctx, c, chosen) for c in cands],
            "max": max_candidates(ctx),
            "full": full or len(cands) >= max_candidates(ctx),
        },
        tuple(rows),
        edit=edit,
    )


def name_screen(
    out: Outcome, ctx: Context, *, edit: bool, error: str | None = None, **details: Any
) -> Screen:
    """Ask for a candidate's name (again, with the reason, after a refusal)."""
    return Screen(
        "agency_name",
        {
            "error": error,
            "number": len(all_candidates(out.state.data)) + 1,
            "max": max_candidates(ctx),
            "max_len": NAME_MAX,
            **details,
        },
        ((Button.of("back", "agstop"),),),
        edit=edit,
    )


def card_screen(out: Outcome, ctx: Context, cand: Candidate, *, edit: bool) -> Screen:
    """A candidate's scorecard: every item with its answer, the verdict, 改基本条件 /
    改危险信号 (the answers to change, a page at a time), choose, delete."""
    chosen = chosen_id(out.state.data)
    view = view_of(ctx, cand, chosen)
    subject = _subject(cand)
    cid = str(cand.get("id"))
    rows: list[tuple[Button, ...]] = []
    if view["answered"] < view["total"]:
        rows.append((QUESTIONS.next_button("ag_continue", subject),))
    rows.append(QUESTIONS.edit_buttons(ctx, subject))
    if view["chosen"]:
        rows.append(
            (Button.of("next_step", "progress"), Button.of("ag_unpick", "agpick", cid, "off"))
        )
        rows.append((Button.of("ag_delete", "agdel", cid),))
    else:
        rows.append((Button.of("ag_pick", "agpick", cid), Button.of("ag_delete", "agdel", cid)))
    rows.append((Button.of("ag_list", "ag"), Button.of("main_menu", "menu")))
    return Screen(
        "agency_card", {"c": view, "groups": criteria_groups(ctx)}, tuple(rows), edit=edit
    )


def confirm_screen(ctx: Context, cand: Candidate, kind: str) -> Screen:
    """Ask before deleting a candidate, or before choosing one with red flags."""
    cid = str(cand.get("id"))
    if kind == "delete":
        yes = Button.of("ag_delete_ok", "agdel", cid, "ok")
    else:
        yes = Button.of("ag_pick_anyway", "agpick", cid, "ok")
    return Screen(
        "agency_confirm",
        {"kind": kind, "c": view_of(ctx, cand, None)},
        ((yes,), (Button.of("ag_card", "agc", cid), Button.of("ag_list", "ag"))),
        edit=True,
    )


def compare_screen(out: Outcome, ctx: Context) -> Screen:
    """All candidates side by side per criteria group, and who is ahead."""
    data = out.state.data
    chosen = chosen_id(data)
    views = [view_of(ctx, c, chosen) for c in all_candidates(data)]

    def rank(i: int) -> tuple[int, int, int, int]:
        """Fewer red flags, then more 是, fewer 不确定, more answered."""
        v = views[i]
        return (v["red"], -v["score"], v["unsure"], -v["answered"])

    # only a candidate with answers and no red flag can be ahead (an unanswered one is not)
    comparable = [i for i, v in enumerate(views) if v["answered"] and not v["red"]]
    ranked = sorted(comparable, key=rank)
    leader: int | None = ranked[0] if ranked else None
    if leader is not None and len(ranked) > 1 and rank(ranked[1]) == rank(leader):
        leader = None  # a tie: nobody is ahead
    rows: list[tuple[Button, ...]] = [
        (candidate_button(ctx, c, chosen),) for c in all_candidates(data)
    ]
    rows.append((Button.of("ag_list", "ag"), Button.of("main_menu", "menu")))
    return Screen(
        "agency_compare",
        {
            "candidates": views,
            "groups": criteria_groups(ctx),
            "leader": leader,
            "comparable": len(comparable),
        },
        tuple(rows),
        edit=True,
    )


# --- presses ----------------------------------------------------------------------------------


def _stale(out: Outcome, ctx: Context) -> Outcome:
    """An outdated or forged button: a notice and the current screen of the topic."""
    out.notice = "stale"
    return open_topic(out, ctx, edit=True)


def open_topic(out: Outcome, ctx: Context, *, edit: bool) -> Outcome:
    """The topic's home for the merchant's route (asks for the route first)."""
    if not route.require(out, "agency", edit=edit):
        return out
    if route.route_of(out) == "platform":
        out.screens.append(selfcheck.self_check_screen(out, ctx, edit=edit))
    else:
        out.screens.append(home_screen(out, ctx, edit=edit))
    return out


def press_list(out: Outcome, ctx: Context) -> Outcome:
    """Back to the candidate list."""
    out.screens.append(home_screen(out, ctx, edit=True))
    return out


def press_add(out: Outcome, ctx: Context) -> Outcome:
    """添加候选公司: ask for the name, unless the list is full."""
    if len(all_candidates(out.state.data)) >= max_candidates(ctx):
        out.notice = "ag_full"
        out.screens.append(home_screen(out, ctx, edit=True, full=True))
        return out
    ask_input(out, NAME_INPUT)
    out.screens.append(name_screen(out, ctx, edit=True))
    return out


def press_stop(out: Outcome, ctx: Context) -> Outcome:
    """Leave the name prompt without adding anything."""
    clear_input(out)
    out.screens.append(home_screen(out, ctx, edit=True))
    return out


def on_name(out: Outcome, ctx: Context, text: str) -> Outcome:
    """The typed name of a new candidate: validate, refuse duplicates, then ask question 1."""
    resumed = text == ""  # 继续填写: show the prompt again
    if len(all_candidates(out.state.data)) >= max_candidates(ctx):
        clear_input(out)
        out.screens.append(home_screen(out, ctx, edit=resumed, full=True))
        return out
    if resumed:
        out.screens.append(name_screen(out, ctx, edit=True))
        return out
    try:
        name = validate_text(text, min_len=1, max_len=NAME_MAX)
    except ParseError as exc:
        details = {"length": exc.details.get("length")} if "length" in exc.details else {}
        out.screens.append(name_screen(out, ctx, edit=False, error=exc.code, **details))
        return out
    if any(name_key(c.get("name", "")) == name_key(name) for c in all_candidates(out.state.data)):
        out.screens.append(name_screen(out, ctx, edit=False, error="duplicate", name=name))
        return out
    record = writable(out)
    ids = [c["id"] for c in all_candidates(out.state.data) if isinstance(c.get("id"), int)]
    next_id = record.get("next_id")
    cid = max([next_id if isinstance(next_id, int) else 1, *(i + 1 for i in ids)])
    cand: Candidate = {"id": cid, "name": name, "answers": {}, "flags": {}}
    record["candidates"].append(cand)
    record["next_id"] = cid + 1
    clear_input(out)
    first = QUESTIONS.items(ctx)[0][2]["key"]
    screen = QUESTIONS.question_screen(
        ctx, _subject(cand), first, review=False, edit=False, added=True
    )
    out.screens.append(screen)
    return out


def press_card(out: Outcome, ctx: Context, cid: int) -> Outcome:
    """A candidate's scorecard."""
    cand = find(out, cid)
    if cand is None:
        return _stale(out, ctx)
    out.screens.append(card_screen(out, ctx, cand, edit=True))
    return out


def press_compare(out: Outcome, ctx: Context) -> Outcome:
    """The side-by-side comparison (two candidates or more)."""
    if len(all_candidates(out.state.data)) < 2:
        out.notice = "ag_need_two"
        out.screens.append(home_screen(out, ctx, edit=True))
        return out
    out.screens.append(compare_screen(out, ctx))
    return out


def press_pick(out: Outcome, ctx: Context, cid: int, mode: str) -> Outcome:
    """Choose a candidate (asking first if it has a red flag: mode ok after that), or un-choose
    it (mode off)."""
    cand = find(out, cid)
    record = writable(out)
    if cand is None or (mode == "off" and record.get("chosen") != cand["id"]):
        return QUESTIONS.stale(out, ctx, _subject(cand) if cand else None)
    if mode == "off":
        record["chosen"] = None
        out.notice = "ag_unchosen"
    elif mode == "" and figures(ctx, cand)["red"] and record.get("chosen") != cand["id"]:
        out.screens.append(confirm_screen(ctx, cand, "pick"))
        return out
    else:
        record["chosen"] = cand["id"]
        out.notice = "ag_chosen"
    out.screens.append(card_screen(out, ctx, cand, edit=True))
    return out


def press_delete(out: Outcome, ctx: Context, cid: int, mode: str) -> Outcome:
    """Delete a candidate and its answers, after a confirmation (mode ok)."""
    cand = find(out, cid)
    if cand is None:
        return _stale(out, ctx)
    if mode == "":
        out.screens.append(confirm_screen(ctx, cand, "delete"))
        return out
    record = writable(out)
    record["candidates"] = [c for c in record["candidates"] if c is not cand]
    if record.get("chosen") == cand["id"]:
        record["chosen"] = None
    out.notice = "ag_deleted"
    out.screens.append(home_screen(out, ctx, edit=True))
    return out


class CandidateQuestions(Questionnaire[Candidate]):
    """The criteria, then the red flags, about one candidate (the subject, named by its id)."""

    sections = STORES
    ask, answer, next, page, done = "agq", "aga", "agn", "age", "ag_all_answered"
    subject_spec = (CANDIDATE,)
    flag_stores = ("flags",)

    def subject(self, out: Outcome, args: tuple[object, ...]) -> Subject[Candidate] | None:
        """The candidate named by a button's first argument (None: deleted, or forged)."""
        cand = find(out, args[0])
        return _subject(cand) if cand is not None else None

    def home(self, out: Outcome, ctx: Context, subject: Subject[Candidate]) -> Screen:
        """The candidate's scorecard."""
        return card_screen(out, ctx, subject.values, edit=True)

    def lost(self, out: Outcome, ctx: Context) -> Outcome:
        """The candidate is gone: the topic's home."""
        return _stale(out, ctx)

    def show_question(
        self,
        ctx: Context,
        subject: Subject[Candidate],
        q: Question,
        rows: Rows,
        *,
        edit: bool,
        added: bool = False,
        **extra: Any,
    ) -> Screen:
        """One question about one candidate: 是 / 否 / 不确定, 上一题 / 跳过, back."""
        cand = subject.values
        return Screen(
            "agency_question",
            {
                "name": str(cand.get("name", "")),
                "kind": "flag" if q.flag else "criterion",
                "index": q.index,
                "number": q.number,
                "total": q.total,
                "answered": figures(ctx, cand)["answered"],
                "current": q.current,
                "added": added,
            },
            (*rows, (Button.of("ag_card", "agc", *subject.args), Button.of("ag_list", "ag"))),
            edit=edit,
        )

    def show_page(
        self, ctx: Context, subject: Subject[Candidate], page: Page, rows: Rows
    ) -> Screen:
        """One page of a candidate's answers to change."""
        items = page.items
        return Screen(
            "agency_edit",
            {
                "name": str(subject.values.get("name", "")),
                "kind": "flag" if page.flag else "good",
                "section": page.section,
                "groups": list(
                    dict.fromkeys(str(i.get("group", "")) for i in items if i.get("group"))
                ),
                "page": page.index,
                "pages": page.count,
            },
            (*rows, (Button.of("ag_card", "agc", *subject.args),)),
            edit=True,
        )

    def warn(self, ctx: Context, subject: Subject[Candidate], q: Question) -> Screen | None:
        """After a red flag answered 是 (or 不确定): the warning and what to do, then continue."""
        if not q.flag or q.current not in ("yes", "unsure"):
            return None
        card = Button.of("ag_card", "agc", *subject.args)
        if q.review or self.next_key(ctx, subject, q.key) is None:
            go_on = card
        else:
            go_on = self.next_button("ag_next_q", subject, q.key)
        change = self.ask_button("ag_change", subject, q.key, review=q.review)
        return Screen(
            "agency_warning",
            {"name": str(subject.values.get("name", "")), "index": q.index, "answer": q.current},
            ((go_on,), (change, Button.of("ag_list", "ag"))),
            edit=True,
        )


QUESTIONS = CandidateQuestions()


# route A's own: after switching to route B an old button shows the self-check (stale)
ACTIONS = requiring(
    route.on_route("agency"),
    Action("ag", press_list),
    Action("agadd", press_add),
    Action("agstop", press_stop),
    Action("agc", press_card, (CANDIDATE,)),
    Action("agcmp", press_compare),
    Action(
        "agpick", press_pick, (CANDIDATE, choice("mode", "ok", "off", optional=True, default=""))
    ),
    Action("agdel", press_delete, (CANDIDATE, choice("mode", "ok", optional=True, default=""))),
    *QUESTIONS.actions(),  # agq, aga, agn, age
)
