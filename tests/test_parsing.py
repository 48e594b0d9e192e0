"""Tests for flows.parsing (merchant input parsers)."""

from __future__ import annotations

import pickle
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows import parsing
from flows.parsing import (
    MAX_MONEY_YUAN,
    MIN_DATE,
    ParseError,
    parse_contact,
    parse_date,
    parse_due_date,
    parse_duration,
    parse_email,
    parse_money,
    parse_phone,
    parse_wechat,
    validate_text,
)


@contextmanager
def hang_guard(seconds: int = 20) -> Iterator[None]:
    """Fail instead of hanging forever on catastrophic backtracking (not a speed target:
    a linear pass over these inputs takes milliseconds)."""

    def alarm(signum: int, frame: object) -> None:
        raise AssertionError(f"still running after {seconds} s: catastrophic backtracking?")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


TODAY = date(2026, 11, 27)
HUGE = 100_000

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def code_of(func, *args, **kwargs) -> str:
    with pytest.raises(ParseError) as info:
        func(*args, **kwargs)
    return info.value.code


# --- ParseError ---------------------------------------------------------------------------


def test_parse_error_shape():
    err = ParseError("too_large", max=5)
    assert isinstance(err, ValueError)
    assert err.code == "too_large"
    assert err.details == {"max": 5}
    assert "too_large" in str(err)
    clone = pickle.loads(pickle.dumps(err))
    assert (clone.code, clone.details) == ("too_large", {"max": 5})
    assert ParseError("format").details == {}


# --- money --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("50000", 50_000),
        ("5万", 50_000),
        ("5w", 50_000),
        ("5W", 50_000),
        ("¥50,000", 50_000),
        ("￥5万元", 50_000),
        ("5千", 5_000),
        ("5k", 5_000),
        ("5K", 5_000),
        ("1.5万", 15_000),
        ("50,000元", 50_000),
        ("5 万", 50_000),
        ("约5万", 50_000),
        ("5万元/月", 50_000),
        ("每月5万", 50_000),
        ("５万", 50_000),
        ("５０，０００", 50_000),
        ("  5万  ", 50_000),
        ("月销售额大概5万左右", 50_000),
        ("RMB 50000", 50_000),
        ("50000 CNY", 50_000),
        ("5万块", 50_000),
        ("1万5千", 15_000),
        ("1万5", 15_000),
        ("1万500", 10_500),
        ("2万 5千", 25_000),
        ("5百5", 550),
        ("5百万", 5_000_000),
        ("1千万", 10_000_000),
        ("3亿", 300_000_000),
        ("1亿2000万", 120_000_000),
        ("100亿", MAX_MONEY_YUAN),
        ("10,000,000,000", MAX_MONEY_YUAN),
        ("1.5", 2),  # rounds half up
        ("1234.49", 1234),
        ("1.23456万", 12_346),
        (".5万", 5_000),
        ("1,234.5", 1_235),
        ("5万元整", 50_000),
        ("5十万", 500_000),
        # Chinese numerals (were refused as "format" before issue 8)
        ("五万", 50_000),
        ("十万", 100_000),
        ("一百二十万", 1_200_000),
        ("两万", 20_000),
        ("二十五万", 250_000),
        ("一万五", 15_000),
        ("三千五", 3_500),
        ("一百零五", 105),
        ("一千零五十", 1_050),
        ("一点五万", 15_000),
        ("五万五千", 55_000),
        ("5万五千", 55_000),
        ("一亿二千万", 120_000_000),
        ("壹万", 10_000),
        ("人民币五万元", 50_000),
        ("大概十万左右", 100_000),
        ("五万多", 50_000),
        ("三w", 30_000),
        # units, decimals and currency marks
        ("0.5万", 5_000),
        ("3.5w", 35_000),
        ("5万元", 50_000),
        ("¥ 5万", 50_000),
        ("￥50000", 50_000),
        ("1.5k", 1_500),
        ("1", 1),
        ("1.00", 1),
        ("一", 1),
        ("月均5万", 50_000),
        ("销售额：5万", 50_000),
        ("一个月5万", 50_000),
    ],
)
def test_money_accepted(text, expected):
    assert parse_money(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("\u3000", "empty"),
        ("abc", "format"),
        ("万", "format"),
        ("百万", "format"),
        ("<b>lots</b>", "format"),
        # letters or unknown words around a number (issue 8: "微信 abc123" was ¥123)
        ("微信 abc123", "format"),
        ("abc123", "format"),
        ("123abc", "format"),
        ("5wx", "format"),
        ("5万 微信", "format"),
        ("五块钱", "format"),
        ("约5万吧", "format"),
        ("5万-", "format"),
        ("十十万", "format"),
        ("一二万", "format"),
        ("一万二万", "format"),
        # phone numbers typed in the amount field
        ("+86 138 0013 8000", "phone_like"),
        ("13800138000", "phone_like"),
        ("138 0013 8000", "phone_like"),
        ("138-0013-8000", "phone_like"),
        ("0571-12345678", "phone_like"),
        ("(0571) 1234 5678", "phone_like"),
        ("手机 13800138000", "phone_like"),
        ("+1 415 555 1234", "phone_like"),
        ("0", "not_positive"),
        ("0元", "not_positive"),
        ("零", "not_positive"),
        ("0.4", "too_small"),  # was "not_positive": it is positive, only under one yuan
        ("0.5", "too_small"),  # was accepted as ¥1: amounts are whole yuan
        ("0.01", "too_small"),
        ("0.999", "too_small"),
        ("0.00001万", "too_small"),
        ("-0.5", "not_positive"),
        ("负五万", "not_positive"),
        ("-5万", "not_positive"),
        ("负5万", "not_positive"),
        ("－5000", "not_positive"),
        ("10000000001", "too_large"),
        ("100.1亿", "too_large"),
        ("1万亿", "too_large"),
        ("0.5万亿", "too_large"),
        ("9" * 150, "too_large"),
        ("5万到10万", "ambiguous"),
        ("5-10万", "ambiguous"),
        ("5万~10万", "ambiguous"),
        ("5万 10万", "ambiguous"),
        ("5万，10万", "ambiguous"),
        ("2024年5万", "ambiguous"),
        ("1,2", "ambiguous"),
        ("5,0000", "ambiguous"),
        ("1.2.3", "ambiguous"),
        ("1.5万3千", "ambiguous"),
        ("五万到十万", "ambiguous"),
        ("5万或10万", "ambiguous"),
        ("5万、6万", "ambiguous"),
        ("5万美元", "currency"),
        ("$5000", "currency"),
        ("5000 USD", "currency"),
        ("5" * 201, "too_long"),
        ("x" * HUGE, "too_long"),
    ],
)
def test_money_rejected(text, code):
    assert code_of(parse_money, text) == code


