"""What `jobdeck console` sends down an SSH line: nothing, when nothing happens (issue 29).

The real console on a pseudo-terminal of 120x40, on an empty queue nobody uses. Once its
first screen is up, a tick that changes nothing must write nothing: the console used to
repaint its whole screen every second (~20 KB a second here), which a phone hotspot or a
bastion across an ocean pays for. bench/console_bytes.py measures the same under load."""

from __future__ import annotations

import asyncio
import time

import pytest

from .terminal import Terminal

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]

SIZE = (120, 40)
WINDOW = 3.0  # seconds counted: three ticks of ages, three rounds of reads


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
