"""Stage 2 of the journey: choosing an agency (route A) or the self-check (route B).

Route A (托管公司代运营): the merchant adds up to `max_candidates` agencies by name, answers
the criteria of content/agency.yaml (是 / 否 / 不确定) and its red-flag questions for each,
reads a scorecard per candidate and a side-by-side comparison, and marks one as chosen.
Route B (速卖通全托管): the eligibility self-check and the shop-readiness checklist, answered
the same way, with a summary of what to improve.

State (other modules read it; keep the shape):

    data["agency"] = {
        "candidates": [{"id": 1, "name": "…", "answers": {key: answer}, "flags": {key: answer}}],
        "chosen": 1 | None,       # a candidate's id
        "next_id": 2,             # ids are never reused, so an old button cannot hit a newcomer
    }
    data["self_check"] = {key: answer}
    data["readiness"] = {key: answer}

with answer in "yes" | "no" | "unsure". Criteria, red flags, self-check and readiness keys come
from content/agency.yaml; button arguments are candidate ids and those keys, never names.

Callback data:

    agency               entry: route choice, the candidate list or the self-check by route
    ag                   the candidate list (route A)
    agadd / agstop       ask for a new candidate's name / stop asking
    agc:<id>             a candidate's scorecard
    agq:<id>:<key>[:r]   one question (r: opened from the scorecard to change an answer)
    age:<id>:<page>      a page of answers to change (改基本条件 / 改危险信号, 上一页 / 下一页)
    aga:<id>:<key>:<answer>[:r]
    agn:<id>[:<key>]     the next unanswered question (after <key>: skip it)
    agcmp                side-by-side comparison
    agpick:<id>[:ok|off] choose (ok: despite red flags) / un-choose
    agdel:<id>[:ok]      delete (asks first)
    sc, scq:<key>[:r], sca:<key>:<answer>[:r], scn[:<key>], sce:<page>   the same for the
                         self-check

Every screen keeps to ten buttons or fewer: the answers to change are paged (PAGE_ITEMS).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Any

from flows import route
from flows.core import Button, Context, Outcome, Screen, ask_input, clear_input
from flows.parsing import ParseError, strip_invisible, validate_text

ANSWERS = ("yes", "no", "unsure")
REVIEW = "r"  # marks a question opened from a scorecard / summary: answering returns there
NAME_INPUT = "agency_name"
NAME_MAX = 40
# At most this many answers on one 改答案 page; with 上一页 / 下一页 and 返回 a screen keeps
# to ten buttons or fewer (a phone shows them without scrolling).
PAGE_ITEMS = 6

# Route A stores criteria answers and red-flag answers apart; route B its two checklists.
A_STORES = (("answers", "criteria"), ("flags", "red_flags"))
B_STORES = (("self_check", "self_check"), ("readiness", "readiness"))

# The self-check keys of content/agency.yaml, for summary() called without the catalogue
# (tests check that they match the YAML).
SELF_CHECK_KEYS = ("store_rating", "compliance", "operations", "quality", "sales")
READINESS_KEYS = ("account", "logo", "shop_name", "categories")

Rows = tuple[tuple[Button, ...], ...]


# --- content helpers -------------------------------------------------------------------------


def _cfg(ctx: Context) -> dict[str, Any]:
    """content/agency.yaml."""
    return ctx.catalog["agency"]


def _icons(ctx: Context) -> dict[str, dict[str, str]]:
    """Answer marks by kind ("good": 是 is good, "flag": 是 is bad), from ui_agency.yaml."""
    return ctx.catalog["ui"]["agency_icons"]


def _max(ctx: Context) -> int:
    """How many candidates can be compared at once."""
    return int(_cfg(ctx).get("max_candidates", 5))


def _items(ctx: Context, stores: tuple[tuple[str, str], ...]) -> list[tuple[str, dict[str, Any]]]:
    """The questions in order, as (store, item): route A's criteria then red flags, etc."""
    cfg = _cfg(ctx)
    return [(store, item) for store, section in stores for item in cfg[section]]


def _groups(ctx: Context) -> list[dict[str, Any]]:
    """The criteria groups in YAML order, each with its criteria keys."""
    groups: list[dict[str, Any]] = []
    for item in _cfg(ctx)["criteria"]:
        if not groups or groups[-1]["name"] != item["group"]:
            groups.append({"name": item["group"], "criteria": []})
        groups[-1]["criteria"].append(item["key"])
    return groups


def _answer(value: object) -> str | None:
    """A stored answer, or None for anything else."""
    return value if value in ANSWERS else None


def _answers(values: object) -> dict[str, str]:
    """The valid answers of a stored mapping (anything malformed is ignored)."""
    if not isinstance(values, dict):
        return {}
    return {k: v for k, v in values.items() if v in ANSWERS}


