"""The shipping guides: the seller guide's seven steps and the full-managed warehouse guide."""

from __future__ import annotations

from flows.core import Button, Context, Outcome, Screen
from flows.feature import Action, Feature, choice, number

# Short guide codes keep callback data small and stable; names index content/shipping.yaml.
GUIDES = {"s": "seller", "w": "warehouse"}


def step_count(ctx: Context, code: str) -> int:
    """How many steps the guide has."""
    return len(ctx.catalog.guide(GUIDES[code])["steps"])


def step_screen(ctx: Context, code: str, step: int, *, edit: bool) -> Screen:
    """One step of a guide, with 上一步 / 下一步 / 目录 / 主菜单."""
    total = step_count(ctx, code)
    nav: list[Button] = []
    if step > 1:
        nav.append(Button.of("prev", "ship", code, step - 1))
    if step < total:
        nav.append(Button.of("next", "ship", code, step + 1))
    rows: list[tuple[Button, ...]] = [tuple(nav)] if nav else []
    if step == total and code == "s":
        rows.append((Button.of("warehouse_guide", "ship", "w", 1),))
    rows.append((Button.of("contents", "shipx", code), Button.of("main_menu", "menu")))
    return Screen(
        "ship_step",
        {"guide": GUIDES[code], "step": step, "total": total},
        tuple(rows),
        edit=edit,
    )


def index_screen(ctx: Context, code: str, *, edit: bool) -> Screen:
    """The guide's table of contents: one button per step."""
    steps = ctx.catalog.guide(GUIDES[code])["steps"]
    rows = [
        (Button.of("step_n", "ship", code, i, n=i, title=s["title"]),)
        for i, s in enumerate(steps, start=1)
    ]
    other = "w" if code == "s" else "s"
    rows.append((Button.of("warehouse_guide" if other == "w" else "seller_guide", "shipx", other),))
    rows.append((Button.of("main_menu", "menu"),))
    return Screen("ship_index", {"guide": GUIDES[code]}, tuple(rows), edit=edit)


def open_guide(outcome: Outcome, ctx: Context, code: str = "s") -> Outcome:
    """Open a guide at its first step in a new message (a new topic)."""
    outcome.screens.append(step_screen(ctx, code, 1, edit=False))
    return outcome


def press_step(outcome: Outcome, ctx: Context, code: str, step: int) -> Outcome:
    """Show the pressed step; a step the guide no longer has falls back to its contents."""
    if step > step_count(ctx, code):
        outcome.notice = "stale"
        outcome.screens.append(index_screen(ctx, code, edit=True))
        return outcome
    outcome.screens.append(step_screen(ctx, code, step, edit=True))
    return outcome


def press_index(outcome: Outcome, ctx: Context, code: str) -> Outcome:
    """Show a guide's contents in place."""
    outcome.screens.append(index_screen(ctx, code, edit=True))
    return outcome


def cmd_ship(outcome: Outcome, ctx: Context, args: str) -> Outcome:
    """/ship: the seller guide at step 1, in a new message."""
    return open_guide(outcome, ctx)


def home(outcome: Outcome, ctx: Context) -> Outcome:
    """The seller guide's contents, in place."""
    return press_index(outcome, ctx, "s")


def press_first(outcome: Outcome, ctx: Context) -> Outcome:
    """The menu's 发货 entry: the guide's first step, in place."""
    outcome.screens.append(step_screen(ctx, "s", 1, edit=True))
    return outcome


GUIDE = choice("guide", *GUIDES)
FEATURE = Feature(
    "shipping",
    home,
    commands={"ship": cmd_ship},
    actions=(
        Action("ship", press_step, (GUIDE, number("step", 1, 99))),
        Action("shipx", press_index, (GUIDE,)),
        Action("ship1", press_first),
    ),
)
