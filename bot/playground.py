"""`merchant-bot chat`: the local Bot API server and the real Application in one process.

The person at the terminal is the merchant. Typed lines are messages; buttons are shown
numbered and pressed with `#N` (or `#` and part of the label, e.g. `#下一步`). Lines starting
with `:` are playground commands (`:help`). Works with piped input: a readable transcript is
printed and the program exits at the end of the input.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

from bot.app import Runtime, build_application, start_polling, stop_polling
from bot.clock import ShiftedClock
from bot.config import Settings
from bot.content import ContentRegistry
from bot.devserver.client import MerchantClient, Shown, UpdateTracker
from bot.devserver.server import BotApiServer
from bot.store import Store

HELP = """\
playground commands:
  text            send a message (e.g. /start, 怎么发货)
  #N              press button N of the last screen      #下一步  press by part of its label
  \\#text          send a line that starts with # or : literally
  :help           this help            :quit   leave (so does the end of input)
"""


def _print_shown(item: Shown, out=sys.stdout) -> None:
    """Print one screen as the merchant would see it, buttons numbered."""
    head = f"bot ✎ 已更新 #{item.message_id}" if item.edited else f"bot › #{item.message_id}"
    print(f"── {head} " + "─" * max(0, 40 - len(head)), file=out)
    if item.document:
        print(f"[文件] {item.document}", file=out)
    if item.text:
        print(item.text, file=out)
    n = 0
    for row in item.buttons:
        cells = []
        for label, _data in row:
            n += 1
            cells.append(f"[{n} {label}]")
        print("   " + " ".join(cells), file=out)
    print(file=out)


def _press_target(client: MerchantClient, spec: str) -> tuple[int, str] | None:
    """Resolve `#N` or `#label-part` against the last screen with buttons."""
    screen = client.last
    if screen is None:
        return None
    flat = [data for row in screen.buttons for _label, data in row]
    if spec.isdigit():
        index = int(spec) - 1
        return (screen.message_id, flat[index]) if 0 <= index < len(flat) else None
    try:
        return screen.message_id, screen.button(spec)
    except LookupError:
        return None


async def _lines() -> asyncio.Queue[str | None]:
    """Read stdin lines in a thread (works for terminals and pipes); None marks the end."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    loop.run_in_executor(None, reader)
    return queue


async def run_playground(settings: Settings, data_dir: Path, *, fresh: bool, user_id: int) -> int:
    """Run the interactive (or piped) session; returns the exit status."""
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(data_dir / "merchant-bot.sqlite3")
    clock = ShiftedClock()
    runtime = Runtime(
        store=store,
        contents=ContentRegistry(),
        clock=clock,
        timezone=settings.tz,
        admin_ids=settings.bot_admin_ids,
        files_dir=data_dir / "files",
    )
    tracker = UpdateTracker()
    interactive = sys.stdin.isatty()
    async with BotApiServer() as server:
        app = build_application(
            runtime,
            token=server.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            observer=tracker,
        )
        async with app:
            await start_polling(app, timeout=10)
            client = MerchantClient(server, tracker, user_id)
            print("速卖通托管助手 · 离线试玩 (offline playground). Type :help for the syntax.\n")
            queue = await _lines()
            while True:
                if interactive:
                    print("› ", end="", flush=True)
                line = await queue.get()
                if line is None:
                    break
                if not line.strip():
                    continue
                if not interactive:
                    print(f"你 › {line}")
                shown: list[Shown] | None = None
                if line.startswith("\\"):
                    shown = await client.send(line[1:])
                elif line.startswith("#"):
                    target = _press_target(client, line[1:].strip())
                    if target is None:
                        print("(no such button on the last screen)\n")
                        continue
                    shown = await client.press_data(*target)
                elif line.startswith(":"):
                    word = line[1:].strip().split(" ", 1)[0]
                    if word in ("q", "quit", "exit"):
                        break
                    print(HELP)
                    continue
                else:
                    shown = await client.send(line)
                for item in shown:
                    _print_shown(item)
            await stop_polling(app)
    await store.close()
    return 0
