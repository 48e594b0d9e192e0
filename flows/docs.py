"""Placeholder: being written (see the issue)."""

from __future__ import annotations

COMMANDS: dict = {}
ACTIONS: dict = {}
INPUTS: dict = {}