def test_money_too_large_details():
    with pytest.raises(ParseError) as info:
        parse_money("10000000001")
    assert info.value.details == {"max": MAX_MONEY_YUAN, "value": 10_000_000_001}
    with pytest.raises(ParseError) as info:
        parse_money("0.01")
    assert info.value.details == {"min": 1}


CN_DIGITS = "零一二三四五六七八九"


def chinese(n: int) -> str:
    """n (0 < n < 10^8) written in Chinese numerals, the standard way."""

    def below_wan(k: int, leading: bool) -> str:
        out, zero = "", False
        for scale, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            d = k // scale % 10
            if d == 0:
                zero = bool(out)
                continue
            if zero or (not out and not leading and scale < 1000):
                out += "零"
            zero = False
            out += ("" if d == 1 and unit == "十" and not out and leading else CN_DIGITS[d]) + unit
        return out

    high, low = divmod(n, 10_000)
    if not high:
        return below_wan(low, True)
    text = below_wan(high, True) + "万"
    return text + below_wan(low, False) if low else text


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 10**8 - 1))
def test_money_chinese_numerals_roundtrip(n):
    assert parse_money(chinese(n)) == n
    assert parse_money(chinese(n) + "元") == n


def test_money_chinese_helper_examples():
    assert chinese(120_000) == "十二万"
    assert chinese(1_200_000) == "一百二十万"
    assert chinese(10_500) == "一万零五百"
    assert chinese(105) == "一百零五"
    assert chinese(15) == "十五"


@settings(max_examples=300, deadline=None)
@given(st.integers(1, MAX_MONEY_YUAN))
def test_money_roundtrip_plain(n):
    assert parse_money(str(n)) == n
    assert parse_money(f"{n:,}") == n
    assert parse_money("¥" + f"{n:,}") == n
    assert parse_money("￥" + f"{n:,}" + "元") == n
    assert parse_money(str(n).translate(FULLWIDTH)) == n


