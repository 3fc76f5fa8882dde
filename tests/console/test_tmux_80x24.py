"""The console at 80x24 in a real terminal (tmux), the size the README promises (issue 26).

A pilot draws into Textual's own screen buffer; a terminal keeps what was written before.
Textual's footer, docked "^p palette" over keys that did not fit, left characters of the
keys beneath beside it (`^p paletteH`, `P P`) when the footer changed from tab to tab, and
cut "? Help" off. Here the real console runs in tmux at 80x24 and goes through the tabs: every
footer ends with "? Help q Quit" and nothing after, and every tab is on the bar.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from jobdeck.core import JobService

from .test_tmux import ROOT, Tmux

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(120),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt-get install tmux)"),
]


async def test_tabs_and_footers_at_80x24_in_tmux(
    service: JobService, redis_url: str, prefix: str
) -> None:
    await service.submit_jobs([{"name": f"job-{n}"} for n in range(40)])
    await service.add_schedule("nightly-backup", "backup.run", cron="0 3 * * *")
    tmux = Tmux()
    try:
        tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")
        tmux.keys(f"cd {ROOT}; PYTHONPATH=. {sys.executable} -m jobdeck.core.cli console "
                  f"--url {redis_url} --prefix {prefix} -q q", "Enter")  # fmt: skip
        tmux.wait_for("1/40")
        for key, label in (
            ("3", "[3 Dead letter]"),
            ("4", "[4 Workers]"),
            ("6", "[6 Schedules]"),
            ("Escape", "[4 Workers]"),  # back to the job tab it came from
            ("7", "[7 Limits]"),
            ("5", "[5 History]"),
            ("2", "[2 Running]"),
            ("1", "[1 Pending]"),
        ):
            tmux.keys(key)
            screen = tmux.wait_for(label)
            lines = screen.splitlines()
            assert len(lines[0]) <= 80 and "6 Sched" in lines[3] and "7 Lim" in lines[3], lines[3]
            footer = tmux.wait_for("? Help q Quit").splitlines()[-1]
            assert footer.rstrip().endswith("? Help q Quit"), (key, footer)
    finally:
        tmux("kill-server")
