"""Free-text intent matching driven by content/<locale>/intents.yaml (pure: no I/O)."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opencc import OpenCC

# Only this many characters of raw input are normalised (a Telegram message has at most 4096).
MAX_INPUT_CHARS = 2000
# Only this many characters of normalised text are examined by the patterns.
MAX_MATCH_CHARS = 500
# Longest pattern an operator may write (longer ones are almost always a mistake).
MAX_PATTERN_CHARS = 500

_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")
_ALLOWED_KEYS = frozenset({"name", "patterns", "exclude"})
# A quantified group whose body ends with a quantifier, e.g. (a+)+ or (?:x.*)* : the classic
# shape of catastrophic backtracking.  A heuristic, not a proof; patterns are also run on
# capped input only.
_NESTED_REPEAT_RE = re.compile(r"(?<!\\)[*+}]\??\)[*+{]")
_KEPT_CATEGORIES = frozenset("LN")  # letters and digits; punctuation, symbols, spaces go


@functools.cache
def _converter() -> OpenCC:
    """Return the shared Traditional→Simplified converter (created once)."""
    return OpenCC("t2s")


def normalise_text(text: str) -> str:
    """NFKC, Traditional→Simplified, lower-case, drop whitespace, punctuation and symbols."""
    text = _converter().convert(unicodedata.normalize("NFKC", text)).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in _KEPT_CATEGORIES)


@dataclass(frozen=True)
class Intent:
    """One intent: matches when a pattern matches and no exclude pattern does."""

    name: str
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...]

    def matches(self, normalised: str) -> bool:
        """Return whether this intent fits already-normalised text."""
        return any(p.search(normalised) for p in self.patterns) and not any(
            p.search(normalised) for p in self.exclude
        )


class IntentMatcher:
    """Ordered intents; the first one that matches wins (YAML order is priority)."""

    __slots__ = ("_intents", "_names")

    def __init__(self, intents: Iterable[Intent]) -> None:
        """Keep the intents in priority order."""
        self._intents: tuple[Intent, ...] = tuple(intents)
        self._names: tuple[str, ...] = tuple(i.name for i in self._intents)

    @property
    def names(self) -> tuple[str, ...]:
        """Intent names in priority order."""
        return self._names

    @property
    def intents(self) -> tuple[Intent, ...]:
        """The intents in priority order."""
        return self._intents

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> IntentMatcher:
        """Build from yaml.safe_load(intents.yaml); raise ValueError naming what is wrong."""
        if not isinstance(data, Mapping) or "intents" not in data:
            raise ValueError("intents.yaml: expected a top-level 'intents:' list")
        items = data["intents"]
        if not isinstance(items, list) or not items:
            raise ValueError("intents.yaml: 'intents' must be a non-empty list")
        intents: list[Intent] = []
        seen: set[str] = set()
        for index, item in enumerate(items, start=1):
            intent = _parse_intent(index, item)
            if intent.name in seen:
                raise ValueError(f"intents.yaml: duplicate intent name '{intent.name}' (#{index})")
            seen.add(intent.name)
            intents.append(intent)
        return cls(intents)

    def normalise(self, text: str) -> str:
        """NFKC, Traditional→Simplified, lower-case, drop whitespace and punctuation."""
        return normalise_text(text)

    def match(self, text: str) -> str | None:
        """Return the first intent name matching text, or None."""
        if not text:
            return None
        normalised = normalise_text(text[:MAX_INPUT_CHARS])[:MAX_MATCH_CHARS]
        if not normalised:
            return None
        for intent in self._intents:
            if intent.matches(normalised):
                return intent.name
        return None


def _parse_intent(index: int, item: Any) -> Intent:
    """Validate and compile one YAML intent entry."""
    where = f"intents.yaml: intent #{index}"
    if not isinstance(item, Mapping):
        raise ValueError(f"{where}: expected 'name:' and 'patterns:' keys, got {item!r}")
    name = item.get("name")
    if name is None or (isinstance(name, str) and not name.strip()):
        raise ValueError(f"{where}: missing 'name'")
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ValueError(f"{where}: bad name {name!r} (use lower-case letters, digits, '_')")
    where = f"intents.yaml: intent '{name}'"
    unknown = sorted(str(k) for k in item if k not in _ALLOWED_KEYS)
    if unknown:
        allowed = ", ".join(sorted(_ALLOWED_KEYS))
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)} (allowed: {allowed})")
    patterns = _compile_list(where, "patterns", item.get("patterns"), required=True)
    exclude = _compile_list(where, "exclude", item.get("exclude"), required=False)
    return Intent(name=name, patterns=patterns, exclude=exclude)


def _compile_list(where: str, key: str, raw: Any, *, required: bool) -> tuple[re.Pattern[str], ...]:
    """Compile one list of patterns, naming the intent and pattern on error."""
    if raw is None:
        if required:
            raise ValueError(f"{where}: missing '{key}' (a list of patterns)")
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: '{key}' must be a list (one '- pattern' per line)")
    if required and not raw:
        raise ValueError(f"{where}: '{key}' is empty")
    return tuple(_compile_one(where, key, source) for source in raw)


def _compile_one(where: str, key: str, source: Any) -> re.Pattern[str]:
    """Compile one pattern after checking it can be useful and is not dangerously slow."""
    if not isinstance(source, str) or not source:
        raise ValueError(f"{where}: {key} entry {source!r} must be non-empty text (quote it)")
    if len(source) > MAX_PATTERN_CHARS:
        raise ValueError(
            f"{where}: {key} pattern {source[:40]!r}... is longer than {MAX_PATTERN_CHARS}"
            " characters; split it into several patterns"
        )
    for ch in source:
        if ch.isspace() or (ord(ch) > 127 and unicodedata.category(ch)[0] in "PSZC"):
            raise ValueError(
                f"{where}: {key} pattern {source!r} contains {ch!r}, which is removed from "
                "messages before matching, so it can never match"
            )
    if _NESTED_REPEAT_RE.search(source):
        raise ValueError(
            f"{where}: {key} pattern {source!r} repeats a repeated group (like (a+)+), "
            "which can be extremely slow; rewrite it"
        )
    try:
        compiled = re.compile(_converter().convert(source), re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{where}: invalid {key} pattern {source!r}: {exc}") from None
    if compiled.search(""):
        raise ValueError(f"{where}: {key} pattern {source!r} matches empty text (everything)")
    return compiled
