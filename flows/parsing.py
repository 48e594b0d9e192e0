"""Parsers for merchant free-text input (pure: no I/O, no clock reads).

Every parser returns the parsed value or raises :class:`ParseError`. The error
carries a stable machine-readable ``code`` (mapped to merchant-facing wording in
content/ YAML) and a ``details`` dict of values a message may interpolate.
All text is normalised with Unicode NFKC first (full-width digits, ``＠``, ``，``,
``￥``, ideographic spaces ...), except in :func:`validate_text`.
Only ASCII digits 0-9 count as digits after normalisation.

Error codes (``ParseError.code``) and their ``details``:

=================  ==============================================================
code               meaning / details
=================  ==============================================================
``empty``          blank or whitespace-only input (every parser). validate_text:
                   ``min``, ``max``, ``length``
``format``         not recognisable as the expected kind of value
``too_long``       input longer than the parser accepts. ``max`` (and ``length``
                   for validate_text). parse_money: over 200 characters;
                   parse_email: over 254 characters; parse_duration: over 100
                   characters; validate_text: over ``max_len`` after cleaning
``too_short``      validate_text only: shorter than ``min_len``. ``min``, ``max``,
                   ``length``
``too_large``      parse_money: over 10,000,000,000 yuan (``max``, ``value``);
                   parse_duration: over 400 days (``max_days``)
``not_positive``   parse_money: zero or negative amount; parse_duration: a zero
                   duration
``too_small``      parse_money: more than 0 but less than one yuan ("0.01");
                   amounts are kept in whole yuan. ``min`` (= 1)
``phone_like``     parse_money: the input is a phone number ("+86 138 0013 8000",
                   "13800138000"), not an amount
``wechat``         parse_contact / parse_wechat: labelled as WeChat ("微信 ...") but
                   no valid WeChat id or mobile number follows
``ambiguous``      parse_money: more than one amount, e.g. a range "5万到10万",
                   "5-10万", "2024年5万", or a comma that is not thousands grouping
                   ("1,2")
``currency``       parse_money: a non-RMB currency is named ($, USD, 美元, ...)
``invalid_date``   parse_date: well-formed but no such day (2026-02-30).
                   ``year``, ``month``, ``day``
``future``         parse_date: after ``today``. ``max`` (= today)
``too_early``      parse_date: before 2020-01-01. ``min``
``past``           parse_due_date: before ``today``. ``today``
=================  ==============================================================

Documented behaviours:

* parse_money accepts only an amount: digits (with "," thousands separators
  and decimals) or Chinese numerals (五万, 十万, 一百二十万, 两万, 一万五,
  一点五万, 壹万), units 万/w (10^4), 千/k (10^3), 百, 十, 亿 (10^8) and
  combinations such as 百万, 千万, 万亿. RMB marks (¥ ￥ 元 块 RMB CNY 人民币 整)
  and the words 约/大约/大概/左右/以上/多, 每月/月均/月销售额/销售额, /月 are
  ignored; any other word, a letter mixed in ("微信 abc123") or a stray
  character is ``format``. A phone number is ``phone_like``. Compound amounts
  count as one: "1万5千" = 15000, "1万5" = 15000 (a single trailing digit counts
  in the next lower unit, as spoken Chinese does), "1万500" = 10500,
  "五万五千" = 55000. Any second amount makes the input ``ambiguous`` (ranges,
  "2024年5万"). Under one yuan is ``too_small``; the result is rounded
  half-up to whole yuan.
* parse_phone: mobiles are returned as 11 digits ("13812345678"); landlines as
  "AREA-LOCAL" or "AREA-LOCAL-EXT" ("010-12345678", "0755-1234567-123").
  The area code is split by the national plan: 010 and 02x are 3 digits, all
  others 4; local numbers are 7-8 digits not starting with 0. A leading label
  ("手机：", "电话", "Tel:") is ignored. Other numbers (400/800 hotlines,
  foreign numbers, landlines without area code, inputs over 40 characters)
  are ``format``.
* parse_duration: sums of ``<number><unit>`` with units w/week(s)/周/星期,
  d/day(s)/天/日, h/hr(s)/hour(s)/小时/时, m/min(s)/minute(s)/分钟/分,
  s/sec(s)/second(s)/秒, each unit at most once ("1d12h", "1.5h",
  "2 hours 30 minutes"). A bare number without a unit is ``format``.
* parse_date: also accepts compact "20260928" and 号 for 日; separators must
  be consistent. Inputs over 40 characters are ``format``.
* parse_due_date (a date ahead, e.g. a payment date): the forms of parse_date
  with no upper bound, or "12月15日" / "12-15" / "12/15" without a year, read
  as the nearest such day (so in late December "1月5日" is next January and
  "12月1日" is the past).
* parse_contact: input containing "@" is parsed as e-mail (its codes apply);
  a 微信/微信号/vx/wx/WeChat label ("微信 abc123", "vx: shop-888") or 微信同号
  makes it a WeChat id (kind "wechat"; a mobile number is accepted as the id);
  anything else is a phone number, or else, if it looks like one, an unlabelled
  WeChat id ("Zhang_San88"). WeChat ids: 6-20 characters, a letter first, then
  letters, digits, "_" or "-"; kept as typed.
* parse_email: a leading "mailto:", "Email:" or "邮箱：" label is ignored; the
  local part is kept as typed, the domain lower-cased, a trailing dot dropped.
* validate_text does no HTML escaping (rendering must escape); it removes
  control characters and invisible characters (see strip_invisible) and collapses
  whitespace runs (newlines included); lengths count what is left.
* Invisible characters (zero-width spaces and joiners, direction marks, BOM,
  Hangul fillers, the braille blank ...) are removed by every parser first:
  input that is nothing but them (and whitespace) is ``empty``.
* ascii_int reads a plain non-negative integer (ASCII digits, full-width ０-９
  accepted); anything else ("²", "①", "-1", "1 2") is None, never an exception.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import NamedTuple

__all__ = [
    "MAX_DURATION_DAYS",
    "MAX_MONEY_YUAN",
    "MIN_DATE",
    "ParseError",
    "ascii_int",
    "parse_contact",
    "parse_date",
    "parse_due_date",
    "parse_duration",
    "parse_email",
    "parse_money",
    "parse_phone",
    "parse_wechat",
    "strip_invisible",
    "validate_text",
]

MAX_MONEY_YUAN = 10_000_000_000
MIN_DATE = date(2020, 1, 1)
MAX_DURATION_DAYS = 400

_MONEY_MAX_INPUT = 200
_PHONE_MAX_INPUT = 40
_EMAIL_MAX = 254
_DATE_MAX_INPUT = 40
_DURATION_MAX_INPUT = 100


class ParseError(ValueError):
    """Input rejected; ``code`` is a stable machine-readable reason, ``details`` extras."""

    def __init__(self, code: str, **details: object) -> None:
        super().__init__(code)
        self.code = code
        self.details = details

    def __str__(self) -> str:
        return f"{self.code} {self.details}" if self.details else self.code

    def __repr__(self) -> str:
        return f"ParseError({self.code!r}, **{self.details!r})"

    def __reduce__(self):
        return (_rebuild_parse_error, (self.code, self.details))


def _rebuild_parse_error(code: str, details: dict[str, object]) -> ParseError:
    """Unpickle helper for ParseError."""
    return ParseError(code, **details)


# --- invisible characters and plain integers ---------------------------------------------

# Characters that show nothing but are not whitespace to str.split(): besides every format
# character (category Cf: U+200B-U+200F, U+202A-U+202E, U+2060-U+2064, U+2066-U+2069, U+FEFF,
# U+00AD, U+180E ...), the Hangul fillers, the braille blank, the combining grapheme joiner and
# the Khmer inherent vowels.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5")
_ZWJ = "\u200d"
_BLACK_FLAG = "\U0001f3f4"


def _selector(ch: str) -> bool:
    """A variation selector (U+FE00-U+FE0F, U+E0100-U+E01EF): it only dresses the character
    before it."""
    return "\ufe00" <= ch <= "\ufe0f" or "\U000e0100" <= ch <= "\U000e01ef"


def _tag(ch: str) -> bool:
    """A tag character (U+E0020-U+E007F), as in the subdivision flags after U+1F3F4."""
    return "\U000e0020" <= ch <= "\U000e007f"


def _emoji_part(ch: str) -> bool:
    """A pictograph, a skin tone modifier or the emoji presentation selector."""
    return unicodedata.category(ch) == "So" or "\U0001f3fb" <= ch <= "\U0001f3ff" or ch == "\ufe0f"


def _invisible(ch: str) -> bool:
    """A character that shows nothing (whitespace excepted: callers collapse or strip it)."""
    return ch in _BLANK_LETTERS or _selector(ch) or unicodedata.category(ch) == "Cf"


def strip_invisible(text: str) -> str:
    """`text` without the characters that show nothing: zero-width spaces and joiners,
    direction marks and embeddings, BOM, word joiner, soft hyphen, Hangul fillers, the braille
    blank... ("星河\u200b家居" is "星河家居"). What makes an emoji stays: a variation selector
    after a visible character, a zero-width joiner between two emoji (a family
    emoji), the tags of a subdivision flag. Whitespace is left for the caller to strip or
    collapse."""
    if text.isascii():
        return text
    kept: list[str] = []
    for i, ch in enumerate(text):
        prev = kept[-1] if kept else ""
        if not _invisible(ch):
            kept.append(ch)
        elif _selector(ch):
            if prev and not prev.isspace() and not _invisible(prev):
                kept.append(ch)  # dresses the character before it (a red heart)
        elif ch == _ZWJ:
            nxt = text[i + 1] if i + 1 < len(text) else ""
            if prev and nxt and _emoji_part(prev) and unicodedata.category(nxt) == "So":
                kept.append(ch)  # joins two emoji into one picture (man, woman, girl)
        elif _tag(ch) and (prev == _BLACK_FLAG or (prev and _tag(prev))):
            kept.append(ch)
    return "".join(kept)


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


def ascii_int(text: str, *, max_digits: int = 18) -> int | None:
    """A non-negative integer written with ASCII digits 0-9 (full-width ０-９ count as them;
    surrounding whitespace and invisible marks are ignored), or None. "²", "①", "٣", "-1",
    "1 2", "" and more than `max_digits` digits are None (str.isdigit() accepts "²" and "①",
    which int() then refuses: never use isdigit() alone on what people type)."""
    if not isinstance(text, str):
        return None
    t = strip_invisible(text).strip().translate(_FULLWIDTH_DIGITS)
    if not t or len(t) > max_digits or not t.isascii() or not t.isdigit():
        return None
    return int(t)


def _prepare(text: str, max_len: int | None, long_code: str) -> str:
    """Strip (invisible characters too), length-check (before and after NFKC) and
    NFKC-normalise input text."""
    if not isinstance(text, str):
        raise ParseError("format")
    stripped = strip_invisible(text).strip()
    if not stripped:
        raise ParseError("empty")
    if max_len is not None and len(stripped) > max_len:
        raise ParseError(long_code, max=max_len)
    normalised = unicodedata.normalize("NFKC", stripped).strip()
    if not normalised:
        raise ParseError("empty")
    if max_len is not None and len(normalised) > max_len:
        raise ParseError(long_code, max=max_len)
    return normalised


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


# --- phone / email / contact ------------------------------------------------------------

_PHONE_LABEL = re.compile(r"(?:tel|phone|mobile|电话|手机号码|手机号|手机|联系电话|座机)\s*:?\s*")
_PHONE_SEP = re.compile(r"[\s\-()./]+")
_PHONE_EXT = re.compile(r"(?:转|分机|ext\.?|x|#)\s*([0-9]{1,6})$")
_PHONE_ALLOWED = re.compile(r"\+?[0-9]+")
_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_LOCAL_NUMBER = re.compile(r"[1-9][0-9]{6,7}")


def _split_landline(digits: str) -> tuple[str, str] | None:
    """Split "0AREA LOCAL" digits into (area, local) by the national numbering plan."""
    if not digits.startswith("0"):
        return None
    if digits.startswith("010") or digits.startswith("02"):
        area, local = digits[:3], digits[3:]
    elif digits[1:2] in ("3", "4", "5", "6", "7", "8", "9"):
        area, local = digits[:4], digits[4:]
    else:
        return None
    if not _LOCAL_NUMBER.fullmatch(local):
        return None
    return area, local


def _phone_digits(raw: str) -> tuple[str, bool] | None:
    """Remove separators and a +86/0086/86 prefix; return (digits, had_intl_prefix)."""
    compact = _PHONE_SEP.sub("", raw)
    if not _PHONE_ALLOWED.fullmatch(compact):
        return None
    if compact.startswith("+"):
        if not compact.startswith("+86"):
            return None
        return compact[3:], True
    if compact.startswith("0086"):
        return compact[4:], True
    if len(compact) == 13 and compact.startswith("86") and _MOBILE.fullmatch(compact[2:]):
        return compact[2:], True
    return compact, False


def parse_phone(text: str) -> str:
    """Parse a Chinese mobile ("13812345678") or landline ("010-12345678[-ext]")."""
    t = _prepare(text, _PHONE_MAX_INPUT, "format").lower()
    label = _PHONE_LABEL.match(t)
    if label:
        t = t[label.end() :]
    ext = None
    m = _PHONE_EXT.search(t)
    if m:
        ext = m[1]
        t = t[: m.start()].strip()
    parsed = _phone_digits(t)
    if parsed is None:
        raise ParseError("format")
    digits, intl = parsed
    if _MOBILE.fullmatch(digits):
        if ext is not None:
            raise ParseError("format")
        return digits
    if intl and not digits.startswith("0"):
        digits = "0" + digits  # "+86 10 12345678" drops the trunk prefix
    split = _split_landline(digits)
    if split is None and ext is None:
        # "010-12345678-123": a trailing dash group may be the extension.
        groups = [g for g in _PHONE_SEP.split(t) if g]
        last = groups[-1] if groups else ""
        if len(groups) >= 3 and last.isascii() and last.isdigit() and len(last) <= 6:
            tail = len(groups[-1])
            split = _split_landline(digits[:-tail])
            ext = groups[-1] if split else None
    if split is None:
        raise ParseError("format")
    area, local = split
    return f"{area}-{local}-{ext}" if ext else f"{area}-{local}"


_EMAIL_LABEL = re.compile(
    r"mailto:|e-?mail\s*:\s*|e-?mail\s+|(?:电子邮箱|电子邮件|邮箱|电邮)\s*:?\s*", re.IGNORECASE
)
_EMAIL_LOCAL = re.compile(
    r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*", re.IGNORECASE
)
_DOMAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_TLD = re.compile(r"[a-z]{2,63}|xn--[a-z0-9-]{1,59}")


def parse_email(text: str) -> str:
    """Validate an e-mail address; return it trimmed with a lower-cased domain."""
    t = _prepare(text, _EMAIL_MAX, "too_long")
    label = _EMAIL_LABEL.match(t)
    if label:
        t = t[label.end() :]
    if any(ch.isspace() for ch in t) or t.count("@") != 1:
        raise ParseError("format")
    local, domain = t.split("@")
    domain = domain.lower()
    if domain.endswith("."):
        domain = domain[:-1]
    if not local or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        raise ParseError("format")
    labels = domain.split(".")
    if (
        len(domain) > 253
        or len(labels) < 2
        or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
        or not _TLD.fullmatch(labels[-1])
    ):
        raise ParseError("format")
    return f"{local}@{domain}"


_WECHAT_LABEL = re.compile(
    r"(?:微信号码|微信号|微信|威信|薇信|v信|(?:wechat|weixin|vx|wx)(?:\s*id)?(?![a-z0-9_-]))"
    r"\s*(?:号)?\s*(?:是|:)?\s*",
    re.IGNORECASE,
)
_WECHAT_SAME = re.compile(r"微信同号|同微信号?|微信同")
_WECHAT_ID = re.compile(r"[a-zA-Z][a-zA-Z0-9_-]{5,19}")


def parse_wechat(text: str) -> str:
    """A WeChat id (6-20 characters: a letter, then letters, digits, _ or -) or a mobile."""
    t = _prepare(text, _PHONE_MAX_INPUT, "format")
    label = _WECHAT_LABEL.match(t)
    if label:
        t = t[label.end() :].strip()
    if _WECHAT_ID.fullmatch(t):
        return t
    try:
        number = parse_phone(t)
    except ParseError:
        raise ParseError("wechat") from None
    if not _MOBILE.fullmatch(number):
        raise ParseError("wechat")  # a WeChat account is tied to a mobile, not a landline
    return number


def parse_contact(text: str) -> tuple[str, str]:
    """Parse an e-mail, a WeChat id or a phone number: ("email" | "wechat" | "phone", value).

    "微信 abc123", "vx: shop-888", "微信 13800138000" and "13800138000（微信同号）" are
    WeChat; an unlabelled id that is no phone number ("Zhang_San88") is WeChat too.
    """
    t = _prepare(text, None, "format")
    if "@" in t:
        return "email", parse_email(t)
    same = _WECHAT_SAME.search(t)
    if same:  # "13800138000（微信同号）": the mobile is the WeChat account too
        before, after = t[: same.start()].rstrip("([ "), t[same.end() :].lstrip(")] ")
        if not (before or after):
            raise ParseError("wechat")
        number = parse_phone(f"{before} {after}")
        return ("wechat" if _MOBILE.fullmatch(number) else "phone"), number
    if _WECHAT_LABEL.match(t):
        return "wechat", parse_wechat(t)
    try:
        return "phone", parse_phone(t)
    except ParseError:
        if _WECHAT_ID.fullmatch(t):
            return "wechat", t
        raise


# --- date -------------------------------------------------------------------------------

_DATE_PATTERNS = (
    re.compile(
        r"(?P<y>[0-9]{4})\s*(?P<sep>[-/.])\s*(?P<m>[0-9]{1,2})\s*(?P=sep)\s*(?P<d>[0-9]{1,2})"
    ),
    re.compile(r"(?P<y>[0-9]{4})\s*年\s*(?P<m>[0-9]{1,2})\s*月\s*(?P<d>[0-9]{1,2})\s*[日号]?"),
    re.compile(r"(?P<y>[0-9]{4})(?P<m>[0-9]{2})(?P<d>[0-9]{2})"),
)


def parse_date(text: str, today: date) -> date:
    """Parse a past date ("2026-09-28", "2026/9/28", "2026.09.28", "2026年9月28日")."""
    t = _prepare(text, _DATE_MAX_INPUT, "format")
    for pattern in _DATE_PATTERNS:
        m = pattern.fullmatch(t)
        if m:
            break
    else:
        raise ParseError("format")
    y, mo, d = int(m["y"]), int(m["m"]), int(m["d"])
    try:
        result = date(y, mo, d)
    except ValueError:
        raise ParseError("invalid_date", year=y, month=mo, day=d) from None
    if result > today:
        raise ParseError("future", max=today)
    if result < MIN_DATE:
        raise ParseError("too_early", min=MIN_DATE)
    return result


_MONTH_DAY = re.compile(
    r"(?P<m>[0-9]{1,2})\s*(?:月\s*(?P<d1>[0-9]{1,2})\s*[日号]?|[-/.]\s*(?P<d2>[0-9]{1,2}))"
)


_RELATIVE_DAYS = {"今天": 0, "今日": 0, "昨天": 1, "昨日": 1, "前天": 2}


def parse_past_date(text: str, today: date) -> date:
    """A day up to today (a submission date): a full date as parse_date reads it, a month and
    day without the year ("12月1日", "11-30": the latest such day up to today), or 今天 / 昨天 /
    前天. Codes as parse_date's, plus ``too_old`` (more than a year ago: a wrong year)."""
    t = _prepare(text, _DATE_MAX_INPUT, "format")
    if t in _RELATIVE_DAYS:
        return today - timedelta(days=_RELATIVE_DAYS[t])
    m = _MONTH_DAY.fullmatch(t)
    if m is None:
        day = parse_date(t, today)
    else:
        month, dom = int(m["m"]), int(m["d1"] or m["d2"])
        for year in (today.year, today.year - 1):
            try:
                day = date(year, month, dom)
            except ValueError:
                if year == today.year - 1:
                    raise ParseError("invalid_date", month=month, day=dom) from None
                continue
            if day <= today:
                break
    if (today - day).days > 366:
        raise ParseError("too_old", day=day)
    return day


