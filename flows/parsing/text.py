"""Shared parsing pieces: ParseError, invisible characters, plain integers, free text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import date

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

    def __reduce__(self) -> tuple[Callable[..., ParseError], tuple[str, dict[str, object]]]:
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
