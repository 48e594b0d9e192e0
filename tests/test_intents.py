"""Tests for the free-text intent matcher and the real content/zh-CN/intents.yaml."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.intents import MAX_MATCH_CHARS, Intent, IntentMatcher, _converter

INTENTS_YAML = Path(__file__).parents[1] / "content" / "zh-CN" / "intents.yaml"

REQUIRED_NAMES = (
    "ship",
    "warehouse",
    "docs",
    "review_time",
    "status",
    "cost",
    "agency_trust",
    "route",
    "apply",
    "progress",
    "reminders",
    "privacy",
    "help",
    "menu",
    "greeting",
    "thanks",
    "rejected",
    "after_approval",
    "fraud_help",
)

LONG_UNRELATED = (
    "昨天我们全家去公园散步，天气很好，孩子们在草地上玩得很开心。晚上回家做了红烧肉和青菜，"
    "大家吃得很满足。饭后一起看了一部老电影，讲的是一个小镇上的故事，结局有点伤感。"
) * 8


@pytest.fixture(scope="module")
def matcher() -> IntentMatcher:
    """Load the real YAML once for the module."""
    return IntentMatcher.from_data(yaml.safe_load(INTENTS_YAML.read_text(encoding="utf-8")))


CASES: list[tuple[str, str | None]] = [
    # ship
    ("怎么发货", "ship"),
    ("如何发货？", "ship"),
    ("发货流程", "ship"),
    ("怎麼發貨", "ship"),
    ("订单怎么寄", "ship"),
    ("运单怎么打", "ship"),
    ("怎么打印运单", "ship"),
    ("發貨步驟是什麼", "ship"),
    ("怎么标记发货", "ship"),
    ("物流怎么选", "ship"),
    ("包装有什么要求", "ship"),
    ("怎么发快递", "ship"),
    ("发货要注意什么", "ship"),
    ("咋发货", "ship"),
    ("请问一下发货怎么操作", "ship"),
    ("你好，怎么发货", "ship"),
    ("老师你好，出单了以后要怎么处理？", "ship"),
    ("shipping怎么弄", "ship"),
    ("How to ship", "ship"),
    ("🚚 怎 么 发 货 🙏", "ship"),
    ("ＳＨＩＰＰＩＮＧ", "ship"),
    ("哪家物流靠谱", "ship"),
    ("运单号填错了怎么办", "ship"),
    # warehouse (checked before ship)
    ("备货单怎么处理", "warehouse"),
    ("怎么创建发货单", "warehouse"),
    ("箱嘜怎麼打", "warehouse"),
    ("送仓", "warehouse"),
    ("入仓要注意什么", "warehouse"),
    ("到仓质检不合格怎么办", "warehouse"),
    ("怎么预约揽收", "warehouse"),
    ("JIT订单怎么处理", "warehouse"),
    # docs
    ("要准备什么资料", "docs"),
    ("需要哪些材料？", "docs"),
    ("营业执照要吗", "docs"),
    ("品牌授权书", "docs"),
    ("资质文件", "docs"),
    ("要準備什麼資料", "docs"),
    ("个体户可以申请吗", "docs"),
    ("资料", "docs"),
    ("审核需要什么资料", "docs"),
    # review_time
    ("审核要多久", "review_time"),
    ("几天能审核完", "review_time"),
    ("什么时候出结果", "review_time"),
    ("审核时间", "review_time"),
    ("審核結果什麼時候出來", "review_time"),
    ("老师你好，请问审核要多久？", "review_time"),
    ("提交了要等多久", "review_time"),
    # status
    ("我的审核结果", "status"),
    ("审核通过了吗", "status"),
    ("审核进度", "status"),
    ("审核没通过怎么办", "rejected"),
    ("我的资料审核通过了吗", "status"),
    ("审核", "status"),
    # cost
    ("多少钱", "cost"),
    ("收费吗", "cost"),
    ("费用多少", "cost"),
    ("保证金多少", "cost"),
    ("服务费怎么算", "cost"),
    ("要交钱吗", "cost"),
    ("全托管要交保证金吗", "cost"),
    ("how much is the fee", "cost"),
    # agency_trust
    ("这家公司靠谱吗", "agency_trust"),
    ("是不是骗子", "agency_trust"),
    ("代运营可靠吗", "agency_trust"),
    ("有人说能走内部通道", "agency_trust"),
    ("保底销售额", "agency_trust"),
    ("被骗了怎么办", "fraud_help"),
    ("他们说先交3万保证金，保证月销10万", "agency_trust"),
    ("交了钱就联系不上了", "fraud_help"),
    ("这家公司靠譜嗎？？", "agency_trust"),
    ("怎么选托管公司", "agency_trust"),
    # route
    ("全托管和代运营有什么区别", "route"),
    ("我该选哪个", "route"),
    ("托管是什么意思", "route"),
    ("全托管和代运营哪个靠谱", "route"),
    ("自己做还是找代运营", "route"),
    ("我想了解一下全托管", "route"),
    # apply
    ("怎么申请", "apply"),
    ("如何入驻", "apply"),
    ("怎么加入全托管", "apply"),
    ("申请表怎么填", "apply"),
    ("入驻条件是什么", "apply"),
    # progress
    ("我到哪一步了", "progress"),
    ("进度", "progress"),
    ("下一步做什么", "progress"),
    ("审核通过后下一步做什么", "after_approval"),
    # reminders
    ("提醒", "reminders"),
    ("别提醒我了", "reminders"),
    ("设置提醒", "reminders"),
    ("不要再发消息了", "reminders"),
    # privacy
    ("删除我的数据", "privacy"),
    ("你们存了我什么信息", "privacy"),
    ("刪除我的數據", "privacy"),
    # help
    ("你能做什么", "help"),
    ("帮助", "help"),
    ("怎么用", "help"),
    ("有什么功能", "help"),
    ("help", "help"),
    # menu
    ("菜单", "menu"),
    ("主菜单", "menu"),
    ("返回", "menu"),
    ("/start", "menu"),
    # greeting
    ("你好", "greeting"),
    ("在吗？", "greeting"),
    ("hi", "greeting"),
    ("Hello!", "greeting"),
    ("ＨＥＬＬＯ", "greeting"),
    ("老师你好", "greeting"),
    ("👋您好😊", "greeting"),
    # must not match anything
    ("今天天气不错", None),
    ("哈哈", None),
    ("哈哈哈哈哈", None),
    ("123456", None),
    ("<b>hi</b>", None),
    ("我想吃饭", None),
    ("你好，我想吃饭", None),
    (LONG_UNRELATED, None),
    ("谢谢", "thanks"),
    ("好的👌", None),
    ("ok", None),
    ("hello world", None),
    ("https://example.com/abc", None),
    ("这部电影真好看，推荐你去看", None),
    ("。。。！？", None),
    ("😂😂😂", None),
    ("", None),
    ("   \n\t ", None),
    # a buyer tracking a parcel is not asking how to ship (decision: no intent, bot shows menu)
    ("发货了吗我的快递到哪了", None),
    ("卖家什么时候发货", None),
    ("买家说还没收到货", None),
    ("我的包裹在哪", None),
]


def test_case_table_is_large_enough() -> None:
    """The table covers every intent, many phrasings and many non-matches."""
    assert len(CASES) >= 60
    assert sum(1 for _, expected in CASES if expected is None) >= 12
    assert {expected for _, expected in CASES if expected} == set(REQUIRED_NAMES)


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_match(matcher: IntentMatcher, text: str, expected: str | None) -> None:
    """Each real-world phrasing maps to its intent (or to nothing)."""
    assert matcher.match(text) == expected


def test_required_names_exist(matcher: IntentMatcher) -> None:
    """Every intent the bot's code relies on is defined."""
    assert set(REQUIRED_NAMES) <= set(matcher.names)
    assert isinstance(matcher.names, tuple)


