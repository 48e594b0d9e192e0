"""`merchant-bot chat`: the local Bot API server and the real Application in one process.

The person at the terminal is the merchant. Typed lines are messages; buttons are shown
numbered and pressed with `#N` (or `#` and part of the label, e.g. `#下一步`). Lines starting
with `:` are playground commands (`:help`). Works with piped input: a readable transcript is
printed and the program exits at the end of the input.
"""

from __future__ import annotations

import asyncio
import json
import mimetypes
import shutil
import socket
import sys
import threading
from datetime import timedelta
from pathlib import Path

from bot.clock import ShiftedClock
from bot.config import Settings
from bot.console import Console, ConsoleOptions
from bot.content import ContentRegistry
from bot.lifespan import serving
from bot.runtime import Runtime
from bot.scheduler import Scheduler
from bot.store import Store
from devserver.client import MerchantClient, Shown, UpdateTracker, shown_since
from devserver.server import BotApiServer
from flows import reminders as rem
from flows.parsing import ParseError, ascii_int, parse_duration

HELP = """\
playground commands:
  text            send a message (e.g. /start, 怎么发货)
  #N              press button N of the last screen      #下一步  press by part of its label
  \\#text          send a line that starts with # or : literally
  :file PATH      send a file as a document (e.g. a PDF of your licence)
  :advance 3d     move the bot's clock forward (2h, 30m, 1w, 1d12h) and deliver what falls due
  :as ID          become another user; the operator is 999 by default (--operator-id):
                  `:as 999` then `/setstatus 10001 approved`
  :console        a one-time login link to the operator web console (open it in a browser;
                  as the operator, `/console` sends one in the chat too)
  :photo PATH     send a picture as a photo
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
    number = ascii_int(spec)
    if number is not None:
        index = number - 1
        return (screen.message_id, flat[index]) if 0 <= index < len(flat) else None
    try:
        return screen.message_id, screen.button(spec)
    except LookupError:
        return None


async def _send_file(client: MerchantClient, kind: str, path: Path) -> list[Shown] | None:
    """Send a file from disk as a document or a photo; None if it cannot be read."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        print(f"(cannot read {path}: {exc.strerror})\n")
        return None
    if kind == "photo":
        return await client.send_photo(content)
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return await client.send_document(content, path.name, mime)


async def _lines() -> asyncio.Queue[str | None]:
    """Read stdin lines in a thread (works for terminals and pipes); None marks the end."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    loop = asyncio.get_running_loop()

    def reader() -> None:
        for line in sys.stdin:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    # a daemon thread, not the loop's executor: at `:quit` a terminal's stdin is still open,
    # and asyncio.run would wait for an executor thread blocked on it until Ctrl-D
    threading.Thread(target=reader, name="stdin", daemon=True).start()
    return queue


class _Session:
    """The person at the terminal: one merchant at a time (`:as` switches)."""

    def __init__(
        self,
        server: BotApiServer,
        tracker: UpdateTracker,
        clock: ShiftedClock,
        scheduler: Scheduler,
        user_id: int,
    ) -> None:
        self.server = server
        self.tracker = tracker
        self.clock = clock
        self.scheduler = scheduler
        self.clients: dict[int, MerchantClient] = {}
        self.client = self._client(user_id)
        self.clock_file: Path | None = None
        self.console: Console | None = None
        self.operator_id = 0

    async def advance(self, delta: timedelta, since: int) -> None:
        """Move the clock forward, stopping at every reminder's due time on the way (in
        order, each printed as it arrives), as if the time had really passed."""
        runtime = self.scheduler.runtime
        target = self.clock.now() + delta
        while True:
            due = await runtime.store.next_due()
            if due is None or due > target:
                break
            stop = max(due, self.clock.now())
            if rem.in_quiet_hours(stop, runtime.timezone):
                stop = rem.quiet_end(stop, runtime.timezone)  # held for the night
            if stop > target:
                break
            self.clock.advance(stop - self.clock.now())
            mark = self.server.mark()
            sent = await self.scheduler.run_due()
            if self.server.mark() > mark:
                local = stop.astimezone(runtime.timezone)
                print(f"(bot time {local:%Y-%m-%d %H:%M})")
                self._print_since(mark)
            if not sent and await runtime.store.next_due() == due:
                break  # cannot be delivered now (network trouble): leave it for later
        self.clock.advance(target - self.clock.now())
        mark = self.server.mark()
        await self.scheduler.run_due()
        self._print_since(mark)

    def _save_clock(self) -> None:
        """Remember how far the clock was moved, for the next `chat` with the same data."""
        if self.clock_file is not None:
            self.clock_file.write_text(
                json.dumps({"offset_seconds": self.clock.offset.total_seconds()}), "utf-8"
            )

    def _client(self, user_id: int) -> MerchantClient:
        """The simulated merchant with this id (created on first use)."""
        if user_id not in self.clients:
            self.clients[user_id] = MerchantClient(self.server, self.tracker, user_id)
        return self.clients[user_id]

    def _print_since(self, since: int) -> None:
        """Print what the bot showed since a mark: this merchant's chat, then pushes to others."""
        for call in self.server.calls[since:]:
            if call.method == "answerCallbackQuery" and call.ok and call.params.get("text"):
                print(f"（提示）{call.params['text']}\n")  # the toast above the chat
        for chat, item in shown_since(self.server, since):
            if item.buttons:
                self._client(chat).last = item
            if chat != self.client.user_id:
                print(f"（发给 {chat} 的消息）")
            _print_shown(item)

    async def handle(self, line: str) -> bool:
        """Act on one input line; False to leave."""
        since = self.server.mark()
        client = self.client
        if line.startswith("\\"):
            await client.send(line[1:])
        elif line.startswith("#"):
            target = _press_target(client, line[1:].strip())
            if target is None:
                print("(no such button on the last screen)\n")
                return True
            await client.press_data(*target)
        elif line.startswith(":"):
            return await self._command(line[1:].strip(), since)
        else:
            await client.send(line)
        self._print_since(since)
        return True

    async def _command(self, text: str, since: int) -> bool:
        """A playground command (`:advance 3d`, `:as 999`, `:file PATH` …)."""
        word, _, rest = text.partition(" ")
        rest = rest.strip()
        if word in ("q", "quit", "exit"):
            return False
        if word in ("file", "photo") and rest:
            if await _send_file(self.client, word, Path(rest).expanduser()) is None:
                return True
        elif word == "advance" and rest:
            try:
                delta = parse_duration(rest)
            except ParseError:
                print("(usage: :advance 3d, :advance 2h30m, :advance 1w)\n")
                return True
            await self.advance(delta, since)
            self._save_clock()
            local = self.clock.now().astimezone(self.scheduler.runtime.timezone)
            print(f"(clock moved by {delta}; bot time is now {local:%Y-%m-%d %H:%M %Z})\n")
            return True
        elif word == "console":
            if self.console is None:
                print("(the console is off: BOT_CONSOLE_PORT=0)\n")
            else:
                link = await self.console.issue_link(self.operator_id)
                print(f"(operator {self.operator_id}'s login link, 10 minutes, single use:)")
                print(f"{link}\n")
            return True
        elif word == "as" and (uid := ascii_int(rest)):
            self.client = self._client(uid)
            print(f"(you are now user {uid})\n")
            return True
        else:
            print(HELP)
            return True
        self._print_since(since)
        return True


