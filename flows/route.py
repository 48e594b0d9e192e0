"""Choosing between the two routes: 托管公司代运营 (agency) and 速卖通全托管 (platform)."""

from __future__ import annotations

from flows.core import Button, Context, Outcome, Screen

ROUTES = ("agency", "platform")


def route_of(out: Outcome) -> str | None:
    """The merchant's route, if chosen."""
    route = out.state.data.get("route")
    return route if route in ROUTES else None


def choice_screen(out: Outcome, *, then: str = "", edit: bool) -> Screen:
    """Both routes side by side, with one button each; `then` is the action to continue with."""
    current = route_of(out)
    rows = tuple(
        (
            Button.of(f"route_{r}", "setroute", r, then)
            if then
            else Button.of(f"route_{r}", "setroute", r),
        )
        for r in ROUTES
    )
    return Screen(
        "route_choice",
        {"current": current, "asked_for": then},
        (*rows, (Button.of("main_menu", "menu"),)),
        edit=edit,
    )


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


def press_route(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """The menu's 选择路线 entry, in place."""
    out.screens.append(choice_screen(out, edit=True))
    return out


def press_setroute(out: Outcome, ctx: Context, args: tuple[str, ...]) -> Outcome:
    """Record the chosen route (nothing else changes), then continue where the merchant was."""
    route = args[0] if args else ""
    if route not in ROUTES:
        out.notice = "stale"
        out.screens.append(choice_screen(out, edit=True))
        return out
    previous = route_of(out)
    out.state.data["route"] = route
    then = args[1] if len(args) > 1 else ""
    out.notice = "saved"
    buttons: list[tuple[Button, ...]] = []
    if then in CONTINUATIONS:
        buttons.append((Button.of(CONTINUATIONS[then], then),))
    else:
        buttons.append((Button.of("next_step", "progress"),))
    buttons.append((Button.of("main_menu", "menu"),))
    out.screens.append(
        Screen("route_set", {"route": route, "previous": previous}, tuple(buttons), edit=True)
    )
    return out


# Actions that may ask for a route first, and the label of the button that continues to them.
CONTINUATIONS = {
    "agency": "continue_agency",
    "docs": "continue_docs",
    "apply": "continue_apply",
}

COMMANDS = {"route": cmd_route}
ACTIONS = {"route": press_route, "setroute": press_setroute}
INPUTS: dict = {}
