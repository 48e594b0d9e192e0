"""The shortlist of route A: candidate agencies as stored, and their figures.

Read by the candidate screens (flows/candidates.py) and by /progress (flows/agency.py); the
figures (answered, score, red flags, verdict) are what the scorecard, the list and the
comparison show. State (other modules read it; keep the shape):

    data["agency"] = {
        "candidates": [{"id": 1, "name": "…", "answers": {key: answer}, "flags": {key: answer}}],
        "chosen": 1 | None,       # a candidate's id
        "next_id": 2,             # ids are never reused, so an old button cannot hit a newcomer
    }

with answer in "yes" | "no" | "unsure": criteria answers under "answers", red-flag answers
under "flags", keyed as in content/agency.yaml. Anything malformed reads as absent.
"""

from __future__ import annotations

import unicodedata
from typing import Any, TypedDict

from flows.core import Button, Context, Outcome
from flows.parsing import strip_invisible
from flows.questionnaire import answers
from flows.state import AgencyRecord, Candidate, MerchantData

NAME_MAX = 40  # characters of a candidate's name


# --- content ----------------------------------------------------------------------------------


def _cfg(ctx: Context) -> dict[str, Any]:
    """content/agency.yaml."""
    cfg: dict[str, Any] = ctx.catalog["agency"]
    return cfg


def max_candidates(ctx: Context) -> int:
    """How many candidates can be compared at once."""
    return int(_cfg(ctx).get("max_candidates", 5))


def criteria_groups(ctx: Context) -> list[dict[str, Any]]:
    """The criteria groups in YAML order, each with its criteria keys."""
    groups: list[dict[str, Any]] = []
    for item in _cfg(ctx)["criteria"]:
        if not groups or groups[-1]["name"] != item["group"]:
            groups.append({"name": item["group"], "criteria": []})
        groups[-1]["criteria"].append(item["key"])
    return groups


# --- the record -------------------------------------------------------------------------------


def _record(data: MerchantData) -> AgencyRecord:
    """The agency record as stored, or an empty one (not stored: viewing changes nothing)."""
    record = data.get("agency")
    if not isinstance(record, dict):
        return {"candidates": [], "chosen": None, "next_id": 1}
    return record


def all_candidates(data: MerchantData) -> list[Candidate]:
    """The candidates, in the order they were added."""
    cands = _record(data).get("candidates")
    return [c for c in cands if isinstance(c, dict)] if isinstance(cands, list) else []


def chosen_id(data: MerchantData) -> int | None:
    """The chosen candidate's id, if it still exists."""
    chosen = _record(data).get("chosen")
    return chosen if any(c.get("id") == chosen for c in all_candidates(data)) else None


def writable(out: Outcome) -> AgencyRecord:
    """The agency record, created in the state if needed."""
    record = out.state.data.get("agency")
    if not isinstance(record, dict):
        record = out.state.data["agency"] = {"candidates": [], "chosen": None, "next_id": 1}
    record.setdefault("candidates", [])
    record.setdefault("chosen", None)
    record.setdefault("next_id", 1)
    return record


def find(out: Outcome, wanted: object) -> Candidate | None:
    """The candidate whose id is `wanted` (a decoded button argument), or None."""
    return next((c for c in all_candidates(out.state.data) if c.get("id") == wanted), None)


def name_key(name: str) -> str:
    """How two names are compared for duplicates: width, case, spaces and invisible marks
    ignored."""
    return "".join(unicodedata.normalize("NFKC", strip_invisible(name)).casefold().split())


class Figures(TypedDict):
    """A candidate's figures (counts of its answers) and the verdict of its scorecard."""

    answered: int
    total: int
    score: int  # criteria answered 是
    score_total: int
    no: int
    unsure: int
    red: int  # red flags answered 是
    red_unsure: int
    red_open: int
    verdict: str  # danger | incomplete | weak | verify | gaps | good


def figures(ctx: Context, cand: Candidate) -> Figures:
    """A candidate's figures: answered, score, red flags, and the verdict of its scorecard."""
    cfg = _cfg(ctx)
    given, flags = answers(cand.get("answers")), answers(cand.get("flags"))
    crit = [given.get(c["key"]) for c in cfg["criteria"]]
    red = [flags.get(f["key"]) for f in cfg["red_flags"]]
    stats: Figures = {
        "answered": sum(a is not None for a in crit + red),
        "total": len(crit) + len(red),
        "score": crit.count("yes"),
        "score_total": len(crit),
        "no": crit.count("no"),
        "unsure": crit.count("unsure") + red.count("unsure"),
        "red": red.count("yes"),
        "red_unsure": red.count("unsure"),
        "red_open": red.count(None),
        "verdict": "",  # decided below, from the counts
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


def view_of(ctx: Context, cand: Candidate, chosen: int | None) -> dict[str, Any]:
    """What templates need about one candidate."""
    return {
        "id": cand.get("id"),
        "name": str(cand.get("name", "")),
        "answers": answers(cand.get("answers")),
        "flags": answers(cand.get("flags")),
        "chosen": cand.get("id") == chosen,
        **figures(ctx, cand),
    }


def candidate_button(ctx: Context, cand: Candidate, chosen: int | None) -> Button:
    """A candidate's button: its (shortened) name, ⭐ if chosen, a mark for red flags."""
    return Button.of(
        "ag_candidate",
        "agc",
        cand.get("id"),
        name=str(cand.get("name", "")),
        chosen=cand.get("id") == chosen,
        red=figures(ctx, cand)["red"],
    )