@settings(max_examples=200, deadline=None)
@given(st.integers(1, MAX_MONEY_YUAN // 10_000))
def test_money_roundtrip_wan(n):
    assert parse_money(f"{n}万") == n * 10_000
    assert parse_money(f"{n}w") == n * 10_000
    assert parse_money(f"{n} 万元") == n * 10_000
    assert parse_money(f"{n:,}万") == n * 10_000


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10**6 - 1), st.integers(0, 99))
def test_money_roundtrip_decimal_wan(whole, frac):
    text = f"{whole}.{frac:02d}万"
    assert parse_money(text) == whole * 10_000 + frac * 100


# --- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("+8613812345678", "13812345678"),
        ("0086-138-1234-5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("(+86) 138 1234 5678", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("手机：138 1234 5678", "13812345678"),
        ("Tel: 19912345678", "19912345678"),
        ("010-12345678", "010-12345678"),
        ("01012345678", "010-12345678"),
        ("(010) 1234 5678", "010-12345678"),
        ("021-87654321", "021-87654321"),
        ("0755-1234567", "0755-1234567"),
        ("0755 12345678", "0755-12345678"),
        ("（0755）12345678", "0755-12345678"),
        ("0311-1234567", "0311-1234567"),
        ("+86 10 12345678", "010-12345678"),
        ("+86 010 12345678", "010-12345678"),
        ("0086 21 87654321", "021-87654321"),
        ("010-12345678-123", "010-12345678-123"),
        ("010-12345678 转 123", "010-12345678-123"),
        ("010-12345678转123", "010-12345678-123"),
        ("010 12345678 ext. 55", "010-12345678-55"),
        ("020-8765 4321#9", "020-87654321-9"),
        ("电话 0755-1234567 分机 8", "0755-1234567-8"),
    ],
)
def test_phone_accepted(text, expected):
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "12812345678",  # 12x is not a mobile prefix
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12345678",  # landline without area code
        "010-0234567",  # local number may not start with 0
        "0123-1234567",  # no such area code
        "0755-123456",  # local too short
        "0755-123456789",  # local too long
        "400-123-4567",  # hotline
        "+1 415 555 1234",  # foreign
        "+44 20 7946 0958",
        "13812345678 转 12",  # mobiles have no extension
        "138abc12345678",
        "<script>alert(1)</script>",
        "1" * HUGE,
        "phone",
    ],
)
def test_phone_rejected(text):
    assert code_of(parse_phone, text) == "format"


def test_phone_empty():
    assert code_of(parse_phone, "  ") == "empty"


MOBILE = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)


@settings(max_examples=200, deadline=None)
@given(MOBILE)
def test_mobile_decorations_normalise(number):
    a, b, c = number[:3], number[3:7], number[7:]
    forms = [
        number,
        f"{a} {b} {c}",
        f"{a}-{b}-{c}",
        f"+86 {a} {b} {c}",
        f"+86-{a}-{b}-{c}",
        f"+86{number}",
        f"0086 {number}",
        f"0086-{a}-{b}-{c}",
        f"86{number}",
        f"(+86) {number}",
        f"  {number}  ",
        number.translate(FULLWIDTH),
        f"手机：{a} {b} {c}",
    ]
    assert {parse_phone(f) for f in forms} == {number}
    assert {parse_contact(f) for f in forms} == {("phone", number)}


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(["010", "020", "021", "029", "0755", "0311", "0571"]),
    st.from_regex(r"[1-9][0-9]{6,7}", fullmatch=True),
)
def test_landline_decorations_normalise(area, local):
    if len(area) == 3 and len(local) == 7:
        local += "0"  # keep the examples realistic: big cities have 8-digit numbers
    expected = f"{area}-{local}"
    forms = [f"{area}-{local}", f"{area}{local}", f"({area}) {local}", f"+86 {area[1:]} {local}"]
    assert {parse_phone(f) for f in forms} == {expected}
    assert parse_phone(f"{area}-{local} 转 42") == expected + "-42"


