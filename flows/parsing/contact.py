"""Contacts: mobile and landline phones, e-mail addresses, WeChat ids."""

from __future__ import annotations

import re

from flows.parsing.text import (
    _EMAIL_MAX,
    _PHONE_MAX_INPUT,
    ParseError,
    _prepare,
)

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
    """A WeChat id (6-20 characters: a letter, then letters, digits, _ or -) or a mobile.
    Text longer than any contact (an e-mail address's 254 characters) is ``too_long``."""
    t = _prepare(text, _EMAIL_MAX, "too_long")
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
    WeChat; an unlabelled id that is no phone number ("Zhang_San88") is WeChat too. Text
    longer than any contact (an e-mail address's 254 characters) is ``too_long``.
    """
    t = _prepare(text, _EMAIL_MAX, "too_long")
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
