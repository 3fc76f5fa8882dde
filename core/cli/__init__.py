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
    #: surfaces whose commands could not load (their extra is missing): name -> why
    _missing: dict[str, str]

    def _load_surfaces(self) -> None:
        if not self._surfaces_loaded:
            self._surfaces_loaded = True
            self._missing = _register_surfaces(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load_surfaces()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load_surfaces()
        return super().get_command(ctx, cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command while a surface is not installed (`jobdeck serve` without the
        web extra) says which extra adds it, not only "No such command"."""
        name = args[0] if args else ""
        unknown = name and not name.startswith("-") and self.get_command(ctx, name) is None
        if unknown and self._missing:
            ctx.fail(f"No such command {name!r}. {_install_hint(self._missing)}")
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_commands(ctx, formatter)
        if self._missing:
            with formatter.section("Not installed"):
                formatter.write_text(_install_hint(self._missing))


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


def _register_surfaces(group: click.Group) -> dict[str, str]:
    """Each surface's `register(group)`; one that cannot load (its extra is missing) is
    skipped, and returned with why (its name is its extra's: `web`), so that `jobdeck
    --help` and an unknown command can say what to install."""
    missing: dict[str, str] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            register = entry.load()
        except ImportError as exc:
            log.debug("jobdeck commands from %s unavailable: %s", entry.value, exc)
            missing[entry.name] = str(exc)
            continue
        register(group)
    return missing


def _install_hint(missing: dict[str, str]) -> str:
    """What to install for the surfaces that did not load (why is in the debug log)."""
    return " ".join(
        f"The {name} commands are not installed: python -m pip install 'jobdeck[{name}]'."
        for name in sorted(missing)
    )


commands.register(main)
