"""Injectable clocks: the bot never reads the time except through one of these."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        """The current time (aware, UTC)."""
        return datetime.now(UTC)


class ShiftedClock:
    """Real time moved by an adjustable offset: the playground's `:advance` and tests use it."""

    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        """The shifted current time (aware, UTC)."""
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward (or back, with a negative delta)."""
        self.offset += delta


class FixedClock:
    """A clock that stands still until moved: for deterministic tests."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def now(self) -> datetime:
        """The fixed time."""
        return self.at

    def advance(self, delta: timedelta) -> None:
        """Move the clock."""
        self.at += delta
