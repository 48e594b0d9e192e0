"""Input edges (issue 12, items 7-9): operator ids in digits that are not ASCII, free text
made only of invisible characters, and a button pressed (or a message sent) in a private chat
by someone who is not its owner. Unit tests of the parsers and flows, then end to end over
HTTP against the strict local Bot API server."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from devserver.client import shown_since
from flows import agency, apply, router
from flows.core import Command, Context, MerchantState, OperatorOrder, Press, Text
from flows.parsing import (
    ParseError,
    ascii_int,
    parse_contact,
    parse_date,
    parse_due_date,
    parse_money,
    parse_phone,
    strip_invisible,
    validate_text,
)
from tests.contentkit import callback, data, press, template
from tests.harness import contents, running_bot
from tests.test_e2e_foundation import assert_clean

NOW = datetime(2026, 9, 28, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
CONTENT = contents().default
OPERATOR = 900
STALE = CONTENT.notice("stale")

# Characters that show nothing: zero-width, joiners, direction marks and isolates, BOM, word
# joiner, soft hyphen, Mongolian vowel separator, Hangul fillers, braille blank, and the
# whitespace Telegram lets through (ideographic space, no-break space, thin spaces...).
INVISIBLE = (
    "\u200b\u200c\u200d\u2060\ufeff\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    "\u00ad\u180e\u115f\u1160\u3164\uffa0\u2800\u034f\ufe0f"
    "\u3000\u00a0\u2002\u2003\u2009\u200a\u202f\u205f\u2028\u2029\t\n"
)
BLANKS = [
    *INVISIBLE,
    "\u200b\u200b\u200b",
    "\u3164\u3164",
    "\u2800 \u2800",
    "\u202e\u2066\u2069\u202c",
    "\ufeff\u3000\u200d",
    INVISIBLE,
]


# --- item 7: ascii_int and the operator's ids --------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        (" 501 ", 501),
        ("０１２", 12),  # full-width digits
        ("\u200e12345", 12345),  # a pasted direction mark
        ("007", 7),
        ("0", 0),
        ("²", None),
        ("①②", None),
        ("1²", None),
        ("٣", None),  # Arabic-Indic digit: isdigit() and even int() accept it
        ("१२", None),  # Devanagari digits
        ("𝟏𝟐", None),  # mathematical bold digits
        ("-1", None),
        ("+1", None),
        ("1 2", None),
        ("1.0", None),
        ("", None),
        ("\u200b", None),
        ("1" * 19, None),
    ],
)
def test_ascii_int_takes_only_plain_digits(text, expected):
    assert ascii_int(text) == expected


def test_ascii_int_limits_the_length():
    assert ascii_int("1" * 15, max_digits=15) == int("1" * 15)
    assert ascii_int("1" * 16, max_digits=15) is None


def operator_ctx() -> Context:
    return Context(CONTENT.catalog, NOW, True)


@pytest.mark.parametrize(
    "command",
    [
        ("setstatus", "² approved"),
        ("setstatus", "①② approved"),
        ("setstatus", "١٢ approved"),
        ("setstatus", "1² approved 备注"),
        ("merchant", "²"),
        ("merchant", "①"),
        ("merchant", "٣"),
    ],
)
def test_operator_ids_in_other_digits_get_the_usage_text(command):
    name, args = command
    out = router.handle(MerchantState(OPERATOR), Command(name, args), operator_ctx())
    assert out.effect(OperatorOrder) is None
    [screen] = out.screens
    assert screen.template == "operator_usage"
    assert screen.data["error"] == "bad_user"


def test_operator_ids_in_full_width_digits_are_read():
    ctx = operator_ctx()
    out = router.handle(MerchantState(OPERATOR), Command("setstatus", "５０１ approved"), ctx)
    assert out.effect(OperatorOrder) == OperatorOrder(
        "setstatus", 501, "approved", "", f"operator:{OPERATOR}"
    )
    out = router.handle(MerchantState(OPERATOR), Command("merchant", "\u200e５０１"), ctx)
    assert out.effect(OperatorOrder) == OperatorOrder("merchant", 501)


def test_operator_note_loses_its_invisible_characters():
    ctx = operator_ctx()
    args = "501 need_more 请补充\u200b品牌授权书\u2060"
    out = router.handle(MerchantState(OPERATOR), Command("setstatus", args), ctx)
    assert out.effect(OperatorOrder).note == "请补充品牌授权书"
    out = router.handle(MerchantState(OPERATOR), Command("setstatus", "501 approved \u200b"), ctx)
    assert out.effect(OperatorOrder).note == ""


# --- item 8: invisible characters in free text -------------------------------------------


@pytest.mark.parametrize("text", BLANKS)
def test_strip_invisible_leaves_only_whitespace_of_a_blank(text):
    assert strip_invisible(text).strip() == ""


@pytest.mark.parametrize("text", BLANKS)
def test_validate_text_refuses_invisible_only_text_as_empty(text):
    with pytest.raises(ParseError) as err:
        validate_text(text, max_len=40)
    assert err.value.code == "empty"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("星河\u200b家居", "星河家居"),
        ("\u202e星河家居\u202c", "星河家居"),
        ("\ufeff星河\u2060家居\u200d", "星河家居"),
        ("星河\u3164家居", "星河家居"),
        ("星河\u3000\u200b 家居", "星河 家居"),
        ("A\u00adB", "AB"),
        # what makes an emoji stays: presentation selector, joiners between emoji, flag tags
        ("❤\ufe0f 家居", "❤\ufe0f 家居"),
        ("👨\u200d👩\u200d👧 家居", "👨\u200d👩\u200d👧 家居"),
        ("👩🏽\u200d💻 工作室", "👩🏽\u200d💻 工作室"),
        (
            "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f 店",
            "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f 店",
        ),
        # ... and nothing else does
        ("\ufe0f家居", "家居"),
        ("家\u200d居", "家居"),
    ],
)
def test_validate_text_strips_invisible_characters_inside(text, expected):
    assert validate_text(text, max_len=40) == expected


def test_length_limits_count_what_is_left():
    assert validate_text("星河" + "\u200b" * 50 + "家居", max_len=4) == "星河家居"
    with pytest.raises(ParseError) as err:
        validate_text("星河\u200b家居店", max_len=4)
    assert err.value.code == "too_long" and err.value.details["length"] == 5
    with pytest.raises(ParseError) as err:
        validate_text("星\u200b\u200b", min_len=2, max_len=4)
    assert err.value.code == "too_short" and err.value.details["length"] == 1


@pytest.mark.parametrize(
    "parse",
    [
        parse_money,
        parse_phone,
        parse_contact,
        lambda t: parse_date(t, date(2026, 9, 28)),
        lambda t: parse_due_date(t, date(2026, 9, 28)),
    ],
)
@pytest.mark.parametrize("text", ["\u200b", "\u3164", "\u2800\u3000", "\u202e\ufeff"])
def test_parsers_refuse_invisible_only_text_as_empty(parse, text):
    with pytest.raises(ParseError) as err:
        parse(text)
    assert err.value.code == "empty"


def test_parsers_ignore_invisible_characters_inside():
    assert parse_money("\u200b5万\u200e") == 50_000
    assert parse_phone("138\u200b0013\u20608000") == "13800138000"
    assert parse_contact("微信 \u200babc123") == ("wechat", "abc123")
    assert parse_due_date("\u202a2026-12-15\u202c", date(2026, 9, 28)) == date(2026, 12, 15)


@pytest.mark.parametrize("text", BLANKS)
def test_application_text_fields_refuse_invisible_only_text(text):
    for field in apply.fields(Context(CONTENT.catalog, NOW)):
        with pytest.raises(ParseError) as err:
            apply._validate(field, text)
        assert err.value.code == "empty", (field["key"], text)


def test_application_shop_name_is_saved_without_invisible_characters():
    [shop] = [f for f in apply.fields(Context(CONTENT.catalog, NOW)) if f["key"] == "shop_name"]
    assert apply._validate(shop, "\u200b星河\u200b家居\u200f") == "星河家居"


def agency_session() -> tuple[Context, MerchantState]:
    """A route-A merchant standing at the 添加 prompt of /agency."""
    ctx = Context(CONTENT.catalog, NOW)
    state = MerchantState(7, created=False, data={"route": "agency"})
    out = router.handle(state, Press("agadd", ()), ctx)
    assert out.state.data["input"]["kind"] == agency.NAME_INPUT
    return ctx, out.state


@pytest.mark.parametrize("text", BLANKS)
def test_agency_name_of_invisible_characters_is_not_saved(text):
    ctx, state = agency_session()
    out = router.handle(state, Text(text), ctx)
    [screen] = out.screens
    assert screen.template == "agency_name" and screen.data["error"] == "empty"
    assert agency._candidates(out.state.data) == []
    assert out.state.data["input"]["kind"] == agency.NAME_INPUT  # still waiting for a name


def test_agency_name_is_saved_without_invisible_characters_and_compared_so():
    ctx, state = agency_session()
    state = router.handle(state, Text("星河\u200b家居"), ctx).state
    assert [c["name"] for c in agency._candidates(state.data)] == ["星河家居"]
    state = router.handle(state, Press("agadd", ()), ctx).state
    out = router.handle(state, Text("\u2060星河家居\u200e"), ctx)
    [screen] = out.screens
    assert screen.data["error"] == "duplicate"
    assert len(agency._candidates(out.state.data)) == 1


def test_agency_name_limit_counts_visible_characters():
    ctx, state = agency_session()
    name = "家" * agency.NAME_MAX
    out = router.handle(state, Text("\u200b".join(name)), ctx)
    assert [c["name"] for c in agency._candidates(out.state.data)] == [name]


# --- end to end ----------------------------------------------------------------------------


async def test_e2e_operator_ids_in_other_digits_get_the_usage(server, tmp_path):
    async with running_bot(server, tmp_path / "db", admin_ids=frozenset({OPERATOR})) as bot:
        m = bot.merchant(1201)
        await m.send("/route")
        await press(m, "route_platform")  # a result needs a route (and a submission on it)
        op = bot.merchant(OPERATOR)
        for command in (
            "/setstatus ² approved",
            "/setstatus ①② approved",
            "/setstatus ١٢٠١ approved",
            "/merchant ²",
            "/merchant ①",
        ):
            [reply] = await op.send(command)
            assert template(reply) == "operator_usage", (command, reply.text)
            assert data(reply)["error"] == "bad_user", (command, reply.text)
        stored = await bot.store.load_merchant(1201)
        assert "status" not in stored.data or stored.data.get("status") in (None, "")
        # full-width digits are the same id
        [card] = await op.send("/merchant １２０１")
        assert template(card) == "merchant_card" and "1201" in card.text
        [done] = await op.send("/setstatus １２０１ submitted")
        assert template(done) == "operator_done" and data(done)["status"] == "submitted"
        assert (await bot.store.load_merchant(1201)).data["status"] == "submitted"
    assert_clean(server)


async def test_e2e_invisible_names_and_answers_are_refused_or_cleaned(bot, server):
    m = bot.merchant(1301)
    await m.send("/route")
    await press(m, "route_agency")
    await m.send("/agency")
    [prompt] = await press(m, "ag_add")
    assert template(prompt) == "agency_name"
    for text in (
        "\u200b\u200c\u200d",
        "\u2060\ufeff",
        "\u200e\u200f\u202a\u202e\u2066\u2069",
        "\u3000\u3164",
        "\u2800",
    ):
        [refused] = await m.send(text)
        assert template(refused) == "agency_name", (text, refused.text)
        assert data(refused)["error"] == "empty", (text, refused.text)
        stored = await bot.store.load_merchant(m.user_id)
        assert agency._candidates(stored.data) == [], text
    [question] = await m.send("星河\u200b家居")
    assert "星河家居" in question.text
    stored = await bot.store.load_merchant(m.user_id)
    assert [c["name"] for c in agency._candidates(stored.data)] == ["星河家居"]

    # the application form: a shop name of only invisible characters is an empty answer
    a = bot.merchant(1302)
    await a.send("/apply")
    await press(a, "route_platform")
    [first] = await press(a, "continue_apply")
    assert form_item(first) == (1, 4, None)
    [again] = await a.send("\u200b\u2060\u3164")
    assert form_item(again) == (1, 4, "empty")
    [second] = await a.send("\u202e星河\u200b家居\u202c")
    assert form_item(second) == (2, 4, None)
    [again] = await a.send("\u2800\u200d")
    assert form_item(again) == (2, 4, "empty")
    fields = (await bot.store.load_merchant(a.user_id)).data["application"]["fields"]
    assert fields == {"shop_name": "星河家居"}
    assert_clean(server)


def form_item(shown) -> tuple[int, int, str | None]:
    """(item number, items, error) of an application form question."""
    assert template(shown) == "apply_prompt", shown.text
    return data(shown)["index"], data(shown)["total"], data(shown).get("error") or None


def calls_since(server, since: int) -> list:
    """The bot's calls since a mark, polling left out."""
    return [c for c in server.calls[since:] if c.method != "getUpdates"]