def _console_options(settings: Settings) -> ConsoleOptions | None:
    """The console's address: BOT_CONSOLE_HOST/PORT (0: none); if that port is taken (a
    `merchant-bot run` next to it, say) the playground takes any free port instead."""
    if settings.bot_console_port == 0:
        return None
    host, port = settings.bot_console_host, settings.bot_console_port
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.bind((host, port))
    except OSError:
        print(f"(port {port} is taken: the console uses a free port instead)")
        return ConsoleOptions(host, 0, "")
    return ConsoleOptions(host, port, settings.bot_console_url)


def _saved_offset(path: Path) -> timedelta:
    """The clock offset an earlier `chat` with the same data left (none: real time)."""
    try:
        return timedelta(seconds=float(json.loads(path.read_text("utf-8"))["offset_seconds"]))
    except (OSError, ValueError, KeyError, TypeError):
        return timedelta(0)


async def run_playground(
    settings: Settings, data_dir: Path, *, fresh: bool, user_id: int, operator_id: int
) -> int:
    """Run the interactive (or piped) session; returns the exit status."""
    if fresh and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(data_dir / "merchant-bot.sqlite3")
    clock_file = data_dir / "clock.json"
    clock = ShiftedClock(_saved_offset(clock_file))
    runtime = Runtime(
        store=store,
        contents=ContentRegistry(),
        clock=clock,
        timezone=settings.tz,
        admin_ids=settings.bot_admin_ids | {operator_id},
        files_dir=data_dir / "files",
    )
    tracker = UpdateTracker()
    interactive = sys.stdin.isatty()
    async with (
        BotApiServer() as server,
        serving(
            runtime,
            token=server.token,
            base_url=server.base_url,
            base_file_url=server.base_file_url,
            observer=tracker,
            poll_timeout=10,
            console=_console_options(settings),
        ) as running,
    ):
        session = _Session(server, tracker, clock, running.scheduler, user_id)
        session.clock_file = clock_file
        session.console = running.console
        session.operator_id = operator_id
        # update ids go on from the last session's; its merchants can be reached at once
        server.continue_update_ids(await store.last_update_id())
        for chat_id in await store.chat_ids():
            server.add_user(chat_id)
        print("速卖通托管助手 · 离线试玩 (offline playground). Type :help for the syntax.")
        if running.console is not None:
            print(
                f"运营控制台 (operator console): {running.console.url}"
                " — type :console for a login link.\n"
            )
        else:
            print()
        queue = await _lines()
        while True:
            if interactive:
                print(f"{session.client.user_id} › ", end="", flush=True)
            line = await queue.get()
            if line is None:
                break
            if not line.strip():
                continue
            if not interactive:
                print(f"你({session.client.user_id}) › {line}")
            if not await session.handle(line):
                break
    return 0