def parse_due_date(text: str, today: date) -> date:
    """A day from ``today`` on (a payment date): a full date as parse_date reads it, or a
    month and day without the year ("12月15日", "12-15"), taken as the nearest such day.

    Codes: ``format``, ``invalid_date``, and ``past`` (before today; ``today`` in details).
    """
    t = _prepare(text, _DATE_MAX_INPUT, "format")
    m = _MONTH_DAY.fullmatch(t)
    if m is None:
        try:
            day = parse_date(t, date.max)
        except ParseError as exc:
            if exc.code == "too_early":
                raise ParseError("past", today=today) from None
            raise
    else:
        month, dom = int(m["m"]), int(m["d1"] or m["d2"])
        candidates = []
        for year in (today.year - 1, today.year, today.year + 1):
            try:
                candidates.append(date(year, month, dom))
            except ValueError:
                continue
        if not candidates:
            raise ParseError("invalid_date", month=month, day=dom)
        day = min(candidates, key=lambda c: (abs((c - today).days), c < today))
    if day < today:
        raise ParseError("past", today=today)
    return day


# --- duration ---------------------------------------------------------------------------

_DURATION_UNITS: dict[str, int] = {}
for _seconds, _names in (
    (7 * 86400, ("w", "wk", "wks", "week", "weeks", "周", "个星期", "星期")),
    (86400, ("d", "day", "days", "天", "日")),
    (3600, ("h", "hr", "hrs", "hour", "hours", "小时", "个小时", "时")),
    (60, ("m", "min", "mins", "minute", "minutes", "分钟", "分")),
    (1, ("s", "sec", "secs", "second", "seconds", "秒")),
):
    for _name in _names:
        _DURATION_UNITS[_name] = _seconds