# --- email / contact --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("merchant@qq.com", "merchant@qq.com"),
        ("  Shop.Owner+ali@Example.COM  ", "Shop.Owner+ali@example.com"),
        ("12345678@163.com", "12345678@163.com"),
        ("a_b-c@sub.domain.com.cn", "a_b-c@sub.domain.com.cn"),
        ("１２３＠ＱＱ．ｃｏｍ", "123@qq.com"),
        ("mailto:x@y.cn", "x@y.cn"),
        ("邮箱：boss@shop.cn", "boss@shop.cn"),
        ("Email: boss@shop.cn", "boss@shop.cn"),
        ("emailme@shop.cn", "emailme@shop.cn"),
        ("x@y.cn.", "x@y.cn"),
        ("x@xn--fiqs8s.xn--fiqs8s", "x@xn--fiqs8s.xn--fiqs8s"),
    ],
)
def test_email_accepted(text, expected):
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("plainaddress", "format"),
        ("a@b", "format"),
        ("a@@b.com", "format"),
        ("a@b@c.com", "format"),
        ("a b@c.com", "format"),
        ("ab@c .com", "format"),
        ("@c.com", "format"),
        ("a@", "format"),
        (".a@c.com", "format"),
        ("a.@c.com", "format"),
        ("a..b@c.com", "format"),
        ("a@-c.com", "format"),
        ("a@c-.com", "format"),
        ("a@c..com", "format"),
        ("a@c.c", "format"),
        ("a@c.123", "format"),
        ("<script>@x.com", "format"),
        ('"><img src=x onerror=alert(1)>@x.com', "format"),
        ("a@<b>.com", "format"),
        ("例子@例子.中国", "format"),
        ("x" * 65 + "@example.com", "format"),
        ("a@" + "b" * 64 + ".com", "format"),
        ("a@" + ("b" * 60 + ".") * 5 + "com", "too_long"),
        ("a" * HUGE + "@x.com", "too_long"),
    ],
)
def test_email_rejected(text, code):
    assert code_of(parse_email, text) == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("微信 abc123", ("wechat", "abc123")),
        ("微信：wxid_abc", ("wechat", "wxid_abc")),
        ("微信:wxid_abc", ("wechat", "wxid_abc")),
        ("vx: shop-888", ("wechat", "shop-888")),
        ("VX:shop-888", ("wechat", "shop-888")),
        ("wx abc_123", ("wechat", "abc_123")),
        ("微信号 Zhang_San88", ("wechat", "Zhang_San88")),
        ("微信号：Zhang_San88", ("wechat", "Zhang_San88")),
        ("微信号是 abc123", ("wechat", "abc123")),
        ("WeChat: Abc_123", ("wechat", "Abc_123")),
        ("wechat id: abc123", ("wechat", "abc123")),
        ("微信 13800138000", ("wechat", "13800138000")),
        ("微信：138 0013 8000", ("wechat", "13800138000")),
        ("微信 +86 138 0013 8000", ("wechat", "13800138000")),
        ("13800138000（微信同号）", ("wechat", "13800138000")),
        ("138 0013 8000 同微信", ("wechat", "13800138000")),
        ("Zhang_San88", ("wechat", "Zhang_San88")),  # an unlabelled id
        ("wxid_abc123", ("wechat", "wxid_abc123")),  # "wx" here is part of the id
        ("a" * 20, ("wechat", "a" * 20)),
        ("+86 138 0013 8000", ("phone", "13800138000")),
        ("138-0013-8000", ("phone", "13800138000")),
        ("(0571) 1234 5678", ("phone", "0571-12345678")),
        ("0571-12345678（微信同号）", ("phone", "0571-12345678")),
        ("手机 13800138000", ("phone", "13800138000")),
        ("tel13800138000", ("phone", "13800138000")),
    ],
)
def test_contact_kinds(text, expected):
    assert parse_contact(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("微信", "wechat"),
        ("微信 ab", "wechat"),  # too short
        ("微信 1abcdef", "wechat"),  # must start with a letter
        ("微信 abc 123", "wechat"),
        ("微信 abc.123", "wechat"),
        ("微信 " + "a" * 21, "wechat"),  # too long
        ("微信 0571-12345678", "wechat"),  # a landline has no WeChat
        ("微信 <b>x</b>", "wechat"),
        ("(微信同号)", "wechat"),
        ("abcde", "format"),  # too short for an id, no phone either
        ("a" * 21, "format"),
        ("1abcdef", "format"),
        ("张三", "format"),
    ],
)
def test_contact_refused(text, code):
    assert code_of(parse_contact, text) == code


