"""Amounts of money: digits or Chinese numerals with 千/万/w/k and currency marks."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

from flows.parsing.contact import parse_phone
from flows.parsing.text import (
    _MONEY_MAX_INPUT,
    MAX_MONEY_YUAN,
    ParseError,
    _prepare,
)

# --- money ----------------------------------------------------------------------------

_UNIT_SCALE = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_MONEY_TOKEN = re.compile(
    r"(?P<sign>[-−负]\s*)?"
    r"(?P<num>[0-9]+(?:,[0-9]+)*(?:\.[0-9]+)?|\.[0-9]+)"
    r"\s*(?P<unit>(?:[十百千]?万)?亿|[十百千]?万|[十百千]|w(?![a-z])|k(?![a-z]))?"
)
_UNIT_WORD = re.compile(r"(?:[十百千]?万)?亿|[十百千]?万|[十百千]")
_CN_DIGITS = {
    "零": 0, "〇": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "三": 3, "叁": 3,
    "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8,
    "捌": 8, "九": 9, "玖": 9,
}  # fmt: skip
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUMBER = re.compile(
    r"(?P<sign>[-−负]\s*)?"
    r"(?P<cn>[零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖十拾]"
    r"[零〇一二两三四五六七八九壹贰叁肆伍陆柒捌玖十拾百佰千仟万亿]*"
    r"(?:点[零〇一二三四五六七八九]+[十百千万亿]*)?)"
    r"\s*(?P<unit>w(?![a-z])|k(?![a-z]))?"
)
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_FOREIGN_CURRENCY = re.compile(
    r"[$€£₩]|usd|eur|gbp|hkd|jpy|rub|美元|美金|欧元|英镑|港币|港元|日元|卢布|韩元"
)
# Words around an amount that change nothing: RMB marks, "about", "per month".
_MONEY_FILLER = re.compile(
    r"人民币|rmb|cny|[¥元块整:]"
    r"|每个?月|一个月|月均|平均|月销售额|月销售|月销量|月营业额|月流水|月销|销售额|营业额|流水"
    r"|预计|估计|大约|大概|大致|差不多|约|左右|上下|以上|以下|以内|出头|多"
    r"|/\s*个?月"
)
_ASCII_LETTER = re.compile(r"[a-z]")
_PHONE_SPACING = re.compile(r"[\s\-()]+")


class _Amount(NamedTuple):
    """One number written in a money input (before compound amounts are merged)."""

    start: int
    end: int
    negative: bool
    value: Decimal
    scale: int  # smallest unit written (1 without a unit)
    has_unit: bool
    decimal: bool
    single: bool  # one non-zero digit without a unit ("1万5": the 5)
    grouped_ok: bool  # thousands separators, if any, are where they belong


def _unit_scale(unit: str | None) -> int:
    """Return the multiplier of a money unit suffix."""
    if not unit:
        return 1
    if unit == "w":
        return 10_000
    if unit == "k":
        return 1000
    scale = 1
    for ch in unit:
        scale *= _UNIT_SCALE[ch]
    return scale


def _cn_integer(text: str) -> tuple[int, int]:
    """A Chinese integer ("一百二十万", "两千五", "十万"): (value, smallest unit written).

    A last digit after a unit counts in the next lower unit, as spoken ("一万五" = 15000,
    "三千五" = 3500) unless a 零 comes before it ("一百零五" = 105).
    """
    total = 0  # the closed 万 / 亿 groups
    section = 0  # the group being written, below 万
    digit: int | None = None  # a digit waiting for its unit
    zero = False  # a 零 since the last unit
    last_small = 10_000  # small units must get smaller within a group
    last_big = 10**17
    last_unit = 1
    for ch in text:
        if ch in _CN_DIGITS:
            value = _CN_DIGITS[ch]
            if digit is not None:
                raise ParseError("format")  # "一二", "五零"
            if value == 0:
                zero = True
            else:
                digit = value
        elif ch in _CN_SMALL:
            scale = _CN_SMALL[ch]
            if scale >= last_small:
                raise ParseError("format")  # "十十", "百千"
            section += (1 if digit is None else digit) * scale
            digit, zero, last_small, last_unit = None, False, scale, scale
        else:
            scale = _CN_BIG[ch]
            group = section + (digit or 0)
            if scale == 10_000:
                if last_big <= 10_000 or group == 0:
                    raise ParseError("format")  # "一万二万"
                total += group * scale
            else:
                if total + group == 0:
                    raise ParseError("format")
                total = (total + group) * scale  # "一万亿" multiplies what came before
            section, digit, zero = 0, None, False
            last_small, last_big, last_unit = 10_000, scale, scale
    if digit is None:
        return total + section, last_unit
    if not zero and last_unit > 1:
        return total + section + digit * (last_unit // 10), 1
    return total + section + digit, 1


def _cn_amount(match: re.Match[str]) -> _Amount:
    """A Chinese-numeral amount ("五万", "一点五万", "3千" is not one) as an _Amount."""
    text = match["cn"]
    whole, dot, rest = text.partition("点")
    value, scale = _cn_integer(whole)
    exact = Decimal(value)
    if dot:
        frac = "".join(str(_CN_DIGITS[ch]) for ch in rest if ch in _CN_DIGITS)
        tail = rest[len(frac) :]
        if tail and not _UNIT_WORD.fullmatch(tail):
            raise ParseError("format")
        if scale > 1:
            raise ParseError("format")  # "一万点五": a unit before the decimal point
        scale = _unit_scale(tail or None)
        exact = Decimal(f"{value}.{frac}") * scale
    if match["unit"]:
        if scale > 1:
            raise ParseError("format")  # "五万w"
        scale = _unit_scale(match["unit"])
        exact *= scale
    return _Amount(
        match.start(),
        match.end(),
        bool(match["sign"]),
        exact,
        scale,
        scale > 1,
        bool(dot),
        len(text) == 1 and not match["unit"] and value > 0,
        True,
    )


def _digit_amount(match: re.Match[str]) -> _Amount:
    """An amount written with digits ("5万", "50,000", "1.5w") as an _Amount."""
    num = match["num"]
    scale = _unit_scale(match["unit"])
    return _Amount(
        match.start(),
        match.end(),
        bool(match["sign"]),
        Decimal(num.replace(",", "")) * scale,
        scale,
        bool(match["unit"]),
        "." in num,
        len(num) == 1 and num != "0" and not match["unit"],
        "," not in num or bool(_THOUSANDS.fullmatch(num)),
    )


def _looks_like_phone(t: str) -> bool:
    """A Chinese phone number, or any "+country ..." number, rather than an amount."""
    try:
        parse_phone(t)
    except ParseError:
        compact = _PHONE_SPACING.sub("", t)
        digits = compact[1:]
        plain = digits.isascii() and digits.isdigit()
        return compact.startswith("+") and plain and len(compact) >= 9
    return True


def parse_money(text: str) -> int:
    """Parse an RMB amount like "5万", "¥50,000", "1.5w", "一百二十万" into whole yuan."""
    t = _prepare(text, _MONEY_MAX_INPUT, "too_long").lower()
    if _FOREIGN_CURRENCY.search(t):
        raise ParseError("currency")
    if _looks_like_phone(t):
        raise ParseError("phone_like")
    t = _MONEY_FILLER.sub(" ", t)

    tokens: list[_Amount] = []
    leftover: list[str] = []
    pos = 0
    while pos < len(t):
        if t[pos].isspace():
            pos += 1
            continue
        m = _MONEY_TOKEN.match(t, pos)
        if m:
            tokens.append(_digit_amount(m))
            pos = m.end()
            continue
        m = _CN_NUMBER.match(t, pos)
        if m:
            tokens.append(_cn_amount(m))
            pos = m.end()
            continue
        leftover.append(t[pos])
        pos += 1
    if not tokens or any(_ASCII_LETTER.match(ch) for ch in leftover):
        raise ParseError("format")  # no number, or letters mixed in ("微信 abc123")
    if not all(tok.grouped_ok for tok in tokens):
        raise ParseError("ambiguous")  # "1,2", "5,0000"

    # Merge compound amounts ("1万5千", "1万5", "1万500", "五万五千") into one amount.
    amounts: list[tuple[bool, Decimal]] = []  # (negative, value)
    prev: _Amount | None = None
    smallest = 0  # smallest unit scale used so far in the current compound amount
    for tok in tokens:
        if (
            prev is not None
            and smallest >= 100
            and not tok.negative
            and not prev.decimal
            and not tok.decimal
            and not t[prev.end : tok.start].strip()
        ):
            if tok.has_unit and tok.scale < smallest:
                amounts[-1] = (amounts[-1][0], amounts[-1][1] + tok.value)
                smallest, prev = tok.scale, tok
                continue
            if not tok.has_unit:
                if tok.single:
                    amounts[-1] = (amounts[-1][0], amounts[-1][1] + tok.value * (smallest // 10))
                    smallest, prev = 1, tok
                    continue
                if tok.value < smallest:
                    amounts[-1] = (amounts[-1][0], amounts[-1][1] + tok.value)
                    smallest, prev = 1, tok
                    continue
        amounts.append((tok.negative, tok.value))
        smallest, prev = tok.scale, tok

    if len(amounts) > 1:
        raise ParseError("ambiguous")  # a range, or several numbers ("2024年5万")
    if leftover:
        raise ParseError("format")  # words we do not know around the amount
    negative, value = amounts[0]
    if negative or value <= 0:
        raise ParseError("not_positive")
    if value < 1:
        raise ParseError("too_small", min=1)  # amounts are kept in whole yuan
    if value > MAX_MONEY_YUAN:
        raise ParseError("too_large", max=MAX_MONEY_YUAN, value=int(value))
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
