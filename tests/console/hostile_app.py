"""`python -m tests.console.hostile_app`: the console, run as `jobdeck console` runs it, on a
memory queue full of hostile strings. The key `x` makes it crash (with an exception message
that carries escape sequences), to check what a crash leaves on the terminal."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from jobdeck.console import app as console_app
from jobdeck.console.launch import run_console
from jobdeck.core import JobService

from .hostile_queue import populate


class CrashingApp(console_app.JobdeckApp):
    CSS_PATH = str(Path(console_app.__file__).with_name("app.tcss"))

    def on_key(self, event) -> None:
        if event.key == "x":
            raise RuntimeError("crashed on purpose \x1b]2;crash-title\x07 [bold]x[/]")


def main() -> int:
    logging.getLogger("jobdeck").setLevel(logging.ERROR)  # no "nobody serves it" warning
    service = JobService("memory://hostile-terminal", queue="hostile")

    async def fill() -> None:
        await service.initialize()
        await populate(service)

    asyncio.run(fill())
    console_app.JobdeckApp = CrashingApp  # run_console builds the app from this module
    return run_console(service)


if __name__ == "__main__":
    sys.exit(main())