def test_parse_wechat():
    assert parse_wechat("Zhang_San88") == "Zhang_San88"
    assert parse_wechat("微信号：wxid_abc") == "wxid_abc"
    assert parse_wechat("138 0013 8000") == "13800138000"
    assert code_of(parse_wechat, "") == "empty"
    assert code_of(parse_wechat, "abc") == "wechat"
    assert code_of(parse_wechat, "x" * HUGE) == "too_long"


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-zA-Z][a-zA-Z0-9_-]{5,19}", fullmatch=True))
def test_wechat_ids_roundtrip(wid):
    for form in (f"微信 {wid}", f"微信号：{wid}", f"vx: {wid}", f"wx {wid}", f"WeChat: {wid}"):
        assert parse_contact(form) == ("wechat", wid)


def test_contact():
    assert parse_contact("138 1234 5678") == ("phone", "13812345678")
    assert parse_contact("010-12345678") == ("phone", "010-12345678")
    assert parse_contact("Boss@QQ.com") == ("email", "Boss@qq.com")
    assert parse_contact("boss＠qq.com") == ("email", "boss@qq.com")
    assert code_of(parse_contact, "hello") == "format"
    assert code_of(parse_contact, "a@b") == "format"
    assert code_of(parse_contact, "") == "empty"
    assert code_of(parse_contact, "x" * HUGE) == "too_long"  # not "no contact recognised"
    assert code_of(parse_contact, "微信 " + "a" * HUGE) == "too_long"
    assert code_of(parse_contact, "a" * 254) == "format"  # within the limit: not an id
    assert code_of(parse_contact, "x" * HUGE + "@a.com") == "too_long"


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z0-9_]{1,20}(\.[a-z0-9+-]{1,10}){0,2}", fullmatch=True),
    st.from_regex(r"[a-z0-9]{1,15}(\.[a-z0-9]{1,10}){0,2}\.[a-z]{2,6}", fullmatch=True),
)
def test_email_roundtrip(local, domain):
    assert parse_email(f"{local}@{domain}") == f"{local}@{domain}"
    assert parse_email(f" {local}@{domain.upper()} ") == f"{local}@{domain}"
    assert parse_contact(f"{local}@{domain}") == ("email", f"{local}@{domain}")


# --- date ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "2026-09-28",
        "2026-9-28",
        "2026/9/28",
        "2026/09/28",
        "2026.09.28",
        "2026.9.28",
        "2026年9月28日",
        "2026年09月28日",
        "2026年9月28号",
        "2026年9月28",
        " 2026 年 9 月 28 日 ",
        "\u30002026-09-28\u3000",
        "２０２６－０９－２８",
        "20260928",
    ],
)
def test_date_accepted(text):
    assert parse_date(text, TODAY) == date(2026, 9, 28)


def test_date_bounds():
    assert parse_date("2020-01-01", TODAY) == MIN_DATE
    assert parse_date(TODAY.isoformat(), TODAY) == TODAY


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("yesterday", "format"),
        ("28/09/2026", "format"),
        ("09-28", "format"),
        ("26-09-28", "format"),
        ("2026-09/28", "format"),
        ("2026-09-28-01", "format"),
        ("2026年9月", "format"),
        ("2026-09-28 10:00", "format"),
        ("<i>2026-09-28</i>", "format"),
        ("2026-02-30", "invalid_date"),
        ("2026-13-01", "invalid_date"),
        ("2026-00-10", "invalid_date"),
        ("2025-02-29", "invalid_date"),
        ("0000-01-01", "invalid_date"),
        ("2026-11-28", "future"),
        ("2099-01-01", "future"),
        ("2019-12-31", "too_early"),
        ("1999年1月1日", "too_early"),
        ("2" * HUGE, "format"),
    ],
)
def test_date_rejected(text, code):
    assert code_of(parse_date, text, TODAY) == code


def test_date_error_details():
    with pytest.raises(ParseError) as info:
        parse_date("2026-02-30", TODAY)
    assert info.value.details == {"year": 2026, "month": 2, "day": 30}
    with pytest.raises(ParseError) as info:
        parse_date("2027-01-01", TODAY)
    assert info.value.details == {"max": TODAY}
    with pytest.raises(ParseError) as info:
        parse_date("2019-01-01", TODAY)
    assert info.value.details == {"min": MIN_DATE}


def test_date_leap_day():
    assert parse_date("2024-02-29", TODAY) == date(2024, 2, 29)


