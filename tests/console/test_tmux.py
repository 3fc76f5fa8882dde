"""The console in a real terminal (tmux) on a queue full of hostile strings (issue 9, item 1).

Escape sequences in job data must never reach the terminal: tmux would obey them, so the test
checks their effects: the pane's title (OSC 2), tmux's paste buffers (OSC 52 with
set-clipboard on), the screen not cleared (CSI 2J), and that `capture-pane -e` holds nothing
but colour codes. Then a crash: the console exits 1, leaves the alternate screen, prints a
traceback whose escape sequences are shown, not obeyed, and the shell answers again.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = shutil.which("python") or "python"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
]
_SGR = re.compile(r"\x1b\[[0-9;:]*m")


class Tmux:
    def __init__(self) -> None:
        self.socket = f"jobdeck-{uuid.uuid4().hex[:8]}"
        self("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", "160", "-y", "50",
             "bash --norc --noprofile")  # fmt: skip
        self("set-option", "-g", "set-clipboard", "on")

    def __call__(self, *args: str) -> str:
        run = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return run.stdout

    def screen(self, escapes: bool = False) -> str:
        return self("capture-pane", "-t", "t", "-p", *(["-e"] if escapes else []))

    def show(self, what: str) -> str:
        return self("display-message", "-p", "-t", "t", what).strip()

    def keys(self, *keys: str) -> None:
        self("send-keys", "-t", "t", *keys)

    def wait_for(self, text: str, timeout: float = 45.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} on screen within {timeout:g}s:\n{screen}")
            time.sleep(0.2)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    session = Tmux()
    yield session
    session("kill-server")


def test_hostile_strings_in_a_real_terminal_and_a_crash(tmux: Tmux) -> None:
    title = tmux.show("#{pane_title}")
    python = str(Path(__import__("sys").executable))
    tmux.keys(f"cd {ROOT}; PS1='$ '; PYTHONPATH=. {python} -m tests.console.hostile_app; "
              "echo EX''IT=$?", "Enter")  # fmt: skip
    screen = tmux.wait_for("1 Pending")
    tmux.wait_for("␛]52;c;cHduZWQ=␇copy")
    for tab, words in (("2", "Progress"), ("3", "Last error"), ("4", "Host"), ("5", "Result")):
        tmux.keys(tab)
        screen = tmux.wait_for(words)
        assert "jobdeck  queue hostile" in screen  # the header was not cleared away
    tmux.keys("3")
    tmux.wait_for("Last error")
    tmux.keys("Enter")
    screen = tmux.wait_for("Timeline")
    colours_only = _SGR.sub("", tmux.screen(escapes=True))
    assert "\x1b" not in colours_only, repr(colours_only[:2000])
    assert tmux.show("#{pane_title}") == title  # OSC 2 not obeyed
    assert tmux("list-buffers") == ""  # OSC 52 not obeyed

    tmux.keys("x")  # the test app raises here
    screen = tmux.wait_for("EXIT=")
    assert "EXIT=1" in screen
    assert "crashed on purpose ␛]2;crash-title␇ [bold]x[/]" in screen
    assert tmux.show("#{alternate_on}|#{mouse_any_flag}") == "0|0"
    assert tmux.show("#{pane_title}") == title
    tmux.keys("echo ALI''VE", "Enter")
    tmux.wait_for("ALIVE")