del _seconds, _names, _name

_DURATION_PART = re.compile(
    r"\s*(?P<num>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-z]+|[\u4e00-\u9fff]+)\s*(?:,\s*)?"
)


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as "3d", "1d12h", "90s", "2 hours 30 minutes"."""
    t = _prepare(text, _DURATION_MAX_INPUT, "too_long").lower()
    total = Decimal(0)
    seen: set[int] = set()
    pos = 0
    while pos < len(t):
        m = _DURATION_PART.match(t, pos)
        if not m:
            raise ParseError("format")
        seconds = _DURATION_UNITS.get(m["unit"])
        if seconds is None or seconds in seen:
            raise ParseError("format")
        seen.add(seconds)
        total += Decimal(m["num"]) * seconds
        pos = m.end()
    if total > MAX_DURATION_DAYS * 86400:
        raise ParseError("too_large", max_days=MAX_DURATION_DAYS)
    micros = int((total * 1_000_000).to_integral_value(rounding=ROUND_HALF_UP))
    if micros <= 0:
        raise ParseError("not_positive")
    return timedelta(microseconds=micros)


# --- free text --------------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]+")


def validate_text(text: str, *, min_len: int = 1, max_len: int) -> str:
    """Strip, drop control and invisible chars, collapse whitespace runs; enforce min/max
    length on what is left (text of only invisible characters is ``empty``)."""
    if min_len < 0 or max_len < min_len:
        raise ValueError(f"need 0 <= min_len <= max_len, got {min_len}, {max_len}")
    if not isinstance(text, str):
        raise ParseError("format")
    cleaned = " ".join(strip_invisible(_CONTROL.sub("", text)).split())
    length = len(cleaned)
    if not cleaned and min_len >= 1:
        raise ParseError("empty", min=min_len, max=max_len, length=0)
    if length < min_len:
        raise ParseError("too_short", min=min_len, max=max_len, length=length)
    if length > max_len:
        raise ParseError("too_long", min=min_len, max=max_len, length=length)
    return cleaned