async def test_e2e_a_button_pressed_by_someone_else_changes_nothing(bot, server):
    owner, other = bot.merchant(1401), bot.merchant(1402)
    [choice] = await owner.send("/route")
    await other.send("/start")
    before_owner = await bot.store.export_merchant(owner.user_id)
    before_other = await bot.store.export_merchant(other.user_id)
    assert before_other["merchant"]["chat_id"] == other.user_id

    since = server.mark()
    update = server.user_clicks(
        owner.user_id,
        choice.message_id,
        callback(choice, "route_agency"),
        from_user=other.user_id,
    )
    await bot.tracker.wait(update["update_id"])
    calls = calls_since(server, since)
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params.get("text") == STALE
    assert shown_since(server, since) == []
    after_owner = await bot.store.export_merchant(owner.user_id)
    after_other = await bot.store.export_merchant(other.user_id)
    assert after_other["merchant"]["chat_id"] == other.user_id  # reminders still go to them
    assert after_other == before_other and after_owner == before_owner
    assert "route" not in after_other["merchant"]["state"]
    assert "route" not in after_owner["merchant"]["state"]

    # a message in the owner's chat claiming to come from someone else is ignored too
    since = server.mark()
    update = server.user_sends_text(owner.user_id, "/route", from_user=other.user_id)
    await bot.tracker.wait(update["update_id"])
    assert calls_since(server, since) == []
    assert await bot.store.export_merchant(other.user_id) == before_other
    assert await bot.store.export_merchant(owner.user_id) == before_owner

    # the owner's own press still works
    [chosen] = await press(owner, "route_agency", on=choice)
    assert chosen.edited and template(chosen) == "route_set"
    assert (await bot.store.load_merchant(owner.user_id)).data["route"] == "agency"
    assert "route" not in (await bot.store.load_merchant(other.user_id)).data
    assert_clean(server)
