"""Telegram's HTML parse mode, checked strictly: the plain text and the entities a message gets.

Used by `merchant-bot content-check` (every screen is parsed and measured as Telegram would)
and by the local Bot API emulator (devserver/, not part of the installed bot).

Built on :mod:`html.parser`, which is lenient by design; every construct it silently
drops or repairs is turned into an error here, so the checker is at least as strict as
Telegram (stricter on purpose for bare ``&``, which Telegram would keep as text, and for ``<a>``
without ``href``). Entities that may not nest (see ``_nest``) are not refused, as Telegram does
not refuse them: they are dropped as Telegram drops them, and ``ParsedText.dropped`` says what
formatting is lost. Sources: core.telegram.org/bots/api#formatting-options; tdlib/td
MessageEntity.cpp (parse_html, fix_entities).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

# Telegram tag -> entity type (span / tg-spoiler / a / code / pre / blockquote / tg-emoji refined)
_TAGS: dict[str, str] = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES: dict[str, str] = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_NEWLINE = re.compile("\n")


class HtmlError(ValueError):
    """The text is not valid Telegram HTML; str(err) is the part after "can't parse entities: "."""


HtmlParseError = HtmlError  # alternative name


@dataclass
class ParsedText:
    """Plain text (as Telegram stores it) plus its entities with UTF-16 offsets.

    dropped: formatting the HTML asks for that Telegram drops because the entities may not nest
    that way (e.g. bold over a <code> part), one note each; the text is still sent."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)


@dataclass
class _Open:
    tag: str
    offset: int  # UTF-16 offset in the plain text where the tag's content starts
    entity: dict[str, Any]
    at: int  # byte offset of the start tag in the source