@settings(max_examples=300, deadline=None)
@given(st.dates(MIN_DATE, TODAY))
def test_date_roundtrip(d):
    y, m, dd = d.year, d.month, d.day
    forms = [
        d.isoformat(),
        f"{y}-{m}-{dd}",
        f"{y}/{m}/{dd}",
        f"{y}/{m:02d}/{dd:02d}",
        f"{y}.{m:02d}.{dd:02d}",
        f"{y}.{m}.{dd}",
        f"{y}年{m}月{dd}日",
        f"{y}年{m:02d}月{dd:02d}日",
        f"{y}年{m}月{dd}号",
        d.strftime("%Y%m%d"),
        f"  {d.isoformat()}  ",
        d.isoformat().translate(FULLWIDTH),
    ]
    assert {parse_date(f, TODAY) for f in forms} == {d}


@given(st.dates(TODAY + timedelta(days=1), date(9999, 12, 31)))
def test_date_future_property(d):
    assert code_of(parse_date, d.isoformat(), TODAY) == "future"


# --- due date (a payment date ahead) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-15", date(2026, 12, 15)),
        ("2026年12月15日", date(2026, 12, 15)),
        ("2099-01-01", date(2099, 1, 1)),
        (TODAY.isoformat(), TODAY),
        ("12月15日", date(2026, 12, 15)),
        ("12月15号", date(2026, 12, 15)),
        ("12月15", date(2026, 12, 15)),
        ("12-15", date(2026, 12, 15)),
        ("12/15", date(2026, 12, 15)),
        ("１２月１５日", date(2026, 12, 15)),
        ("11月27日", TODAY),
        ("1月5日", date(2027, 1, 5)),  # the nearest 1月5日 is next year's
        ("5月20日", date(2027, 5, 20)),
        ("明天", date(2026, 11, 28)),
        ("后天", date(2026, 11, 29)),
    ],
)
def test_due_date_accepted(text, expected):
    assert parse_due_date(text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("大后天", "format"),
        ("15号", "format"),
        ("/submitted 2026-12-15", "format"),
        ("2026-02-30", "invalid_date"),
        ("2月30日", "invalid_date"),
        ("2月29日", "invalid_date"),  # neither 2026 nor 2027 has one
        ("13月1日", "invalid_date"),
        ("2026-11-26", "past"),
        ("2026-09-01", "past"),
        ("2019-12-31", "past"),
        ("11月1日", "past"),  # 26 days ago is nearer than next November
        ("9月1日", "past"),
    ],
)
def test_due_date_rejected(text, code):
    assert code_of(parse_due_date, text, TODAY) == code


def test_due_date_across_the_new_year():
    late_december = date(2026, 12, 20)
    assert parse_due_date("1月5日", late_december) == date(2027, 1, 5)
    assert parse_due_date("12月31日", late_december) == date(2026, 12, 31)
    assert code_of(parse_due_date, "12月15日", late_december) == "past"
    with pytest.raises(ParseError) as info:
        parse_due_date("12月15日", late_december)
    assert info.value.details == {"today": late_december}
    assert parse_due_date("2月29日", date(2027, 12, 1)) == date(2028, 2, 29)
    early_january = date(2027, 1, 3)
    assert code_of(parse_due_date, "12月30日", early_january) == "past"


