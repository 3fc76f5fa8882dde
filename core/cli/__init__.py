"""The `jobdeck` command. The core registers its own commands (worker, submit, stats); every
other surface (the console, the web server) registers its commands through the entry-point
group `jobdeck.commands`, so the core never imports them and a surface whose extra is not
installed simply adds no commands."""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

import click

from .. import __version__
from ..text import SafeFormatter
from . import commands
from .common import OneLineErrors, fail, load_service, make_service, run_async, url_option

__all__ = ["fail", "load_service", "main", "make_service", "run_async", "url_option"]

log = logging.getLogger("jobdeck")

ENTRY_POINT_GROUP = "jobdeck.commands"


class SurfaceCommands(OneLineErrors):
    """Loads the surfaces' commands the first time a command is looked up, not at import:
    a surface's module may import this package (for `fail`, `url_option`...) without a
    circular import."""

    _surfaces_loaded = False

    def _load_surfaces(self) -> None:
        if not self._surfaces_loaded:
            self._surfaces_loaded = True
            _register_surfaces(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_surfaces()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_surfaces()
        return super().get_command(ctx, cmd_name)


@click.group(cls=SurfaceCommands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", message="jobdeck %(version)s")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
)
def main(log_level: str) -> None:
    """jobdeck: an asyncio job queue on Redis, with a live terminal console."""
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    logging.basicConfig(level=log_level.upper(), handlers=[handler])


def _register_surfaces(group: click.Group) -> None:
    """Each surface's `register(group)`; one that cannot load (its extra is missing) is
    skipped: its commands are simply absent from `jobdeck --help`."""
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register = entry.load()
        except ImportError as exc:
            log.debug("jobdeck commands from %s unavailable: %s", entry.value, exc)
            continue
        register(group)


commands.register(main)
