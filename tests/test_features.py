"""Features declare themselves (flows.feature): typed arguments decoded in one place, one stale
answer per feature, and diagrams generated from the declarations that never drift."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot import diagrams
from flows import router
from flows.core import MerchantState, Outcome, Press
from flows.feature import Action, Feature, choice, merge, number, token
from tests.flowkit import context, state_with

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CTX = context(NOW)


def _noop(out: Outcome, ctx: object, *args: object) -> Outcome:
    out.notice = repr(args)
    return out


def _decode(*args: object) -> tuple[object, ...] | None:
    action = Action(
        "t",
        _noop,
        (number("n", 1, 30), choice("c", "a", "b"), token("k", optional=True, default="-")),
    )
    return action.decode(tuple(str(a) for a in args))


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        (("1", "a"), (1, "a", "-")),
        (("30", "b", "x_1.2~3#4/5-6"), (30, "b", "x_1.2~3#4/5-6")),
        (("0", "a"), None),  # below the range
        (("31", "a"), None),
        (("１", "a"), None),  # a full-width digit is no number here
        (("-1", "a"), None),
        (("1", "c"), None),  # not one of the choices
        (("1",), None),  # a required argument missing
        (("1", "a", "k", "extra"), None),
        (("1", "a", "有中文"), None),  # a token is ASCII
        (("1", "a", "x" * 49), None),
        (("1", "a", ""), None),
    ],
)
def test_arguments_are_decoded_against_the_declaration(raw, decoded):
    assert _decode(*raw) == decoded


def test_optional_arguments_must_come_last():
    with pytest.raises(ValueError, match="optional"):
        Action("t", _noop, (token("a", optional=True), token("b")))


def test_a_name_declared_twice_is_refused():
    home = router.press_menu
    one = Feature("one", home, actions=(Action("x", _noop),))
    two = Feature("two", home, actions=(Action("x", _noop),))
    with pytest.raises(RuntimeError, match="redefines"):
        merge((one, two))


def test_a_feature_with_actions_needs_a_home():
    with pytest.raises(ValueError, match="home"):
        Feature("homeless", None, actions=(Action("x", _noop),))


def test_the_handler_receives_typed_arguments():
    feature = Feature("f", router.press_menu, actions=(Action("t", _noop, (number("n", 1, 9),)),))
    out = feature.press(feature.actions[0], Outcome(state_with()), CTX, ("7",))
    assert out.notice == "(7,)"


SEEDS = [
    MerchantState(7, created=False),
    state_with(route="agency"),
    state_with(route="platform", submitted_on="2026-11-20", status="reviewing"),
]


@pytest.mark.parametrize("name", sorted(router.ACTIONS))
def test_every_action_answers_a_forged_argument_with_its_features_one_stale_answer(name):
    feature, action = router.ACTIONS[name]
    for state in SEEDS:
        forged = router.handle(state, Press(name, ("forged!",) * (len(action.args) + 1)), CTX)
        home = feature.home(Outcome(state.copy()), CTX) if feature.home else None
        assert forged.notice == "stale", (name, state.data)
        assert home is not None
        assert [s.template for s in forged.screens] == [s.template for s in home.screens]
        assert _meaningful(forged.state.data) == _meaningful(state.data)  # nothing changed


def _meaningful(value: object) -> object:
    """The data without the empty records a screen creates when it is first shown."""
    if isinstance(value, dict):
        kept = {k: _meaningful(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    return value


def test_every_command_and_action_belongs_to_exactly_one_feature():
    commands = [c for f in router.FEATURES for c in f.commands]
    actions = [a.name for f in router.FEATURES for a in f.actions]
    assert len(commands) == len(set(commands)) == len(router.COMMANDS)
    assert len(actions) == len(set(actions)) == len(router.ACTIONS)


def test_the_checked_in_diagrams_are_current(capsys):
    # the same check `make test` runs; regenerate with `python -m bot.diagrams`
    assert diagrams.main(["--check"]) == 0, capsys.readouterr().err
