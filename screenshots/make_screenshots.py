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

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from jobdeck.console.app import JobdeckApp  # noqa: E402
from jobdeck.core import JobService  # noqa: E402
from tests.console.scenario import T0, Scenario, frozen_clock, settle  # noqa: E402

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
)
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
            await settle(pilot, *keys, detail=detail)
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
    return shots


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for stem, svg in asyncio.run(take_all()).items():
        (out / f"{stem}.svg").write_text(svg)
        to_png(svg, out / f"{stem}.png")
        print(f"{out / stem}.svg, .png")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    main(parser.parse_args().out)
