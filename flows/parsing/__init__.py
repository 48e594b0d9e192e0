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
                   parse_email, parse_contact, parse_wechat: over 254
                   characters; parse_duration: over 100
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
  "12月1日" is the past); 今天 too (昨天 / 前天 are ``past``).
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

from flows.parsing.contact import parse_contact, parse_email, parse_phone, parse_wechat
from flows.parsing.dates import parse_date, parse_due_date, parse_duration, parse_past_date
from flows.parsing.money import parse_money
from flows.parsing.text import (
    MAX_DURATION_DAYS,
    MAX_MONEY_YUAN,
    MIN_DATE,
    ParseError,
    ascii_int,
    strip_invisible,
    validate_text,
)

__all__ = [
    "MAX_DURATION_DAYS",
    "MAX_MONEY_YUAN",
    "MIN_DATE",
    "ParseError",
    "ascii_int",
    "parse_contact",
    "parse_date",
    "parse_due_date",
    "parse_past_date",
    "parse_duration",
    "parse_email",
    "parse_money",
    "parse_phone",
    "parse_wechat",
    "strip_invisible",
    "validate_text",
]
