#!/bin/sh
# The operator console's browser tests (tests/test_console_browser.py) drive Debian's Chromium
# through Playwright (`playwright install` cannot download browsers here). Install it, and a
# font with Chinese glyphs for readable screenshots, when missing and possible: root on
# Debian. Otherwise say so in one line; the browser tests are then reported as skipped.
if [ -x /usr/bin/chromium ] && fc-list 2>/dev/null | grep -qi -e wqy -e noto.*cjk; then
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "browser tests will be skipped: /usr/bin/chromium is missing and cannot be installed here (needs root on Debian: apt-get install chromium chromium-driver fonts-wqy-microhei fonts-noto-color-emoji)"
    exit 0
fi
echo "installing Chromium for the console's browser tests (apt-get) …"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq chromium chromium-driver fonts-wqy-microhei fonts-noto-color-emoji; } >/tmp/merchant-bot-apt.log 2>&1; then
    echo "browser tests will be skipped: apt-get could not install chromium (see /tmp/merchant-bot-apt.log)"
fi
exit 0