# --- duration -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", timedelta(days=3)),
        ("2h", timedelta(hours=2)),
        ("30m", timedelta(minutes=30)),
        ("1w", timedelta(weeks=1)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("90s", timedelta(seconds=90)),
        ("3 days", timedelta(days=3)),
        ("1 day", timedelta(days=1)),
        ("1 week 2 days", timedelta(days=9)),
        ("2 hours, 30 minutes", timedelta(hours=2, minutes=30)),
        ("2hrs 5min 3sec", timedelta(hours=2, minutes=5, seconds=3)),
        ("1w2d3h4m5s", timedelta(weeks=1, days=2, hours=3, minutes=4, seconds=5)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        ("0.5d", timedelta(hours=12)),
        ("3D", timedelta(days=3)),
        ("３d", timedelta(days=3)),
        ("3天", timedelta(days=3)),
        ("2小时30分钟", timedelta(hours=2, minutes=30)),
        ("1个小时", timedelta(hours=1)),
        ("2周", timedelta(weeks=2)),
        ("10秒", timedelta(seconds=10)),
        ("400d", timedelta(days=400)),
        ("57w", timedelta(weeks=57)),
        ("  3d  ", timedelta(days=3)),
    ],
)
def test_duration_accepted(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "empty"),
        ("3", "format"),
        ("d", "format"),
        ("3x", "format"),
        ("3 months", "format"),
        ("-3d", "format"),
        ("3d junk", "format"),
        ("1d1d", "format"),
        ("1d 2days", "format"),
        ("three days", "format"),
        ("<b>3d</b>", "format"),
        ("0d", "not_positive"),
        ("0h0m", "not_positive"),
        ("401d", "too_large"),
        ("58w", "too_large"),
        ("400d1s", "too_large"),
        ("9" * 60 + "d", "too_large"),
        ("1d" * 60, "too_long"),
        ("d" * HUGE, "too_long"),
    ],
)
def test_duration_rejected(text, code):
    assert code_of(parse_duration, text) == code


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 50), st.integers(0, 200), st.integers(0, 23), st.integers(0, 59),
    st.integers(0, 59),
)  # fmt: skip
def test_duration_roundtrip(w, d, h, m, s):
    expected = timedelta(weeks=w, days=d, hours=h, minutes=m, seconds=s)
    parts = [(w, "w"), (d, "d"), (h, "h"), (m, "m"), (s, "s")]
    text = "".join(f"{n}{u}" for n, u in parts if n)
    if not text:
        assert code_of(parse_duration, "0s") == "not_positive"
    elif expected > timedelta(days=400):
        assert code_of(parse_duration, text) == "too_large"
    else:
        assert parse_duration(text) == expected
        assert parse_duration(" ".join(f"{n} {u}" for n, u in parts if n)) == expected


# --- validate_text ----------------------------------------------------------------------------


def test_validate_text_basics():
    assert validate_text("  hello   world  ", max_len=20) == "hello world"
    assert validate_text("a\n\n\tb\u3000c", max_len=20) == "a b c"
    assert validate_text("店铺\x00名称\x07", max_len=20) == "店铺名称"
    assert validate_text("<script>alert('x')</script>", max_len=50) == (
        "<script>alert('x')</script>"
    )  # escaping is the renderer's job
    assert validate_text("abc", min_len=3, max_len=3) == "abc"
    assert validate_text("", min_len=0, max_len=3) == ""
    assert validate_text("😀👍🏽", max_len=3) == "😀👍🏽"


@pytest.mark.parametrize(
    ("text", "kwargs", "code", "length"),
    [
        ("", {"max_len": 5}, "empty", 0),
        (" \n\t\u3000 ", {"max_len": 5}, "empty", 0),
        ("\x00\x01", {"max_len": 5}, "empty", 0),
        ("ab", {"min_len": 3, "max_len": 5}, "too_short", 2),
        ("a   b", {"min_len": 4, "max_len": 5}, "too_short", 3),
        ("abcdef", {"max_len": 5}, "too_long", 6),
        ("x" * HUGE, {"max_len": 500}, "too_long", HUGE),
    ],
)
def test_validate_text_rejected(text, kwargs, code, length):
    with pytest.raises(ParseError) as info:
        validate_text(text, **kwargs)
    assert info.value.code == code
    assert info.value.details == {
        "min": kwargs.get("min_len", 1),
        "max": kwargs["max_len"],
        "length": length,
    }


def test_validate_text_bad_arguments():
    with pytest.raises(ValueError):
        validate_text("abc", min_len=5, max_len=3)


@given(st.text(max_size=200), st.integers(0, 50), st.integers(0, 300))
def test_validate_text_properties(text, min_len, extra):
    max_len = min_len + extra
    try:
        out = validate_text(text, min_len=min_len, max_len=max_len)
    except ParseError as err:
        assert err.code in {"empty", "too_short", "too_long"}
        return
    assert out == out.strip()
    assert "  " not in out
    assert min_len <= len(out) <= max_len
    assert validate_text(out, min_len=min_len, max_len=max_len) == out


# --- robustness ---------------------------------------------------------------------------------

