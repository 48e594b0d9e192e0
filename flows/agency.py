"""Stage 2 of the journey (/agency): choosing an agency (route A) or the self-check (route B).

Route A (托管公司代运营): the merchant adds up to `max_candidates` agencies by name, answers
the criteria of content/agency.yaml (是 / 否 / 不确定) and its red-flag questions for each,
reads a scorecard per candidate and a side-by-side comparison, and marks one as chosen.
Route B (速卖通全托管): the eligibility self-check and the shop-readiness checklist, answered
the same way, with a summary of what to improve.

This module is the topic's door: its entry, its part of /progress, the content check's seed
states, and the tables the router registers. The rest lives by concern:

    flows/shortlist.py      data["agency"] (the candidates, the chosen one) and their figures
    flows/candidates.py     route A's screens and buttons (ag, agadd, agc, agq, aga, …)
    flows/selfcheck.py      route B: data["self_check"], data["readiness"] (sc, scq, sca, …)
    flows/questionnaire.py  the question machine both routes are built on

each stating its state shape and callback grammar. This module's own callback data:

    agency               entry: route choice, the candidate list or the self-check by route
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flows import candidates, route, selfcheck
from flows.candidates import NAME_INPUT, open_topic
from flows.core import Context, Outcome
from flows.feature import Action, Feature
from flows.questionnaire import ANSWERS
from flows.shortlist import NAME_MAX, chosen_id
from flows.shortlist import all_candidates as _candidates  # tests read agency._candidates
from flows.state import Candidate, MerchantData

if TYPE_CHECKING:
    from flows.catalog import Catalog


def cmd_agency(out: Outcome, ctx: Context, args: str) -> Outcome:
    """/agency: the candidate list (route A) or the self-check (route B), in a new message."""
    return open_topic(out, ctx, edit=False)


def press_agency(out: Outcome, ctx: Context) -> Outcome:
    """The menu's 选托管公司 entry (and 继续 after choosing a route), in place: the topic's
    home for the merchant's route."""
    return open_topic(out, ctx, edit=True)


# --- for /progress ----------------------------------------------------------------------------


def summary(state_data: MerchantData, catalog: Catalog | None = None) -> dict[str, Any]:
    """Where the merchant stands in stage 2, for the progress screen.

    Returns {"done", "started", "missing", "missing_keys", "route"}: route A is done once a
    candidate is chosen; route B once every self-check and readiness item is answered.
    `missing` holds labels from the content when `catalog` is given, else the keys.
    """
    data = state_data if isinstance(state_data, dict) else {}
    chosen_route = data.get("route") if data.get("route") in route.ROUTES else None
    cands = _candidates(data)
    sc_started, sc_missing = selfcheck.standing(data, catalog)
    labels: dict[str, str] = {}
    if chosen_route == "platform":
        return _summary(chosen_route, not sc_missing, sc_started, sc_missing)
    if catalog is not None:
        labels = dict(catalog["ui"].get("agency_progress") or {})
        labels.setdefault("route", catalog["ui"].get("features", {}).get("route", "route"))
    if chosen_route == "agency":
        done = chosen_id(data) is not None
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


# --- sample states for content checks ---------------------------------------------------------


def check_seeds(catalog: Catalog) -> list[MerchantData]:
    """States from which every screen of this topic is one to three presses away.

    A content check that starts from fresh states cannot reach the comparison or a
    confirmation within its budget (they need stored candidates); starting here, it can.
    Worst cases: the most candidates, names of the longest length full of markup characters,
    every verdict, every red flag answered 是.
    """
    cfg = catalog["agency"]
    crit = [c["key"] for c in cfg["criteria"]]
    flags = [f["key"] for f in cfg["red_flags"]]

    def cand(cid: int, crit_answer: str | None, flag_answer: str | None) -> Candidate:
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


FEATURE = Feature(
    "agency",
    press_agency,
    commands={"agency": cmd_agency},
    actions=(Action("agency", press_agency), *candidates.ACTIONS, *selfcheck.ACTIONS),
    inputs={NAME_INPUT: candidates.on_name},
    inputs_when=route.on_route("agency"),  # candidates are route A's
    raw_inputs=frozenset({NAME_INPUT}),  # a company name may contain 靠谱, 保底…: never a question
    stage="qualify",
    seeds=check_seeds,
)