def test_order_is_priority(matcher: IntentMatcher) -> None:
    """Overlapping intents are ordered: warehouse before ship, greeting last."""
    names = matcher.names
    assert names.index("warehouse") < names.index("ship")
    assert names[-1] == "greeting"


def test_normalise(matcher: IntentMatcher) -> None:
    """NFKC, Traditional→Simplified, lower case, no spaces/punctuation/emoji."""
    assert matcher.normalise("老師你好，怎麼發貨？🙏") == "老师你好怎么发货"
    assert matcher.normalise("ＳＨＩＰ ｉｎｇ!") == "shiping"
    assert matcher.normalise(" a\u3000b\tc\n") == "abc"
    assert matcher.normalise("<b>Hi</b>") == "bhib"
    assert matcher.normalise("") == ""


def test_converter_created_once() -> None:
    """The OpenCC converter is shared."""
    assert _converter() is _converter()


def test_huge_input_completes(matcher: IntentMatcher) -> None:
    """A 100,000-character input is capped and returns (no timing assertion)."""
    assert matcher.match("今天天气不错" * 20_000) is None
    assert matcher.match("怎么发货" + "啊" * 100_000) == "ship"
    assert matcher.match("你好" * 50_000) is None  # not "mostly a greeting": a wall of text
    assert matcher.match("啊" * 100_000 + "怎么发货") is None  # beyond the examined prefix
    for text in ("发" * 100_000, "审核" * 50_000, "a" * 100_000, "🙂" * 100_000):
        matcher.match(text)  # completes; the result does not matter