def _next_key(
    items: list[tuple[str, dict[str, Any]]],
    answered: Callable[[str, str], bool],
    after: str | None = None,
) -> str | None:
    """The first unanswered question after `after` (wrapping round, `after` itself excluded)."""
    keys = [(store, item["key"]) for store, item in items]
    start = 0
    if after is not None:
        start = next((i + 1 for i, (_, k) in enumerate(keys) if k == after), 0)
    for store, key in keys[start:] + keys[:start]:
        if key != after and not answered(store, key):
            return key
    return None


def _answer_buttons(
    ctx: Context,
    action: str,
    prefix: tuple[str, ...],
    current: str | None,
    review: bool,
    *,
    flag: bool = False,
) -> tuple[Button, ...]:
    """是 / 否 / 不确定, the current answer marked; a red flag's say what 是 means (是，有)."""
    cfg = _cfg(ctx)
    texts = (cfg.get("flag_answers") or cfg["answers"]) if flag else cfg["answers"]
    mode = (REVIEW,) if review else ()
    return tuple(
        Button.of("ag_answer", action, *prefix, a, *mode, text=texts[a], current=current == a)
        for a in ANSWERS
    )


def _pairs(buttons: list[Button]) -> list[tuple[Button, ...]]:
    """Buttons two to a row."""
    return [tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2)]


