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
``not_positive``   parse_money: zero or negative amount (or one rounding to 0
                   yuan); parse_duration: a zero duration
``ambiguous``      parse_money: more than one amount, e.g. a range "5万到10万",
                   "5-10万", or a comma that is not thousands grouping ("1,2")
``currency``       parse_money: a non-RMB currency is named ($, USD, 美元, ...)
``invalid_date``   parse_date: well-formed but no such day (2026-02-30).
                   ``year``, ``month``, ``day``
``future``         parse_date: after ``today``. ``max`` (= today)
``too_early``      parse_date: before 2020-01-01. ``min``
=================  ==============================================================

Documented behaviours:

* parse_money: units 万/w (10^4), 千/k (10^3), 百, 十, 亿 (10^8) and
  combinations such as 百万, 千万, 万亿; 元/块/RMB/¥ and words like 约, 每月,
  /月 are ignored; Chinese numerals (五万) are ``format``. Compound amounts
  count as one: "1万5千" = 15000, "1万5" = 15000 (a single trailing digit counts
  in the next lower unit, as spoken Chinese does), "1万500" = 10500. Any second
  amount makes the input ``ambiguous`` (ranges, "2024年5万"). The result is
  rounded half-up to whole yuan.
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
* parse_contact: input containing "@" is parsed as e-mail (its codes apply),
  anything else as a phone number.
* parse_email: a leading "mailto:", "Email:" or "邮箱：" label is ignored; the
  local part is kept as typed, the domain lower-cased, a trailing dot dropped.
* validate_text does no HTML escaping (rendering must escape); it removes
  control characters and collapses whitespace runs (newlines included).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

__all__ = [
    "MAX_DURATION_DAYS",
    "MAX_MONEY_YUAN",
    "MIN_DATE",
    "ParseError",
    "parse_contact",
    "parse_date",
    "parse_duration",
    "parse_email",
    "parse_money",
    "parse_phone",
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


def _prepare(text: str, max_len: int | None, long_code: str) -> str:
    """Strip, length-check (before and after NFKC) and NFKC-normalise input text."""
    if not isinstance(text, str):
        raise ParseError("format")
    stripped = text.strip()
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
_THOUSANDS = re.compile(r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_FOREIGN_CURRENCY = re.compile(
    r"[$€£₩]|usd|eur|gbp|hkd|jpy|rub|美元|美金|欧元|英镑|港币|港元|日元|卢布|韩元"
)


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


def parse_money(text: str) -> int:
    """Parse an RMB amount like "5万", "¥50,000", "1.5w" into whole yuan."""
    t = _prepare(text, _MONEY_MAX_INPUT, "too_long").lower()
    if _FOREIGN_CURRENCY.search(t):
        raise ParseError("currency")
    tokens = list(_MONEY_TOKEN.finditer(t))
    if not tokens:
        raise ParseError("format")

    # Merge compound amounts ("1万5千", "1万5", "1万500") into one amount.
    amounts: list[tuple[bool, Decimal]] = []  # (negative, value)
    prev = None
    smallest = 0  # smallest unit scale used so far in the current compound amount
    for tok in tokens:
        num = tok["num"]
        if "," in num and not _THOUSANDS.fullmatch(num):
            raise ParseError("ambiguous")
        scale = _unit_scale(tok["unit"])
        value = Decimal(num.replace(",", "")) * scale
        if (
            prev is not None
            and smallest >= 100
            and not tok["sign"]
            and "." not in prev["num"]
            and "." not in num
            and not t[prev.end() : tok.start()].strip()
        ):
            if tok["unit"] and scale < smallest:
                amounts[-1] = (amounts[-1][0], amounts[-1][1] + value)
                smallest, prev = scale, tok
                continue
            if not tok["unit"]:
                implied = smallest // 10
                if len(num) == 1 and num != "0":
                    amounts[-1] = (amounts[-1][0], amounts[-1][1] + value * implied)
                    smallest, prev = 1, tok
                    continue
                if value < smallest:
                    amounts[-1] = (amounts[-1][0], amounts[-1][1] + value)
                    smallest, prev = 1, tok
                    continue
        amounts.append((bool(tok["sign"]), value))
        smallest, prev = scale, tok

    if len(amounts) > 1:
        raise ParseError("ambiguous")
    negative, value = amounts[0]
    if value > MAX_MONEY_YUAN:
        raise ParseError("too_large", max=MAX_MONEY_YUAN, value=int(value))
    yuan = int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if negative or yuan <= 0:
        raise ParseError("not_positive")
    return yuan


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
        if len(groups) >= 3 and groups[-1].isdigit() and len(groups[-1]) <= 6:
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


def parse_contact(text: str) -> tuple[str, str]:
    """Parse a phone number or e-mail; return ("phone", value) or ("email", value)."""
    t = _prepare(text, None, "format")
    if "@" in t:
        return "email", parse_email(t)
    return "phone", parse_phone(t)


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
    """Strip, drop control chars, collapse whitespace runs; enforce min/max length."""
    if min_len < 0 or max_len < min_len:
        raise ValueError(f"need 0 <= min_len <= max_len, got {min_len}, {max_len}")
    if not isinstance(text, str):
        raise ParseError("format")
    cleaned = " ".join(_CONTROL.sub("", text).split())
    length = len(cleaned)
    if not cleaned and min_len >= 1:
        raise ParseError("empty", min=min_len, max=max_len, length=0)
    if length < min_len:
        raise ParseError("too_short", min=min_len, max=max_len, length=length)
    if length > max_len:
        raise ParseError("too_long", min=min_len, max=max_len, length=length)
    return cleaned
