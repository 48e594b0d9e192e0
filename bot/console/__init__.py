"""The operator console: a small web back office served by the bot's own process.

Operators (BOT_ADMIN_IDS) sign in with a one-time link from `/console` (or `merchant-bot
console-link ID`) and see the queue of merchants who need someone, the merchant list, one
merchant's journey, documents, history and reminders, and record review results through the
same code as `/setstatus`, and see the funnel. Every action (and every document opened) is
audited. Pages: content/<locale>/console/.

    server.py   the aiohttp application, login and sessions, started by bot.lifespan.serving
    auth.py     signed single-use links, sessions, CSRF tokens, the failed-login limit
    views.py    the pages and actions
    queries.py  what the pages read (queue, keyset-paged list, audit)
    funnel.py   the funnel: stages reached per route, this week and all time, review pace
    pages.py    the Jinja2 environment over content/<locale>/console/
"""

from bot.console.server import Console, ConsoleOptions

__all__ = ["Console", "ConsoleOptions"]