def _edit_pages(
    ctx: Context, stores: tuple[tuple[str, str], ...]
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """The answers to change, split into pages of at most PAGE_ITEMS: (store, section, items).

    A page holds one section; criteria groups are kept together where they fit, so a page
    reads as "公司实力、用户评价、资质" rather than cutting a group in two.
    """
    pages: list[tuple[str, str, list[dict[str, Any]]]] = []
    for store, section in stores:
        groups: list[list[dict[str, Any]]] = []
        for item in _cfg(ctx)[section]:
            if groups and groups[-1][0].get("group") == item.get("group"):
                groups[-1].append(item)
            else:
                groups.append([item])
        current: list[dict[str, Any]] = []
        for group in groups:
            for start in range(0, len(group), PAGE_ITEMS):
                part = group[start : start + PAGE_ITEMS]
                if current and len(current) + len(part) > PAGE_ITEMS:
                    pages.append((store, section, current))
                    current = []
                current = current + part
        if current:
            pages.append((store, section, current))
    return pages


def _first_pages(pages: list[tuple[str, str, list[dict[str, Any]]]]) -> list[tuple[str, int]]:
    """(section, page index) of the first page of each section: the 改… entry buttons."""
    firsts: list[tuple[str, int]] = []
    for i, (_, section, _) in enumerate(pages):
        if not firsts or firsts[-1][0] != section:
            firsts.append((section, i))
    return firsts


def _page_arg(raw: str, count: int) -> int | None:
    """A page number from a button argument, if it is one of the `count` pages."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 3:
        return None
    page = int(raw)
    return page if page < count else None


def _page_nav(action: str, prefix: tuple[str, ...], page: int, count: int) -> tuple[Button, ...]:
    """上一页 / 下一页 between edit pages."""
    nav = []
    if page > 0:
        nav.append(Button.of("ag_prev_page", action, *prefix, page - 1))
    if page + 1 < count:
        nav.append(Button.of("ag_next_page", action, *prefix, page + 1))
    return tuple(nav)


# --- route A: the record ----------------------------------------------------------------------


def _record(data: dict[str, Any]) -> dict[str, Any]:
    """The agency record as stored, or an empty one (not stored: viewing changes nothing)."""
    record = data.get("agency")
    if not isinstance(record, dict):
        return {"candidates": [], "chosen": None, "next_id": 1}
    return record


def _candidates(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The candidates, in the order they were added."""
    cands = _record(data).get("candidates")
    return [c for c in cands if isinstance(c, dict)] if isinstance(cands, list) else []


def _chosen(data: dict[str, Any]) -> int | None:
    """The chosen candidate's id, if it still exists."""
    chosen = _record(data).get("chosen")
    return chosen if any(c.get("id") == chosen for c in _candidates(data)) else None


def _writable(out: Outcome) -> dict[str, Any]:
    """The agency record, created in the state if needed."""
    record = out.state.data.get("agency")
    if not isinstance(record, dict):
        record = out.state.data["agency"] = {"candidates": [], "chosen": None, "next_id": 1}
    record.setdefault("candidates", [])
    record.setdefault("chosen", None)
    record.setdefault("next_id", 1)
    return record


def _find(out: Outcome, raw: str) -> dict[str, Any] | None:
    """The candidate whose id is `raw` (a button argument), or None if there is none."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        return None
    wanted = int(raw)
    return next((c for c in _candidates(out.state.data) if c.get("id") == wanted), None)


def _name_key(name: str) -> str:
    """How two names are compared for duplicates: width, case, spaces and invisible marks
    ignored."""
    return "".join(unicodedata.normalize("NFKC", strip_invisible(name)).casefold().split())


def _cand_answered(cand: dict[str, Any]) -> Callable[[str, str], bool]:
    """Whether a candidate answered a question of a given store."""

    def answered(store: str, key: str) -> bool:
        values = cand.get(store)
        return isinstance(values, dict) and _answer(values.get(key)) is not None

    return answered


def _stats(ctx: Context, cand: dict[str, Any]) -> dict[str, Any]:
    """A candidate's figures: answered, score, red flags, and the verdict of its scorecard."""
    cfg = _cfg(ctx)
    answers, flags = _answers(cand.get("answers")), _answers(cand.get("flags"))
    crit = [answers.get(c["key"]) for c in cfg["criteria"]]
    red = [flags.get(f["key"]) for f in cfg["red_flags"]]
    stats = {
        "answered": sum(a is not None for a in crit + red),
        "total": len(crit) + len(red),
        "score": crit.count("yes"),
        "score_total": len(crit),
        "no": crit.count("no"),
        "unsure": crit.count("unsure") + red.count("unsure"),
        "red": red.count("yes"),
        "red_unsure": red.count("unsure"),
        "red_open": red.count(None),
    }
    if stats["red"]:
        verdict = "danger"
    elif stats["answered"] < stats["total"]:
        verdict = "incomplete"
    elif stats["no"] >= 3:
        verdict = "weak"
    elif stats["unsure"]:
        verdict = "verify"
    elif stats["no"]:
        verdict = "gaps"
    else:
        verdict = "good"
    stats["verdict"] = verdict
    return stats


def _view(ctx: Context, cand: dict[str, Any], chosen: int | None) -> dict[str, Any]:
    """What templates need about one candidate."""
    return {
        "id": cand.get("id"),
        "name": str(cand.get("name", "")),
        "answers": _answers(cand.get("answers")),
        "flags": _answers(cand.get("flags")),
        "chosen": cand.get("id") == chosen,
        **_stats(ctx, cand),
    }


def _cand_button(ctx: Context, cand: dict[str, Any], chosen: int | None) -> Button:
    """A candidate's button: its (shortened) name, ⭐ if chosen, a mark for red flags."""
    stats = _stats(ctx, cand)
    return Button.of(
        "ag_candidate",
        "agc",
        cand.get("id"),
        name=str(cand.get("name", "")),
        chosen=cand.get("id") == chosen,
        red=stats["red"],
    )


# --- route A: screens -------------------------------------------------------------------------


def home_screen(out: Outcome, ctx: Context, *, edit: bool, full: bool = False) -> Screen:
    """The candidate list: one button each, 添加, 对比 (two or more), 主菜单."""
    data = out.state.data
    cands = _candidates(data)
    chosen = _chosen(data)
    rows: list[tuple[Button, ...]] = [(_cand_button(ctx, c, chosen),) for c in cands]
    if len(cands) < _max(ctx):
        rows.append((Button.of("ag_add", "agadd"),))
    if len(cands) >= 2:
        rows.append((Button.of("ag_compare", "agcmp"),))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen(
        "agency_home",
        {
            "candidates": [_view(ctx, c, chosen) for c in cands],
            "max": _max(ctx),
            "full": full or len(cands) >= _max(ctx),
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
            "number": len(_candidates(out.state.data)) + 1,
            "max": _max(ctx),
            "max_len": NAME_MAX,
            **details,
        },
        ((Button.of("back", "agstop"),),),
        edit=edit,
    )


def question_screen(
    ctx: Context, cand: dict[str, Any], key: str, *, review: bool, edit: bool, added: bool = False
) -> Screen:
    """One question about one candidate: 是 / 否 / 不确定, 上一题 / 跳过, back."""
    items = _items(ctx, A_STORES)
    index = next(i for i, (_, item) in enumerate(items) if item["key"] == key)
    store = items[index][0]
    cid = str(cand.get("id"))
    current = _answers(cand.get(store)).get(key)
    flag = store == "flags"
    rows: list[tuple[Button, ...]] = [
        _answer_buttons(ctx, "aga", (cid, key), current, review, flag=flag)
    ]
    if not review:
        nav = []
        if index > 0:
            nav.append(Button.of("ag_prev_q", "agq", cid, items[index - 1][1]["key"]))
        nav.append(Button.of("ag_skip", "agn", cid, key))
        rows.append(tuple(nav))
    rows.append((Button.of("ag_card", "agc", cid), Button.of("ag_list", "ag")))
    crit_count = len(_cfg(ctx)["criteria"])
    return Screen(
        "agency_question",
        {
            "name": str(cand.get("name", "")),
            "kind": "flag" if store == "flags" else "criterion",
            "index": index if store == "answers" else index - crit_count,
            "number": index + 1,
            "total": len(items),
            "answered": _stats(ctx, cand)["answered"],
            "current": current,
            "added": added,
        },
        tuple(rows),
        edit=edit,
    )


def warning_screen(
    ctx: Context, cand: dict[str, Any], key: str, answer: str, *, review: bool
) -> Screen:
    """After a red flag answered 是 (or 不确定): the warning and what to do, then continue."""
    flags = _cfg(ctx)["red_flags"]
    index = next(i for i, f in enumerate(flags) if f["key"] == key)
    cid = str(cand.get("id"))
    if review:
        go_on = Button.of("ag_card", "agc", cid)
    elif _next_key(_items(ctx, A_STORES), _cand_answered(cand), key) is None:
        go_on = Button.of("ag_card", "agc", cid)
    else:
        go_on = Button.of("ag_next_q", "agn", cid, key)
    change = Button.of("ag_change", "agq", cid, key, *((REVIEW,) if review else ()))
    return Screen(
        "agency_warning",
        {"name": str(cand.get("name", "")), "index": index, "answer": answer},
        ((go_on,), (change, Button.of("ag_list", "ag"))),
        edit=True,
    )


def card_screen(out: Outcome, ctx: Context, cand: dict[str, Any], *, edit: bool) -> Screen:
    """A candidate's scorecard: every item with its answer, the verdict, 改基本条件 /
    改危险信号 (the answers to change, a page at a time), choose, delete."""
    chosen = _chosen(out.state.data)
    view = _view(ctx, cand, chosen)
    cid = str(cand.get("id"))
    rows: list[tuple[Button, ...]] = []
    if view["answered"] < view["total"]:
        rows.append((Button.of("ag_continue", "agn", cid),))
    firsts = _first_pages(_edit_pages(ctx, A_STORES))
    rows.append(tuple(Button.of(f"edit_{section}", "age", cid, page) for section, page in firsts))
    if view["chosen"]:
        rows.append(
            (Button.of("next_step", "progress"), Button.of("ag_unpick", "agpick", cid, "off"))
        )
        rows.append((Button.of("ag_delete", "agdel", cid),))
    else:
        rows.append((Button.of("ag_pick", "agpick", cid), Button.of("ag_delete", "agdel", cid)))
    rows.append((Button.of("ag_list", "ag"), Button.of("main_menu", "menu")))
    return Screen("agency_card", {"c": view, "groups": _groups(ctx)}, tuple(rows), edit=edit)


def edit_screen(ctx: Context, cand: dict[str, Any], page: int) -> Screen:
    """One page of a candidate's answers: press one to answer it again; 上一页 / 下一页."""
    pages = _edit_pages(ctx, A_STORES)
    store, section, items = pages[page]
    kind = "flag" if store == "flags" else "good"
    icons = _icons(ctx)[kind]
    values = _answers(cand.get(store))
    cid = str(cand.get("id"))
    rows = _pairs(
        [
            Button.of(
                "ag_item",
                "agq",
                cid,
                item["key"],
                REVIEW,
                icon=icons[values.get(item["key"], "none")],
                label=item["label"],
            )
            for item in items
        ]
    )
    nav = _page_nav("age", (cid,), page, len(pages))
    if nav:
        rows.append(nav)
    rows.append((Button.of("ag_card", "agc", cid),))
    return Screen(
        "agency_edit",
        {
            "name": str(cand.get("name", "")),
            "kind": kind,
            "section": section,
            "groups": list(dict.fromkeys(str(i.get("group", "")) for i in items if i.get("group"))),
            "page": page,
            "pages": len(pages),
        },
        tuple(rows),
        edit=True,
    )


def confirm_screen(ctx: Context, cand: dict[str, Any], kind: str) -> Screen:
    """Ask before deleting a candidate, or before choosing one with red flags."""
    cid = str(cand.get("id"))
    if kind == "delete":
        yes = Button.of("ag_delete_ok", "agdel", cid, "ok")
    else:
        yes = Button.of("ag_pick_anyway", "agpick", cid, "ok")
    return Screen(
        "agency_confirm",
        {"kind": kind, "c": _view(ctx, cand, None)},
        ((yes,), (Button.of("ag_card", "agc", cid), Button.of("ag_list", "ag"))),
        edit=True,
    )


def compare_screen(out: Outcome, ctx: Context) -> Screen:
    """All candidates side by side per criteria group, and who is ahead."""
    data = out.state.data
    chosen = _chosen(data)
    views = [_view(ctx, c, chosen) for c in _candidates(data)]

    def rank(i: int) -> tuple[int, int, int, int]:
        """Fewer red flags, then more 是, fewer 不确定, more answered."""
        v = views[i]
        return (v["red"], -v["score"], v["unsure"], -v["answered"])

    ranked = sorted(range(len(views)), key=rank)
    leader: int | None = ranked[0] if ranked else None
    if leader is not None and len(ranked) > 1 and rank(ranked[1]) == rank(leader):
        leader = None  # a tie: nobody is ahead
    rows = [(_cand_button(ctx, c, chosen),) for c in _candidates(data)]
    rows.append((Button.of("ag_list", "ag"), Button.of("main_menu", "menu")))
    return Screen(
        "agency_compare",
        {"candidates": views, "groups": _groups(ctx), "leader": leader},
        tuple(rows),
        edit=True,
    )


# --- route A: actions -------------------------------------------------------------------------


def _stale(out: Outcome, ctx: Context) -> Outcome:
    """An outdated or forged button: a notice and the current screen of the topic."""
    out.notice = "stale"
    return _entry(out, ctx, edit=True)


def _entry(out: Outcome, ctx: Context, *, edit: bool) -> Outcome:
    """The topic's home for the merchant's route (asks for the route first)."""
    if not route.require(out, "agency", edit=edit):
        return out
    if route.route_of(out) == "platform":
        out.screens.append(self_check_screen(out, ctx, edit=edit))
    else:
        out.screens.append(home_screen(out, ctx, edit=edit))
    return out


def cmd_agency(out: Outcome, ctx: Context, args: str) -> Outcome:
    """/agency: the candidate list (route A) or the self-check (route B), in a new message."""
    return _entry(out, ctx, edit=False)


def press_agency(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The menu's 选托管公司 entry (and 继续 after choosing a route), in place."""
    if args:
        out.notice = "stale"
    return _entry(out, ctx, edit=True)


def press_list(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Back to the candidate list."""
    if args:
        out.notice = "stale"
    out.screens.append(home_screen(out, ctx, edit=True))
    return out


def press_add(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """添加候选公司: ask for the name, unless the list is full."""
    if args:
        return _stale(out, ctx)
    if len(_candidates(out.state.data)) >= _max(ctx):
        out.notice = "ag_full"
        out.screens.append(home_screen(out, ctx, edit=True, full=True))
        return out
    ask_input(out, NAME_INPUT)
    out.screens.append(name_screen(out, ctx, edit=True))
    return out


def press_stop(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Leave the name prompt without adding anything."""
    clear_input(out)
    out.screens.append(home_screen(out, ctx, edit=True))
    return out


def on_name(out: Outcome, ctx: Context, text: str) -> Outcome:
    """The typed name of a new candidate: validate, refuse duplicates, then ask question 1."""
    resumed = text == ""  # 继续填写: show the prompt again
    if len(_candidates(out.state.data)) >= _max(ctx):
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
    if any(_name_key(c.get("name", "")) == _name_key(name) for c in _candidates(out.state.data)):
        out.screens.append(name_screen(out, ctx, edit=False, error="duplicate", name=name))
        return out
    record = _writable(out)
    ids = [c["id"] for c in _candidates(out.state.data) if isinstance(c.get("id"), int)]
    next_id = record.get("next_id")
    cid = max([next_id if isinstance(next_id, int) else 1, *(i + 1 for i in ids)])
    cand = {"id": cid, "name": name, "answers": {}, "flags": {}}
    record["candidates"].append(cand)
    record["next_id"] = cid + 1
    clear_input(out)
    first = _items(ctx, A_STORES)[0][1]["key"]
    out.screens.append(question_screen(ctx, cand, first, review=False, edit=False, added=True))
    return out


def press_card(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """A candidate's scorecard."""
    cand = _find(out, args[0]) if len(args) == 1 else None
    if cand is None:
        return _stale(out, ctx)
    out.screens.append(card_screen(out, ctx, cand, edit=True))
    return out


def _parse_item(
    out: Outcome, ctx: Context, args: tuple[str, ...], n: int
) -> tuple[dict[str, Any], str, tuple[str, ...], bool] | None:
    """Validate <id>:<key>, n further arguments and an optional review mark."""
    if len(args) not in (2 + n, 3 + n) or (len(args) == 3 + n and args[-1] != REVIEW):
        return None
    cand = _find(out, args[0])
    keys = {item["key"] for _, item in _items(ctx, A_STORES)}
    if cand is None or args[1] not in keys:
        return None
    return cand, args[1], args[2 : 2 + n], len(args) == 3 + n


def press_edit(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """改基本条件 / 改危险信号 / 上一页 / 下一页: one page of a candidate's answers."""
    cand = _find(out, args[0]) if len(args) == 2 else None
    page = _page_arg(args[1], len(_edit_pages(ctx, A_STORES))) if len(args) == 2 else None
    if cand is None or page is None:
        return _stale_candidate(out, ctx, args)
    out.screens.append(edit_screen(ctx, cand, page))
    return out


def press_question(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Show one question (from 上一题 or from a scorecard item)."""
    parsed = _parse_item(out, ctx, args, 0)
    if parsed is None:
        return _stale_candidate(out, ctx, args)
    cand, key, _, review = parsed
    out.screens.append(question_screen(ctx, cand, key, review=review, edit=True))
    return out


def press_answer(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Record 是 / 否 / 不确定; warn after a red flag; move on."""
    parsed = _parse_item(out, ctx, args, 1)
    if parsed is None or parsed[2][0] not in ANSWERS:
        return _stale_candidate(out, ctx, args)
    cand, key, (answer,), review = parsed
    store = next(s for s, item in _items(ctx, A_STORES) if item["key"] == key)
    if not isinstance(cand.get(store), dict):
        cand[store] = {}
    cand[store][key] = answer
    if store == "flags" and answer in ("yes", "unsure"):
        out.screens.append(warning_screen(ctx, cand, key, answer, review=review))
        return out
    if review:
        out.notice = "saved"
        out.screens.append(card_screen(out, ctx, cand, edit=True))
        return out
    return _show_next(out, ctx, cand, key)


def press_next(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """继续回答 (from the first unanswered question) or 跳过 (after the given one)."""
    keys = {item["key"] for _, item in _items(ctx, A_STORES)}
    cand = _find(out, args[0]) if len(args) in (1, 2) else None
    if cand is None or (len(args) == 2 and args[1] not in keys):
        return _stale_candidate(out, ctx, args)
    return _show_next(out, ctx, cand, args[1] if len(args) == 2 else None)


def _show_next(out: Outcome, ctx: Context, cand: dict[str, Any], after: str | None) -> Outcome:
    """The next unanswered question, or the scorecard when none is left."""
    key = _next_key(_items(ctx, A_STORES), _cand_answered(cand), after)
    if key is None:
        out.notice = "ag_all_answered"
        out.screens.append(card_screen(out, ctx, cand, edit=True))
    else:
        out.screens.append(question_screen(ctx, cand, key, review=False, edit=True))
    return out


def _stale_candidate(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Bad arguments about a candidate: its scorecard if it exists, else the topic's home."""
    cand = _find(out, args[0]) if args else None
    if cand is None:
        return _stale(out, ctx)
    out.notice = "stale"
    out.screens.append(card_screen(out, ctx, cand, edit=True))
    return out


def press_compare(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The side-by-side comparison (two candidates or more)."""
    if args:
        return _stale(out, ctx)
    if len(_candidates(out.state.data)) < 2:
        out.notice = "ag_need_two"
        out.screens.append(home_screen(out, ctx, edit=True))
        return out
    out.screens.append(compare_screen(out, ctx))
    return out


def press_pick(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Choose a candidate (asking first if it has a red flag), or un-choose it."""
    cand = _find(out, args[0]) if len(args) in (1, 2) else None
    mode = args[1] if len(args) == 2 else ""
    if cand is None or mode not in ("", "ok", "off"):
        return _stale_candidate(out, ctx, args)
    record = _writable(out)
    if mode == "off":
        if record.get("chosen") != cand["id"]:
            return _stale_candidate(out, ctx, args)
        record["chosen"] = None
        out.notice = "ag_unchosen"
    elif mode == "" and _stats(ctx, cand)["red"] and record.get("chosen") != cand["id"]:
        out.screens.append(confirm_screen(ctx, cand, "pick"))
        return out
    else:
        record["chosen"] = cand["id"]
        out.notice = "ag_chosen"
    out.screens.append(card_screen(out, ctx, cand, edit=True))
    return out


def press_delete(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Delete a candidate and its answers, after a confirmation."""
    cand = _find(out, args[0]) if len(args) in (1, 2) else None
    mode = args[1] if len(args) == 2 else ""
    if cand is None or mode not in ("", "ok"):
        return _stale_candidate(out, ctx, args)
    if mode == "":
        out.screens.append(confirm_screen(ctx, cand, "delete"))
        return out
    record = _writable(out)
    record["candidates"] = [c for c in record["candidates"] if c is not cand]
    if record.get("chosen") == cand["id"]:
        record["chosen"] = None
    out.notice = "ag_deleted"
    out.screens.append(home_screen(out, ctx, edit=True))
    return out


# --- route B: the self-check ------------------------------------------------------------------


def _sc_answered(data: dict[str, Any]) -> Callable[[str, str], bool]:
    """Whether a self-check / readiness item is answered."""

    def answered(store: str, key: str) -> bool:
        values = data.get(store)
        return isinstance(values, dict) and _answer(values.get(key)) is not None

    return answered


def self_check_screen(out: Outcome, ctx: Context, *, edit: bool) -> Screen:
    """Both checklists with their answers, what to improve, the note, and 改… to change."""
    data = out.state.data
    items = _items(ctx, B_STORES)
    answered = _sc_answered(data)
    values = {store: _answers(data.get(store)) for store, _ in B_STORES}
    left = sum(not answered(store, item["key"]) for store, item in items)
    rows: list[tuple[Button, ...]] = []
    if left:
        rows.append((Button.of("sc_start" if left == len(items) else "ag_continue", "scn"),))
    firsts = _first_pages(_edit_pages(ctx, B_STORES))
    rows.append(tuple(Button.of(f"edit_{section}", "sce", page) for section, page in firsts))
    if not left:
        rows.append((Button.of("next_step", "progress"),))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen(
        "selfcheck_home",
        {**values, "left": left, "total": len(items)},
        tuple(rows),
        edit=edit,
    )


def sc_edit_screen(out: Outcome, ctx: Context, page: int) -> Screen:
    """One page of self-check answers: press one to answer it again; 上一页 / 下一页."""
    pages = _edit_pages(ctx, B_STORES)
    store, section, items = pages[page]
    icons = _icons(ctx)["good"]
    values = _answers(out.state.data.get(store))
    rows = _pairs(
        [
            Button.of(
                "ag_item",
                "scq",
                item["key"],
                REVIEW,
                icon=icons[values.get(item["key"], "none")],
                label=item["label"],
            )
            for item in items
        ]
    )
    nav = _page_nav("sce", (), page, len(pages))
    if nav:
        rows.append(nav)
    rows.append((Button.of("sc_home", "sc"),))
    return Screen(
        "selfcheck_edit",
        {"section": section, "page": page, "pages": len(pages)},
        tuple(rows),
        edit=True,
    )


def sc_question_screen(out: Outcome, ctx: Context, key: str, *, review: bool) -> Screen:
    """One self-check or readiness question."""
    items = _items(ctx, B_STORES)
    index = next(i for i, (_, item) in enumerate(items) if item["key"] == key)
    store = items[index][0]
    section = dict(B_STORES)[store]
    current = _answers(out.state.data.get(store)).get(key)
    rows: list[tuple[Button, ...]] = [_answer_buttons(ctx, "sca", (key,), current, review)]
    if not review:
        nav = []
        if index > 0:
            nav.append(Button.of("ag_prev_q", "scq", items[index - 1][1]["key"]))
        nav.append(Button.of("ag_skip", "scn", key))
        rows.append(tuple(nav))
    rows.append((Button.of("sc_home", "sc"), Button.of("main_menu", "menu")))
    return Screen(
        "selfcheck_question",
        {
            "section": section,
            "index": [item["key"] for item in _cfg(ctx)[section]].index(key),
            "number": index + 1,
            "total": len(items),
            "current": current,
        },
        tuple(rows),
        edit=True,
    )


def _sc_keys(ctx: Context) -> dict[str, str]:
    """Self-check and readiness keys, with the store each belongs to."""
    return {item["key"]: store for store, item in _items(ctx, B_STORES)}


def _sc_stale(out: Outcome, ctx: Context) -> Outcome:
    """An outdated or forged self-check button: a notice and the summary."""
    out.notice = "stale"
    out.screens.append(self_check_screen(out, ctx, edit=True))
    return out


def press_sc(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The self-check summary."""
    if args:
        return _sc_stale(out, ctx)
    out.screens.append(self_check_screen(out, ctx, edit=True))
    return out


def press_sc_edit(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """改资格自查 / 改店铺准备 / 上一页 / 下一页: one page of self-check answers."""
    page = _page_arg(args[0], len(_edit_pages(ctx, B_STORES))) if len(args) == 1 else None
    if page is None:
        return _sc_stale(out, ctx)
    out.screens.append(sc_edit_screen(out, ctx, page))
    return out


def press_sc_question(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """One self-check question (from 上一题 or from the summary)."""
    keys = _sc_keys(ctx)
    if len(args) not in (1, 2) or args[0] not in keys or args[1:] not in ((), (REVIEW,)):
        return _sc_stale(out, ctx)
    out.screens.append(sc_question_screen(out, ctx, args[0], review=len(args) == 2))
    return out


def press_sc_answer(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Record a self-check answer and move on."""
    keys = _sc_keys(ctx)
    if (
        len(args) not in (2, 3)
        or args[0] not in keys
        or args[1] not in ANSWERS
        or args[2:] not in ((), (REVIEW,))
    ):
        return _sc_stale(out, ctx)
    key, answer = args[0], args[1]
    store = keys[key]
    if not isinstance(out.state.data.get(store), dict):
        out.state.data[store] = {}
    out.state.data[store][key] = answer
    if len(args) == 3:
        out.notice = "saved"
        out.screens.append(self_check_screen(out, ctx, edit=True))
        return out
    return _sc_next(out, ctx, key)


def press_sc_next(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """开始 / 继续 (the first unanswered question) or 跳过 (after the given one)."""
    if len(args) > 1 or (args and args[0] not in _sc_keys(ctx)):
        return _sc_stale(out, ctx)
    return _sc_next(out, ctx, args[0] if args else None)


def _sc_next(out: Outcome, ctx: Context, after: str | None) -> Outcome:
    """The next unanswered self-check question, or the summary when all are answered."""
    key = _next_key(_items(ctx, B_STORES), _sc_answered(out.state.data), after)
    if key is None:
        out.notice = "sc_done"
        out.screens.append(self_check_screen(out, ctx, edit=True))
    else:
        out.screens.append(sc_question_screen(out, ctx, key, review=False))
    return out


# --- for /progress ----------------------------------------------------------------------------


def summary(state_data: dict[str, Any], catalog: Any = None) -> dict[str, Any]:
    """Where the merchant stands in stage 2, for the progress screen.

    Returns {"done", "started", "missing", "missing_keys", "route"}: route A is done once a
    candidate is chosen; route B once every self-check and readiness item is answered.
    `missing` holds labels from the content when `catalog` is given, else the keys.
    """
    data = state_data if isinstance(state_data, dict) else {}
    chosen_route = data.get("route") if data.get("route") in route.ROUTES else None
    cands = _candidates(data)
    sc_items: list[tuple[str, str, str]]  # (store, key, label)
    if catalog is not None:
        cfg = catalog["agency"]
        sc_items = [
            (store, item["key"], item["label"])
            for store, section in B_STORES
            for item in cfg[section]
        ]
    else:
        sc_items = [("self_check", k, k) for k in SELF_CHECK_KEYS]
        sc_items += [("readiness", k, k) for k in READINESS_KEYS]
    answered = _sc_answered(data)
    sc_started = any(answered(store, key) for store, key, _ in sc_items)
    labels: dict[str, str] = {}
    if chosen_route == "platform":
        missing = [(key, label) for store, key, label in sc_items if not answered(store, key)]
        return _summary(chosen_route, not missing, sc_started, missing)
    if catalog is not None:
        labels = dict(catalog["ui"].get("agency_progress") or {})
        labels.setdefault("route", catalog["ui"].get("features", {}).get("route", "route"))
    if chosen_route == "agency":
        done = _chosen(data) is not None
        keys = [] if done else (["candidates"] if not cands else []) + ["chosen"]
        return _summary(chosen_route, done, bool(cands), [(k, labels.get(k, k)) for k in keys])
    started = bool(cands) or sc_started
    return _summary(None, False, started, [("route", labels.get("route", "route"))])


def _summary(
    chosen_route: str | None, done: bool, started: bool, missing: list[tuple[str, str]]
) -> dict[str, Any]:
    """The summary dict."""
    return {
        "route": chosen_route,
        "done": done,
        "started": started,
        "missing": [label for _, label in missing],
        "missing_keys": [key for key, _ in missing],
    }


# --- sample states for content checks ----------------------------------------------------


def check_seeds(catalog: Any) -> list[dict[str, Any]]:
    """States from which every screen of this module is one to three presses away.

    A content check that starts from fresh states cannot reach the comparison or a
    confirmation within its budget (they need stored candidates); starting here, it can.
    Worst cases: the most candidates, names of the longest length full of markup characters,
    every verdict, every red flag answered 是.
    """
    cfg = catalog["agency"]
    crit = [c["key"] for c in cfg["criteria"]]
    flags = [f["key"] for f in cfg["red_flags"]]

    def cand(cid: int, crit_answer: str | None, flag_answer: str | None) -> dict[str, Any]:
        """A candidate with a 40-character name and uniform answers (None: unanswered)."""
        name = (f"{cid}<b>&amp;</b>" * NAME_MAX)[:NAME_MAX]
        return {
            "id": cid,
            "name": name,
            "answers": {k: crit_answer for k in crit} if crit_answer else {},
            "flags": {k: flag_answer for k in flags} if flag_answer else {},
        }

    full = [
        cand(1, "yes", "no"),
        cand(2, "unsure", "yes"),
        cand(3, "no", "unsure"),
        cand(4, "yes", None),
        cand(5, None, None),
    ][: int(cfg.get("max_candidates", 5))]
    mixed = [cand(6, "yes", "no"), cand(7, "yes", "no")]
    mixed[0]["answers"][crit[0]] = "unsure"  # verdict "verify"
    mixed[1]["answers"][crit[0]] = "no"  # verdict "gaps"
    sc = {item["key"]: ANSWERS[i % 3] for i, item in enumerate(cfg["self_check"])}
    ready = {item["key"]: "yes" for item in cfg["readiness"]}
    return [
        {"route": "agency", "agency": {"candidates": full, "chosen": 1, "next_id": 6}},
        {"route": "agency", "agency": {"candidates": mixed, "chosen": None, "next_id": 8}},
        {"route": "platform", "self_check": sc},
        {"route": "platform", "self_check": {k: "yes" for k in sc}, "readiness": ready},
    ]


COMMANDS = {"agency": cmd_agency}
ACTIONS = {
    "agency": press_agency,
    "ag": press_list,
    "agadd": press_add,
    "agstop": press_stop,
    "agc": press_card,
    "agq": press_question,
    "age": press_edit,
    "aga": press_answer,
    "agn": press_next,
    "agcmp": press_compare,
    "agpick": press_pick,
    "agdel": press_delete,
    "sc": press_sc,
    "scq": press_sc_question,
    "sce": press_sc_edit,
    "sca": press_sc_answer,
    "scn": press_sc_next,
}
INPUTS = {NAME_INPUT: on_name}
RAW_INPUTS = {NAME_INPUT}  # a company name may contain 靠谱, 保底…: never a question
