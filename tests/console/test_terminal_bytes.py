"""What `jobdeck console` sends down an SSH line: nothing, when nothing happens (issue 29).

The real console on a pseudo-terminal of 120x40, on an empty queue nobody uses. Once its
first screen is up, a tick that changes nothing must write nothing: the console used to
repaint its whole screen every second (~20 KB a second here), which a phone hotspot or a
bastion across an ocean pays for. bench/console_bytes.py measures the same under load.

Opening it costs one paint of the screen: start-up used to paint it whole twice and the
table area a third time (38 KB at 120x40 where one paint is ~10 KB; the target is 40 KB).
Byte counts, not times: the whole output up to the moment the console is ready and quiet."""

from __future__ import annotations

import asyncio
import time

import pytest

from .terminal import Terminal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

SIZE = (120, 40)
WINDOW = 3.0  # seconds counted: three ticks of ages, three rounds of reads
FIRST_PAINT = 40_000  # bytes: issue 29's target for opening the console at 120x40


def _quiet(terminal: Terminal, quiet: float = 0.6, timeout: float = 15.0) -> None:
    """Wait until the console has written nothing for `quiet` seconds (start-up is over)."""
    deadline = time.monotonic() + timeout
    seen, since = len(terminal.raw), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"still writing after {timeout} s")
        time.sleep(0.05)
        now = len(terminal.raw)
        if now != seen:
            seen, since = now, time.monotonic()


def _bytes_over(terminal: Terminal, seconds: float) -> int:
    start = len(terminal.raw)
    time.sleep(seconds)
    return len(terminal.raw) - start


async def test_an_idle_console_writes_nothing(redis_url: str, prefix: str) -> None:
    terminal = Terminal("console", "--url", redis_url, "--prefix", prefix, size=SIZE)
    try:
        await asyncio.to_thread(terminal.wait_for, "● connected")
        await asyncio.to_thread(_quiet, terminal)
        sent = await asyncio.to_thread(_bytes_over, terminal, WINDOW)
        # The target is under 1 KiB a second; an idle console that repaints writes ~20 KB.
        assert sent < 1024 * WINDOW, f"{sent} bytes in {WINDOW:g} s on an idle queue"
        terminal.press("2")  # and a key still paints what it changed, at once
        await asyncio.to_thread(terminal.wait_for, "[2 Running]", 5.0)
    finally:
        terminal.close()


async def test_opening_the_console_paints_the_screen_once(redis_url: str, prefix: str) -> None:
    truecolor = {"COLORTERM": "truecolor"}  # 24-bit colours: the costliest escape sequences
    terminal = Terminal("console", "--url", redis_url, "--prefix", prefix, size=SIZE, env=truecolor)
    try:
        await asyncio.to_thread(terminal.wait_for, "● connected")
        await asyncio.to_thread(_quiet, terminal)
        opened = terminal.raw
    finally:
        terminal.close()
    assert "no pending or scheduled jobs" in terminal.text  # the first page is in
    # Every blank row of the empty table is sent once: the whole-screen paint of the first
    # layout (each line starts with a move to its first column); a second paint of the
    # screen or of the table area sends them all again.
    # (A row or two may be sent again as the first page lands, the message row among them;
    # a second paint of the table sent every row again.)
    painted = {row: opened.count(f"\x1b[{row};1H".encode()) for row in range(8, SIZE[1])}
    again = [row for row, times in painted.items() if times > 1]
    assert len(again) <= 2, f"rows painted more than once: {painted}"
    # The scroll bar (the last column) is in that paint too, and may follow the first rows
    # in; a layout of the screen (the footer's keys coming in) used to repaint it each time.
    bar = [opened.count(f"\x1b[{row};{SIZE[0]}H".encode()) for row in range(8, SIZE[1])]
    assert max(bar) <= 2, f"scroll bar painted {sorted(set(bar))} times besides the first"
    assert len(opened) <= FIRST_PAINT, f"{len(opened):,} bytes to open the console"
