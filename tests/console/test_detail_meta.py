"""A job's `meta` on the console's detail page: shown when it has one, as its args are; and
its limit and group."""

from __future__ import annotations

import io

from rich.console import Console

from jobdeck.console.screens.detail import DetailScreen
from jobdeck.core import JobDefinition


def _page(job: JobDefinition) -> str:
    screen = DetailScreen(job.id, clock=lambda: 1_700_000_000.0)
    screen.show(job, ())
    console = Console(width=100, record=True, file=io.StringIO())
    console.print(screen.render_job())
    return console.export_text()


def test_the_detail_shows_a_jobs_meta() -> None:
    job = JobDefinition(id="j1", name="bill", meta={"tenant": "acme", "trace": "t-1"})
    page = _page(job)
    assert 'Meta      {"tenant": "acme", "trace": "t-1"}' in page
    long = JobDefinition(id="j2", name="bill", meta={"note": "x" * 80})
    assert "Meta" in _page(long) and '"note": "' in _page(long)


def test_no_meta_no_line() -> None:
    assert "Meta" not in _page(JobDefinition(id="j3", name="bill"))


def test_the_detail_shows_a_jobs_limit_and_group() -> None:
    """The page left them out (the API returns them, `jobdeck job show` prints them)."""
    job = JobDefinition(id="j4", name="sync", limit="user:7", group="tenant-1", throttled="user:*")
    page = _page(job)
    assert "limit     user:7 (throttled by user:*)" in page and "group     tenant-1" in page
    assert "limit" not in _page(JobDefinition(id="j5", name="sync"))
