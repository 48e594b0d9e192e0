"""Choosing between the two routes: 托管公司代运营 (agency) and 速卖通全托管 (platform)."""

from __future__ import annotations

from flows.core import Button, Context, Outcome, Screen
from flows.feature import Action, Condition, Feature, choice
from flows.state import MerchantData

ROUTES = ("agency", "platform")


def route_of(out: Outcome) -> str | None:
    """The merchant's route, if chosen."""
    route = out.state.data.get("route")
    return route if route in ROUTES else None


def on_route(chosen: str) -> Condition:
    """The condition of one route's own actions (flows.feature.requiring): an old button of
    the other route, pressed after switching, gets the stale answer."""

    def holds(data: MerchantData) -> bool:
        return data.get("route") == chosen

    return holds


def choice_screen(out: Outcome, *, then: str = "", edit: bool, detail: bool = False) -> Screen:
    """The route choice; `then` is the action to continue with once a route is chosen.

    Short form (route_choice): one line per route and who it suits, or, when an action asked
    for a route (`then`), a compact question. Both offer 详细对比: the long side-by-side
    comparison (route_detail), which has the same route buttons and 返回 to the short form.
    """
    current = route_of(out)
    tail = (then,) if then else ()
    routes = tuple(Button.of(f"route_{r}", "setroute", r, *tail) for r in ROUTES)
    if detail:
        rows = (routes, (Button.of("back", "rts", *tail), Button.of("main_menu", "menu")))
        return Screen("route_detail", {"current": current, "asked_for": then}, rows, edit=edit)
    rows = (
        routes,
        (Button.of("route_detail", "rtd", *tail), Button.of("main_menu", "menu")),
    )
    return Screen("route_choice", {"current": current, "asked_for": then}, rows, edit=edit)


def press_route_detail(out: Outcome, ctx: Context, then: str) -> Outcome:
    """详细对比: the long comparison of both routes, in place (keeping `then`, which is only
    carried along to the route buttons: press_setroute decides what it means)."""
    out.screens.append(choice_screen(out, then=then, edit=True, detail=True))
    return out


def press_route_short(out: Outcome, ctx: Context, then: str) -> Outcome:
    """返回 from the comparison: the short form (or the compact question), in place."""
    out.screens.append(choice_screen(out, then=then, edit=True))
    return out


def require(out: Outcome, then: str, *, edit: bool) -> bool:
    """True if a route is chosen; otherwise show the choice (continuing with `then`)."""
    if route_of(out):
        return True
    out.screens.append(choice_screen(out, then=then, edit=edit))
    return False


def cmd_route(out: Outcome, ctx: Context, args: str) -> Outcome:
    """Show the comparison (also to switch routes)."""
    out.screens.append(choice_screen(out, edit=False))
    return out


def press_route(out: Outcome, ctx: Context) -> Outcome:
    """The menu's 选择路线 entry (and the feature's home), in place."""
    out.screens.append(choice_screen(out, edit=True))
    return out


# Actions that may ask for a route first, and the label of the button that continues to them.
CONTINUATIONS = {
    "agency": "continue_agency",
    "docs": "continue_docs",
    "apply": "continue_apply",
}

SUBMIT_AFTER_ROUTE = "sub"  # setroute continues by recording the kept submission date
# `then`: what to continue with once a route is chosen (see choice_screen)
THEN = choice("then", "", *CONTINUATIONS, SUBMIT_AFTER_ROUTE, optional=True, default="")

FEATURE = Feature(
    "route",
    press_route,
    commands={"route": cmd_route},
    actions=(
        Action("route", press_route),
        Action("rtd", press_route_detail, (THEN,)),
        Action("rts", press_route_short, (THEN,)),
    ),
    stage="route",
)
