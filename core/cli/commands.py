"""The core's own commands, registered on the `jobdeck` group: a worker process (`worker.py`),
a submit (`submit.py`), a queue's figures and a prefix's queues (`stats.py`), one job and the
queue-wide steering (`jobs.py`), limits, schedules, and the ACL rules of a role (here)."""

from __future__ import annotations

import click

from ..acl import ROLES, acl_rules
from .common import fail
from .jobs import job, pause, purge, resume
from .limits import limits
from .schedules import schedules
from .stats import queues, stats
from .submit import submit
from .worker import parse_queues, share_concurrency, worker

# parse_queues and share_concurrency (worker.py): importable from here, where they were
__all__ = ["parse_queues", "register", "share_concurrency"]


def register(main: click.Group) -> None:
    """Add the core's commands to the `jobdeck` group."""
    for command in (
        worker, submit, stats, queues, acl, schedules, limits, job, pause, resume, purge,
    ):  # fmt: skip
        main.add_command(command)


@click.command()
@click.argument("role", type=click.Choice(sorted(ROLES)))
@click.option("--prefix", default="jobdeck", show_default=True, help="Key prefix.")
@click.option("--user", default=None, help="The ACL user name (default: jobdeck-ROLE).")
def acl(role: str, prefix: str, user: str | None) -> None:
    """Print the least-privilege `ACL SETUSER` command for ROLE on the prefix."""
    try:
        rules = acl_rules(role, prefix)
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"ACL SETUSER {user or 'jobdeck-' + role} on >PASSWORD {rules}")
