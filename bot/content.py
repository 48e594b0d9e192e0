"""Loading content/<locale>/ (YAML data and Jinja2 templates) and rendering screens.

Templates render HTML for Telegram's HTML parse mode with autoescaping on, so every variable
(a merchant's shop name, an operator's note) is escaped. Button labels are plain text and are
rendered by a separate, non-escaping environment. Other locales fall back to zh-CN, key by key.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
import yaml

import content as content_pkg
from bot import callbacks
from flows.catalog import Catalog
from flows.core import Button, Screen
from flows.intents import IntentMatcher

DEFAULT_LOCALE = "zh-CN"
CONTENT_ROOT = Path(content_pkg.__file__).resolve().parent


class ContentError(Exception):
    """Content that cannot be loaded or rendered."""


def _merge(base: Any, over: Any) -> Any:
    """Deep-merge two YAML trees: mappings key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return over


def _load_yaml_dir(path: Path) -> dict[str, Any]:
    """Every *.yaml file of a directory, by file stem."""
    data: dict[str, Any] = {}
    for file in sorted(path.glob("*.yaml")):
        try:
            data[file.stem] = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ContentError(f"{file}: {exc}") from exc
    return data


class Content:
    """One locale's data and templates, ready to render screens."""

    def __init__(self, locale: str = DEFAULT_LOCALE, root: Path = CONTENT_ROOT) -> None:
        self.locale = locale
        self.root = root
        dirs = [root / DEFAULT_LOCALE]
        if locale != DEFAULT_LOCALE and (root / locale).is_dir():
            dirs.insert(0, root / locale)
        data: dict[str, Any] = {}
        for directory in reversed(dirs):  # fallback first, the locale's own keys on top
            data = _merge(data, _load_yaml_dir(directory))
        # Feature files ui_<feature>.yaml add their labels and notices to ui.yaml's.
        ui = data.setdefault("ui", {})
        for name in sorted(k for k in data if k.startswith("ui_")):
            for section, values in (data[name] or {}).items():
                clash = set(ui.get(section, {})) & set(values or {})
                if clash:
                    raise ContentError(f"{name}.yaml redefines {section} {sorted(clash)}")
                ui.setdefault(section, {}).update(values or {})
        self.data = data
        try:
            intents = IntentMatcher.from_data(data.get("intents", {}))
        except ValueError as exc:
            raise ContentError(f"intents.yaml: {exc}") from exc
        self.catalog = Catalog(data, intents, locale)
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(str(d / "templates")) for d in dirs]
            ),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=False,
        )
        self.env.globals["t"] = data
        self.env.filters["day"] = self._format_day
        self.env.filters["money"] = self._format_money
        self.env.filters["by_route"] = by_route
        self._labels = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
        self._labels.filters["day"] = self._format_day

    def _format_day(self, iso: str) -> str:
        """An ISO date as the locale writes it, with the weekday (ui.yaml `day_format`)."""
        day = date.fromisoformat(str(iso))
        fmt = self.data["ui"].get("day_format", "{year}-{month:02d}-{day:02d} ({weekday})")
        weekdays = self.data["ui"].get("weekdays", ["1", "2", "3", "4", "5", "6", "7"])
        return fmt.format(
            year=day.year, month=day.month, day=day.day, weekday=weekdays[day.weekday()]
        )

    def _format_money(self, amount: int) -> str:
        """A yuan amount with thousands separators (ui.yaml `money_format`)."""
        return self.data["ui"].get("money_format", "{amount:,}").format(amount=int(amount))

    def template_names(self) -> list[str]:
        """Every screen template (shared snippets start with an underscore)."""
        return sorted(
            name.removesuffix(".j2")
            for name in self.env.list_templates(extensions=["j2"])
            if not name.startswith("_")
        )

    def render_text(self, template: str, data: dict[str, Any] | None = None) -> str:
        """Render one template to HTML text."""
        try:
            tpl = self.env.get_template(f"{template}.j2")
            return tpl.render(**(data or {})).strip()
        except jinja2.TemplateError as exc:
            raise ContentError(f"template {template!r}: {exc}") from exc

    def label(self, button: Button) -> str:
        """A button's plain-text label."""
        source = self.data["ui"]["labels"].get(button.label)
        if source is None:
            raise ContentError(f"no label {button.label!r} in ui.yaml")
        if "{" not in source:
            return source
        return _label_template(self._labels, source).render(**dict(button.params)).strip()

    def notice(self, key: str, params: dict[str, Any] | None = None) -> str:
        """A short callback answer text (a template when it has {{ }} placeholders)."""
        source = str(self.data["ui"]["notices"][key])
        if "{" not in source:
            return source
        return _label_template(self._labels, source).render(**(params or {})).strip()

    def keyboard(self, screen: Screen) -> list[list[tuple[str, str]]]:
        """Rows of (label, callback_data) for a screen."""
        return [
            [(self.label(b), callbacks.encode(b)) for b in row] for row in screen.buttons if row
        ]


def by_route(value: Any, route: str | None) -> Any:
    """A content value written once, or per route ({agency: …, platform: …}): the route's own.

    Without a route yet, the platform's wording (the programme the bot describes by default)."""
    if isinstance(value, dict) and ("agency" in value or "platform" in value):
        return value.get(route or "platform", value.get("platform"))
    return value


@lru_cache(maxsize=256)
def _label_template(env: jinja2.Environment, source: str) -> jinja2.Template:
    """Compile a label template once."""
    return env.from_string(source)


class ContentRegistry:
    """All locales present under content/, chosen by a Telegram language code."""

    def __init__(self, root: Path = CONTENT_ROOT) -> None:
        self.root = root
        self.locales = {
            p.name: Content(p.name, root)
            for p in sorted(root.iterdir())
            if p.is_dir() and not p.name.startswith(("_", "."))
        }
        if DEFAULT_LOCALE not in self.locales:
            raise ContentError(f"{root / DEFAULT_LOCALE} is missing")

    @property
    def default(self) -> Content:
        """The zh-CN content."""
        return self.locales[DEFAULT_LOCALE]

    def for_language(self, code: str | None) -> Content:
        """Best locale for a Telegram language_code (e.g. "zh-hant" → zh-TW if present)."""
        wanted = (code or "").lower()
        for name, content in self.locales.items():
            if name.lower() == wanted:
                return content
        prefix = wanted.split("-")[0]
        for name, content in self.locales.items():
            if prefix and name.lower().split("-")[0] == prefix and name != DEFAULT_LOCALE:
                return content
        return self.default
