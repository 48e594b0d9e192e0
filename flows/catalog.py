"""The content data a flow may consult (loaded from content/<locale>/*.yaml by bot.content)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flows.intents import IntentMatcher


@dataclass(frozen=True)
class Catalog:
    """All YAML data of one locale, by file stem (e.g. data["shipping"]), plus the intents."""

    data: dict[str, Any]
    intents: IntentMatcher
    locale: str = "zh-CN"
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        """The parsed content of `<name>.yaml`."""
        return self.data[name]

    def guide(self, name: str) -> dict[str, Any]:
        """A shipping guide by name ("seller" or "warehouse")."""
        guide: dict[str, Any] = self.data["shipping"]["guides"][name]
        return guide