@dataclass
class _Raw:
    """An entity as the HTML gives it, before Telegram's nesting rules are applied."""

    entity: dict[str, Any]
    tag: str
    at: int

    @property
    def start(self) -> int:
        return int(self.entity["offset"])

    @property
    def end(self) -> int:
        return int(self.entity["offset"] + self.entity["length"])


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units, the unit Telegram measures texts in."""
    if s.isascii():
        return len(s)
    return len(s.encode("utf-16-le")) // 2


class _TelegramHTMLParser(HTMLParser):
    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._source = source
        self._line_starts = [0] + [m.end() for m in _NEWLINE.finditer(source)]
        self._parts: list[str] = []
        self._pos16 = 0
        self._stack: list[_Open] = []
        self._expect = 0  # index in source where the next construct must start
        self.raw: list[_Raw] = []

    # -- helpers -------------------------------------------------------------------------------
    def _abs(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _byte(self, index: int) -> int:
        return len(self._source[:index].encode("utf-8"))

    def _fail(self, message: str) -> None:
        raise HtmlError(message)

    def _advance(self, start: int, end: int) -> None:
        # html.parser silently swallows some input (e.g. "a&b", "</>"): catch any gap
        if start != self._expect:
            self._fail(f"Unsupported character at byte offset {self._byte(self._expect)}")
        self._expect = end

    def _emit_text(self, s: str) -> None:
        self._parts.append(s)
        self._pos16 += utf16_len(s)

    # -- html.parser callbacks -----------------------------------------------------------------
    def handle_data(self, data: str) -> None:
        start = self._abs()
        self._advance(start, start + len(data))
        if not self._source.startswith(data, start):
            self._fail(f"Unsupported character at byte offset {self._byte(start)}")
        for ch, what in (("<", "tag"), ("&", "entity")):
            idx = data.find(ch)
            if idx < 0:
                continue
            at = self._byte(start + idx)
            if what == "entity":
                self._fail(f'Unsupported HTML entity or bare "&" at byte offset {at}')
            after = self._source[start + idx + 1 : start + idx + 2]
            if after.isalpha():
                self._fail(f"Unclosed start tag at byte offset {at}")
            if after == "/":
                self._fail(f"Unclosed end tag at byte offset {at}")
            self._fail(f'Unsupported start tag "" at byte offset {at}')
        self._emit_text(data)

    def handle_entityref(self, name: str) -> None:
        start = self._abs()
        end = start + 1 + len(name)
        at = self._byte(start)
        if name not in _NAMED_ENTITIES:
            self._fail(f'Unsupported HTML entity "&{name};" at byte offset {at}')
        if self._source[end : end + 1] != ";":
            self._fail(f"Unterminated HTML entity at byte offset {at}")
        self._advance(start, end + 1)
        self._emit_text(_NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        start = self._abs()
        end = start + 2 + len(name)
        at = self._byte(start)
        if self._source[end : end + 1] != ";":
            self._fail(f"Unterminated HTML entity at byte offset {at}")
        code = int(name[1:], 16) if name[:1] in ("x", "X") else int(name)
        if code <= 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            self._fail(f"Invalid numeric HTML entity at byte offset {at}")
        self._advance(start, end + 1)
        self._emit_text(chr(code))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._abs()
        raw = self.get_starttag_text() or ""
        self._advance(start, start + len(raw))
        at = self._byte(start)
        kind = _TAGS.get(tag)
        if kind is None:
            self._fail(f'Unsupported start tag "{tag}" at byte offset {at}')
        attr = dict(attrs)
        entity: dict[str, Any] = {"type": kind}
        if tag == "span" and attr.get("class") != "tg-spoiler":
            self._fail(f'Tag "span" must have class "tg-spoiler" at byte offset {at}')
        elif tag == "a":
            href = attr.get("href")
            if not href:
                self._fail(f'Tag "a" must have attribute "href" at byte offset {at}')
            entity["url"] = href
        elif tag == "tg-emoji":
            emoji_id = attr.get("emoji-id")
            if not emoji_id:
                self._fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {at}')
            entity["custom_emoji_id"] = emoji_id
        elif tag == "blockquote" and "expandable" in attr:
            entity["type"] = "expandable_blockquote"
        elif tag == "code":
            cls = attr.get("class") or ""
            if cls.startswith("language-") and len(cls) > len("language-"):
                entity["language"] = cls[len("language-") :]  # kept only for <pre><code>
        self._stack.append(_Open(tag, self._pos16, entity, at))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f'Unsupported self-closing tag "{tag}" at byte offset {self._byte(self._abs())}')

    def handle_endtag(self, tag: str) -> None:
        start = self._abs()
        close = self._source.find(">", start)
        self._advance(start, close + 1 if close >= 0 else len(self._source))
        at = self._byte(start)
        if not self._stack:
            self._fail(f"Unexpected end tag at byte offset {at}")
        top = self._stack[-1]
        if top.tag != tag:
            self._fail(
                f'Unmatched end tag at byte offset {at}, expected "</{top.tag}>", found "</{tag}>"'
            )
        self._stack.pop()
        length = self._pos16 - top.offset
        if length <= 0:
            return
        entity = {**top.entity, "offset": top.offset, "length": length}
        last = self.raw[-1].entity if self.raw else None
        same = last is not None and (last["offset"], last["length"]) == (top.offset, length)
        if tag == "pre" and same and last is not None and last["type"] == "code":
            # <pre><code class="language-x">…</code></pre>: one pre entity with a language
            if "language" in last:
                self.raw[-1] = _Raw({**last, "type": "pre"}, "pre", top.at)
                return
        self.raw.append(_Raw(entity, tag, top.at))

    def handle_comment(self, data: str) -> None:
        self._fail(f"Unsupported start tag at byte offset {self._byte(self._abs())}")

    def handle_decl(self, decl: str) -> None:
        self._fail(f"Unsupported start tag at byte offset {self._byte(self._abs())}")

    def handle_pi(self, data: str) -> None:
        self._fail(f"Unsupported start tag at byte offset {self._byte(self._abs())}")

    def unknown_decl(self, data: str) -> None:
        self._fail(f"Unsupported start tag at byte offset {self._byte(self._abs())}")

    def finish(self) -> ParsedText:
        self.close()
        if self._expect != len(self._source):
            self._fail(f"Unsupported character at byte offset {self._byte(self._expect)}")
        if self._stack:
            self._fail(f'Can\'t find end tag corresponding to start tag "{self._stack[-1].tag}"')
        for raw in self.raw:
            if raw.entity["type"] == "code":
                raw.entity.pop("language", None)  # a language only counts on a pre
        entities, dropped = _nest(self.raw)
        return ParsedText("".join(self._parts), entities, dropped)


_SPLITTABLE = frozenset({"bold", "italic", "underline", "strikethrough", "spoiler"})
_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
_PRE = frozenset({"pre", "code"})
# Telegram's order for entities on the same text (MessageEntity::get_type_priority)
_PRIORITY = {"pre": 11, "code": 20, "text_link": 49, "custom_emoji": 99}


def _intersecting(kept: list[_Raw], raw: _Raw) -> _Raw | None:
    return next((k for k in kept if k.start < raw.end and raw.start < k.end), None)


def _nest(raws: list[_Raw]) -> tuple[list[dict[str, Any]], list[str]]:
    """Apply Telegram's nesting rules (core.telegram.org/bots/api#formatting-options; tdlib/td
    MessageEntity.cpp fix_entities): Telegram does not refuse such HTML, it drops what may not
    nest, so a message keeps its text and loses that formatting. Returns the entities Telegram
    keeps and a note for each piece of formatting it drops.

    * links, custom emoji, pre and code cannot contain each other: the outer one stays (for one
      span of text, pre before code before a link);
    * blockquotes cannot be nested (the outer stays); one may hold links, code and pre, but a
      link or code around a blockquote is dropped;
    * bold, italic, underline, strikethrough and spoiler nest with anything, except that they
      do not apply inside pre and code: they are cut around them.

    Not modelled (nothing is lost): Telegram may split a bold span at a nested link into pieces.
    """
    dropped: list[str] = []
    order = sorted(
        raws,
        key=lambda r: (
            r.start,
            -(r.end - r.start),
            _PRIORITY.get(r.entity["type"], 0) - ("language" in r.entity),
        ),
    )
    blockquotes: list[_Raw] = []
    for raw in (r for r in order if r.entity["type"] in _BLOCKQUOTES):
        outer = _intersecting(blockquotes, raw)
        if outer is None:
            blockquotes.append(raw)
        else:
            dropped.append(f"<{raw.tag}> at byte offset {raw.at}: blockquotes cannot be nested")
    continuous: list[_Raw] = []
    for raw in (r for r in order if r.entity["type"] not in _SPLITTABLE | _BLOCKQUOTES):
        outer = _intersecting(continuous, raw)
        quote = next((q for q in blockquotes if raw.start < q.end and q.start < raw.end), None)
        if outer is not None:
            if (outer.tag, raw.tag, outer.start, outer.end) == ("pre", "code", raw.start, raw.end):
                continue  # <pre><code>…</code></pre>: the block as documented, nothing lost
            dropped.append(
                f"<{raw.tag}> at byte offset {raw.at}: inside <{outer.tag}> at byte offset "
                f"{outer.at} (links, custom emoji, pre and code cannot contain each other)"
            )
        elif quote is not None and (raw.start < quote.start or quote.end < raw.end):
            dropped.append(
                f"<{raw.tag}> at byte offset {raw.at}: it holds <{quote.tag}> at byte offset "
                f"{quote.at} (only a blockquote may hold other blocks)"
            )
        else:
            continuous.append(raw)
    pres = [r for r in continuous if r.entity["type"] in _PRE]
    spans: dict[str, list[tuple[int, int]]] = {}
    for raw in (r for r in raws if r.entity["type"] in _SPLITTABLE):
        pieces = [(raw.start, raw.end)]
        for pre in pres:
            if pre.end <= raw.start or raw.end <= pre.start:
                continue
            inside = pre.start <= raw.start and raw.end <= pre.end
            where = "inside" if inside else "over"
            dropped.append(
                f"<{raw.tag}> at byte offset {raw.at}: no effect {where} <{pre.tag}> at byte "
                f"offset {pre.at} (pre and code take no other formatting)"
            )
            pieces = [
                part
                for a, b in pieces
                for part in ((a, min(b, pre.start)), (max(a, pre.end), b))
                if part[0] < part[1]
            ]
        spans.setdefault(raw.entity["type"], []).extend(pieces)
    entities = [r.entity for r in (*blockquotes, *continuous)]
    for kind, pieces in spans.items():
        merged: list[list[int]] = []
        for a, b in sorted(pieces):  # overlapping or touching spans of one kind are one
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        entities += [{"type": kind, "offset": a, "length": b - a} for a, b in merged]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return entities, dropped


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML strictly; raise HtmlError on anything Telegram would reject."""
    if "<" not in source and "&" not in source:
        return ParsedText(source)  # fast path: nothing to parse
    parser = _TelegramHTMLParser(source)
    parser.feed(source)
    return parser.finish()


def strip_text(parsed: ParsedText) -> ParsedText:
    """Trim surrounding whitespace like Telegram does, shifting and clipping entities."""
    text = parsed.text
    stripped = text.strip()
    if stripped == text:
        entities = parsed.entities
    else:
        lead = utf16_len(text[: len(text) - len(text.lstrip())])
        total = utf16_len(stripped)
        entities = []
        for ent in parsed.entities:
            start = max(0, ent["offset"] - lead)
            end = min(total, ent["offset"] + ent["length"] - lead)
            if end > start:
                entities.append({**ent, "offset": start, "length": end - start})
    entities = sorted(entities, key=lambda e: (e["offset"], -e["length"]))
    return ParsedText(stripped, entities, parsed.dropped)


def visible_length(source: str) -> int:
    """Length Telegram checks against 4096: UTF-16 units of the trimmed text after parsing HTML."""
    return utf16_len(parse_html(source).text.strip())