ALL_PARSERS = [
    parse_money,
    parse_phone,
    parse_wechat,
    parse_email,
    parse_contact,
    lambda t: parse_date(t, TODAY),
    lambda t: parse_due_date(t, TODAY),
    parse_duration,
    lambda t: validate_text(t, max_len=50),
]
CODES = {
    "too_small",
    "phone_like",
    "past",
    "wechat",
    "empty",
    "format",
    "too_long",
    "too_short",
    "too_large",
    "not_positive",
    "ambiguous",
    "currency",
    "invalid_date",
    "future",
    "too_early",
}
TRICKY = st.text(
    alphabet=st.sampled_from(
        list("0123456789０１２３,.，．-－+ @＠年月日号万千百亿wWkK¥$元转#x dhmsw天()<>&\"'")
        + list("零一二两五十点负微信号vx:：_同约块")
        + ["\u3000", "\n", "\x00", "\u200b", "ﷺ", "⑤", "²", "٣"]
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=300), TRICKY), st.sampled_from(range(len(ALL_PARSERS))))
def test_random_text_only_raises_parse_error(text, idx):
    try:
        ALL_PARSERS[idx](text)
    except ParseError as err:
        assert err.code in CODES


@pytest.mark.parametrize(
    "text",
    [
        "1," * (HUGE // 2),
        "1" * HUGE,
        "1." * (HUGE // 2),
        "a." * (HUGE // 2) + "@",
        "a" * HUGE + "@" + "b." * 10,
        "5万" * (HUGE // 2),
        " " * HUGE + "5万" + " " * HUGE,
        "\u3000" * HUGE,
        "<" * HUGE,
        "ﷺ" * HUGE,
        "2026-" * (HUGE // 5),
        "1d" * (HUGE // 2),
    ],
)
def test_huge_inputs_finish(text):
    with hang_guard():
        for parser in ALL_PARSERS:
            try:
                parser(text)
            except ParseError:
                pass


@pytest.mark.parametrize(
    ("pattern", "use", "text"),
    [
        (parsing.money._MONEY_TOKEN, "finditer", "1," * HUGE + "x"),
        (parsing.money._MONEY_TOKEN, "finditer", "1" * HUGE + ".x"),
        (parsing.money._MONEY_TOKEN, "finditer", "- " * HUGE),
        (parsing.money._MONEY_TOKEN, "finditer", "-" + " " * HUGE),
        (parsing.money._MONEY_TOKEN, "finditer", "5 " * HUGE),
        (parsing.money._FOREIGN_CURRENCY, "search", "us" * HUGE),
        (parsing.contact._EMAIL_LOCAL, "fullmatch", "a." * HUGE + "!."),
        (parsing.contact._EMAIL_LOCAL, "fullmatch", "a" * HUGE + ".."),
        (parsing.dates._DURATION_PART, "match", " " * HUGE + "1"),
        (parsing.dates._DURATION_PART, "match", "1" * HUGE + "."),
        (parsing.dates._DATE_PATTERNS[0], "fullmatch", "2026" + " " * HUGE + "x"),
        (parsing.dates._DATE_PATTERNS[1], "fullmatch", "2026" + " " * HUGE + "x"),
        (parsing.contact._PHONE_SEP, "sub", "- " * HUGE),
        (parsing.contact._PHONE_EXT, "search", "转" * HUGE + "1x"),
        (parsing.contact._PHONE_EXT, "search", "x " * HUGE + "1x"),
        (parsing.text._CONTROL, "sub", "\x00a" * HUGE),
        (parsing.money._CN_NUMBER, "match", "一" * HUGE + "x"),
        (parsing.money._CN_NUMBER, "match", "五" + "点" * HUGE),
        (parsing.money._CN_NUMBER, "match", "五点" + "五" * HUGE + "x"),
        (parsing.money._MONEY_FILLER, "sub", "/ " * HUGE),
        (parsing.money._MONEY_FILLER, "sub", "/" + " " * HUGE),
        (parsing.contact._WECHAT_LABEL, "match", "微信" + " " * HUGE + "x"),
        (parsing.contact._WECHAT_LABEL, "match", "wx" + " " * HUGE + "x"),
        (parsing.contact._WECHAT_ID, "fullmatch", "a" * HUGE + "!"),
        (parsing.contact._WECHAT_SAME, "search", "同" * HUGE),
        (parsing.money._PHONE_SPACING, "sub", "- " * HUGE),
    ],
)
def test_regexes_have_no_catastrophic_backtracking(pattern, use, text):
    """Used the way the parsers use them, the patterns finish even past the caps."""
    with hang_guard():
        if use == "finditer":
            list(pattern.finditer(text))
        elif use == "sub":
            pattern.sub("", text)
        else:
            getattr(pattern, use)(text)
