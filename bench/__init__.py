"""Benchmarks of the merchant bot against the local Bot API server (``make bench``).

Not part of the test suite. Every measurement runs the bot and the Bot API emulator in separate
processes, so the bot's CPU time and memory are its own; see bench/README.md.
"""