def test_examined_prefix_is_capped(matcher: IntentMatcher) -> None:
    """Only the first MAX_MATCH_CHARS normalised characters are examined."""
    pad = "天" * (MAX_MATCH_CHARS - 4)
    assert matcher.match(pad + "怎么发货") == "ship"
    assert matcher.match(pad + "天怎么发货") is None


# --- validation -----------------------------------------------------------------------------


def _data(*intents: dict[str, Any]) -> dict[str, Any]:
    """Wrap intents in the YAML top-level shape."""
    return {"intents": list(intents)}


def test_first_match_wins_and_exclude() -> None:
    """YAML order is priority; an exclude hit skips the intent."""
    m = IntentMatcher.from_data(
        _data(
            {"name": "a", "patterns": ["发货"], "exclude": ["到哪"]},
            {"name": "b", "patterns": ["发", "快递"]},
        )
    )
    assert m.names == ("a", "b")
    assert m.match("怎么发货") == "a"
    assert m.match("发货了吗快递到哪了") == "b"
    assert m.match("天气") is None


def test_traditional_pattern_is_converted() -> None:
    """An operator may write a pattern in Traditional characters."""
    m = IntentMatcher.from_data(_data({"name": "a", "patterns": ["發貨"]}))
    assert m.match("怎么发货") == "a"


def test_intent_is_frozen() -> None:
    """Intent is an immutable value."""
    m = IntentMatcher.from_data(_data({"name": "a", "patterns": ["x"]}))
    intent = m.intents[0]
    assert isinstance(intent, Intent)
    assert intent.exclude == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        intent.name = "b"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        (_data({"name": "ship", "patterns": ["怎么(发货"]}), ["'ship'", "怎么(发货", "invalid"]),
        (_data({"name": "ship", "patterns": ["ok"], "exclude": ["[a-"]}), ["'ship'", "[a-"]),
        (_data({"patterns": ["发货"]}), ["#1", "missing 'name'"]),
        (_data({"name": "", "patterns": ["发货"]}), ["#1", "missing 'name'"]),
        (
            _data({"name": "a", "patterns": ["x"]}, {"name": "a", "patterns": ["y"]}),
            ["duplicate", "'a'", "#2"],
        ),
        (_data({"name": "a"}), ["'a'", "missing 'patterns'"]),
        (_data({"name": "a", "patterns": []}), ["'a'", "empty"]),
        (_data({"name": "a", "patterns": "发货"}), ["'a'", "must be a list"]),
        (_data({"name": "a", "patterns": [123]}), ["'a'", "123"]),
        (_data({"name": "a", "patterns": ["x"], "exlude": ["y"]}), ["'a'", "exlude"]),
        (_data({"name": "Ship It", "patterns": ["x"]}), ["#1", "Ship It"]),
        (_data({"name": "a", "patterns": ["(?:a+)+b"]}), ["'a'", "(?:a+)+b", "slow"]),
        (_data({"name": "a", "patterns": ["x|"]}), ["'a'", "x|", "empty"]),
        (_data({"name": "a", "patterns": ["怎么 发货"]}), ["'a'", "怎么 发货", "never match"]),
        (_data({"name": "a", "patterns": ["发货？"]}), ["'a'", "发货？"]),
        (_data("not a mapping"), ["#1"]),
        ({"intent": []}, ["'intents:'"]),
        ({"intents": []}, ["non-empty"]),
        (None, ["'intents:'"]),
        (["ship"], ["'intents:'"]),
    ],
)
def test_bad_yaml_raises_readable_error(data: Any, fragments: list[str]) -> None:
    """Invalid data raises ValueError naming the intent and the bad pattern."""
    with pytest.raises(ValueError) as info:
        IntentMatcher.from_data(data)
    message = str(info.value)
    for fragment in fragments:
        assert fragment in message, message


def test_bad_yaml_text_from_operator() -> None:
    """A realistic operator mistake in YAML text is reported with the intent's name."""
    text = """
intents:
  - name: ship
    patterns:
      - '怎么发货'
  - name: docs
    patterns:
      - '资料(准备'
"""
    with pytest.raises(ValueError, match=r"intent 'docs'.*资料\(准备"):
        IntentMatcher.from_data(yaml.safe_load(text))
