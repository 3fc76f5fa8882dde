"""The console at 80x24, the size the README promises (issue 26): faults a new user met."""

from __future__ import annotations

import pytest

from jobdeck.console.screens.help import HELP_KEYS
from jobdeck.core import JobService

from .conftest import open_console


def bottom_line(app: object) -> str:
    return app.screen._compositor.render_strips()[-1].text  # type: ignore[attr-defined]


@pytest.mark.slow
async def test_the_footer_is_cut_cleanly_at_80_columns(service: JobService) -> None:
    """Textual's footer docked "^p palette" over the keys that did not fit, which left stray
    characters beside it (`^p paletteH`, `P P`); below 100 columns it is left out."""
    async with open_console(service, size=(80, 24)) as c:
        await c.until(lambda: "Search" in bottom_line(c.app), what="the footer")
        assert "palette" not in bottom_line(c.app)
    async with open_console(service, size=(120, 34)) as c:
        await c.until(lambda: "palette" in bottom_line(c.app), what="the palette key")


def test_the_help_says_what_space_does() -> None:
    """Space selects a row; the help used to say it paged down."""
    keys = {key: what for _title, rows in HELP_KEYS for key, what in rows}
    assert "space" not in keys["PgUp PgDn"]
    assert "select" in keys["space"]
