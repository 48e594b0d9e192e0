"""Serving an aiohttp application of the bot's own (the console, the webhook) on host:port."""

from __future__ import annotations

from aiohttp import web


async def serve(web_app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Bind and serve; (the runner to clean up at stop, the bound port: port 0 picks one).
    An address that cannot be bound raises OSError, with nothing left running."""
    runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError:
        await runner.cleanup()
        raise
    bound = [address for address in runner.addresses if isinstance(address, tuple)]
    return runner, int(bound[0][1]) if bound else port
