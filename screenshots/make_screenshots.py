"""Regenerate the console pictures in screenshots/ (SVG and PNG, 80x24 and 120x34).

    python screenshots/make_screenshots.py [--out screenshots]

It builds the scripted queue of the snapshot tests (tests/console/scenario.py: the memory
backend, a frozen clock, seeded ids), opens the console headless on it, presses the keys of
each shot and saves what is on screen. PNGs are rendered from the SVGs with cairosvg, using
the installed DejaVu Sans Mono in place of the web font the SVGs name.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.console.app import JobdeckApp  # noqa: E402
from jobdeck.core import JobService  # noqa: E402
from tests.console.scenario import (  # noqa: E402
    T0,
    Scenario,
    frozen_clock,
    open_past,
    settle,
)

SIZES = ((80, 24), (120, 34))
# name, keys pressed, waits for a job detail
SHOTS: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    ("pending", ("1",), False),
    ("running", ("2",), False),
    ("dead-letter", ("3",), False),
    ("workers", ("4",), False),
    ("history", ("5",), False),
    ("detail", ("3", "enter"), True),
    ("help", ("question_mark",), False),
    ("confirm-cancel", ("2", "c"), False),
    ("filter", ("slash", "e", "m", "a", "i", "l", "enter"), False),
    ("multi-select", ("1", "down", "space", "down", "shift+down", "shift+down"), False),
    ("palette", ("3", "ctrl+p", *"retry"), False),
    ("time-mode", ("t", "shift+left", "shift+left", "shift+left", "2"), False),
    ("charts", ("m",), False),
)
_NEEDS_HISTORY = ("time-mode", "charts")
_FONTS = (
    ("font-family: Fira Code, monospace", "font-family: DejaVu Sans Mono, monospace"),
    ('font-family: "Fira Code"', 'font-family: "DejaVu Sans Mono"'),
)


def to_png(svg: str, path: Path) -> None:
    import cairosvg

    for web, local in _FONTS:
        svg = svg.replace(web, local)
    cairosvg.svg2png(bytestring=svg.encode(), write_to=str(path))


async def shoot(service: JobService, size: tuple[int, int]) -> dict[str, str]:
    """SVG of every shot at one terminal size, by file stem."""
    shots = {}
    for name, keys, detail in SHOTS:
        app = JobdeckApp(service, clock=lambda: T0)
        async with app.run_test(size=size) as pilot:
            if name in _NEEDS_HISTORY:  # the event log is read when the past is asked for
                await settle(pilot)
                await open_past(pilot, keys[0])
                keys = keys[1:]
            await settle(pilot, *keys, detail=detail)
            await pilot.pause(0.5)  # the palette's hits come in the background
            for field in app.screen.query("Input"):
                field.cursor_blink = False
            await pilot.pause(0.1)
            shots[f"{name}-{size[0]}x{size[1]}"] = app.export_screenshot(
                title=f"jobdeck console: {name}"
            )
    return shots


async def take_all() -> dict[str, str]:
    shots: dict[str, str] = {}
    with frozen_clock() as clock:
        service = JobService("memory://screenshots", queue="default")
        await Scenario(service, clock).build()
        for size in SIZES:
            shots.update(await shoot(service, size))
    shots.update(await take_schedules())
    shots.update(await take_limits())
    return shots


async def open_tab(pilot: Any, key: str) -> None:
    """Press a tab's key and wait for its screen's first read (Limits, Schedules)."""
    await settle(pilot)
    await pilot.press(key)
    screen = pilot.app.screen
    for _ in range(500):
        if getattr(screen, "loaded", False):
            break
        await pilot.pause(0.02)
    await pilot.pause(0.1)


async def take_limits() -> dict[str, str]:
    """The Limits tab (key 7) over a queue of its own: a key, a template and a paused key,
    with jobs running and held (throttled) under them."""
    shots: dict[str, str] = {}
    with frozen_clock() as clock:
        service = JobService("memory://screenshots-limits", queue="default")
        await service.initialize()
        await service.set_limit("stripe", concurrency=5, rate=100, per=1.0)
        await service.set_limit("user:*", concurrency=1)
        await service.set_limit("exports", concurrency=0)
        await service.submit_jobs(
            [{"name": "charge_card", "limit": "stripe"}] * 8
            + [{"name": "sync_user", "limit": f"user:{n % 3}"} for n in range(7)]
            + [{"name": "export_csv", "limit": "exports"}] * 4
        )
        await service.backend.claim("worker-1", 20, 30.0)
        clock.now = T0
        for size in SIZES:
            app = JobdeckApp(service, clock=lambda: T0)
            async with app.run_test(size=size) as pilot:
                await open_tab(pilot, "7")
                shots[f"limits-{size[0]}x{size[1]}"] = app.export_screenshot(
                    title="jobdeck console: limits"
                )
    return shots


async def take_schedules() -> dict[str, str]:
    """The Schedules tab (key 6) over a queue of its own: a few schedules that have fired,
    one paused, one whose last job failed."""
    from jobdeck.core.backend.base import Finish, Outcome
    from jobdeck.core.schedules import new_schedule, next_fire_after
    from jobdeck.core.schedules.scheduler import fire_for

    shots: dict[str, str] = {}
    with frozen_clock() as clock:
        service = JobService("memory://screenshots-schedules", queue="default")
        await service.initialize()
        backend = service.backend
        plans = (
            ("nightly-backup", "backup.run", {"cron": "0 3 * * *", "timezone": "Europe/Berlin"}),
            ("hourly-prune", "backup.prune", {"cron": "0 * * * *"}),
            ("heartbeat", "ping", {"every": 30}),
            ("sync-crm", "crm.sync", {"every": 300}),
            ("weekly-report", "reports.weekly", {"cron": "0 8 * * 1", "timezone": "Europe/London"}),
        )
        now_ms = round(T0 * 1000)
        for name, job, timing in plans:
            spec = new_schedule(name, job, **timing)  # type: ignore[arg-type]
            first = next_fire_after(spec, now_ms - 8 * 86_400_000)
            await backend.put_schedule(name, spec.to_json(), spec.timing, first, job)
            last = _last_tick(spec, now_ms)
            await backend.fire_schedules(
                [fire_for(spec, first, next_fire_after(spec, now_ms), last, 0)]
            )
            batch = await backend.claim("worker-1", 1, 30.0)
            outcome = Outcome.FAILED if name == "sync-crm" else Outcome.COMPLETED
            payload = (
                b'{"type":"TimeoutError","message":"CRM API timed out"}'
                if name == "sync-crm"
                else b"null"
            )
            await backend.finish(
                "worker-1", [Finish(batch.jobs[0].id, batch.jobs[0].token, outcome, payload)]
            )
        await service.pause_schedule("weekly-report")
        clock.now = T0
        for size in SIZES:
            app = JobdeckApp(service, clock=lambda: T0)
            async with app.run_test(size=size) as pilot:
                await open_tab(pilot, "6")
                shots[f"schedules-{size[0]}x{size[1]}"] = app.export_screenshot(
                    title="jobdeck console: schedules"
                )
                if size[0] < 100:  # the columns past the edge, a column a press (→)
                    for _ in range(3):
                        await pilot.press("right")
                    await pilot.pause(0.5)  # the footer is built again after a key
                    shots[f"schedules-columns-{size[0]}x{size[1]}"] = app.export_screenshot(
                        title="jobdeck console: schedules, → to the last columns"
                    )
    return shots


def _last_tick(spec: object, now_ms: int) -> int:
    from jobdeck.core.schedules import next_fire_after

    tick = next_fire_after(spec, now_ms - 8 * 86_400_000)  # type: ignore[arg-type]
    while (following := next_fire_after(spec, tick)) <= now_ms:  # type: ignore[arg-type]
        tick = following
    return tick


def main(out: Path, only: str | None = None) -> None:
    out.mkdir(parents=True, exist_ok=True)
    only_one = {"schedules": take_schedules, "limits": take_limits}.get(only or "")
    shots = asyncio.run(only_one() if only_one else take_all())
    for stem, svg in shots.items():
        (out / f"{stem}.svg").write_text(svg)
        to_png(svg, out / f"{stem}.png")
        print(f"{out / stem}.svg, .png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument(
        "--only", choices=["schedules", "limits"], help="only that tab's shots"
    )
    arguments = parser.parse_args()
    main(arguments.out, arguments.only)
