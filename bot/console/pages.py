"""The console's pages: Jinja2 templates and labels from content/<locale>/console/.

Like the bot's own content, the Chinese texts live in content/ (console.yaml for the labels,
*.html for the pages), other locales fall back to zh-CN, and every variable is escaped
(autoescape), so a shop name or a note shows literally, tags and all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import yaml

from bot.content import CONTENT_ROOT, DEFAULT_LOCALE, Content, _merge

CONSOLE_DIR = "console"


def local_time(value: Any, zone: ZoneInfo) -> str:
    """A stored UTC ISO moment as "YYYY-MM-DD HH:MM" in the bot's time zone."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)[:16].replace("T", " ")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def percent(value: Any) -> str:
    """A ratio as a percentage ("56%", "—" when there is none)."""
    if value is None:
        return "—"
    return f"{float(value) * 100:.0f}%"


def number(value: Any) -> str:
    """A count with thousands separators (12,345)."""
    return f"{int(value or 0):,}"


def fmt(template: str, **values: Any) -> str:
    """A label with {placeholders} (str.format; escaped later by the page's autoescape)."""
    return template.format(**values)


class Pages:
    """Renders the console's pages for one locale."""

    def __init__(self, content: Content, zone: ZoneInfo, root: Path = CONTENT_ROOT) -> None:
        dirs = [root / DEFAULT_LOCALE / CONSOLE_DIR]
        if content.locale != DEFAULT_LOCALE and (root / content.locale / CONSOLE_DIR).is_dir():
            dirs.insert(0, root / content.locale / CONSOLE_DIR)
        labels: dict[str, Any] = {}
        for directory in reversed(dirs):
            file = directory / "console.yaml"
            if file.is_file():
                labels = _merge(labels, yaml.safe_load(file.read_text(encoding="utf-8")) or {})
        self.labels = labels
        self.content = content
        self.zone = zone
        self.env = jinja2.Environment(
            loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals.update(L=labels, t=content.data, fmt=fmt, zone=str(zone.key))
        self.env.filters["local"] = lambda value: local_time(value, zone)
        # a file size as merchants read it: the bot's own macro (templates/_macros.j2)
        sizes = content.env.get_template("_macros.j2").module.file_size  # type: ignore[attr-defined]
        self.env.filters["size"] = lambda value: sizes(int(value or 0))
        self.env.filters["pct"] = percent
        self.env.filters["num"] = number
        self.env.filters["day"] = content.env.filters["day"]

    def render(self, name: str, **data: Any) -> str:
        """One page (a template name without .html)."""
        return self.env.get_template(f"{name}.html").render(**data)

    def status_name(self, code: str | None) -> str:
        """A status code as operators read it (已提交 …), or the "not submitted" label."""
        if not code:
            return str(self.labels["status_none"])
        found = self.content.data["statuses"]["statuses"].get(code)
        return str(found["name"]) if found else code

    def route_name(self, code: str | None) -> str:
        """A route code as operators read it."""
        if not code:
            return str(self.labels["routes_none"])
        found = self.content.data["routes"]["routes"].get(code)
        return str(found["name"]) if found else code

    def item_name(self, key: str | None) -> str:
        """A checklist item's key as operators read it (营业执照 …)."""
        for items in self.content.data["documents"]["routes"].values():
            for item in items:
                if str(item["key"]) == key:
                    return str(item["name"])
        return str(key or "")

    def stage_name(self, key: str | None, route: str | None) -> str:
        """A journey stage key as operators read it."""
        if not key:
            return ""
        if key == "done":
            return str(self.labels["list"]["stage_done"])
        names = self.content.data["ui"]["stages"]
        name = names.get(key, key)
        if isinstance(name, dict):
            return str(name.get(route or "none", name.get("none", key)))
        return str(name)
