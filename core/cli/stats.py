"""`jobdeck stats` (a queue's depths, totals, rates and workers, for people or as JSON) and
`jobdeck queues` (the queues of a prefix)."""

from __future__ import annotations

from typing import Any

import click

from ..backend.records import WorkerRecord
from ..metrics import QueueMetrics
from ..models import JobStatus
from ..service import JobService
from ..text import display_text
from .common import URL_HELP, on_queue, run_on, safe_json, shared_service, url_option

__all__ = ["SHOWN_WORKERS", "queues", "stats"]


@click.command()
@url_option
@click.option("--json", "as_json", is_flag=True, help="Everything as one JSON object.")
def stats(url: str | None, queue: str, prefix: str, as_json: bool) -> None:
    """Print queue depths, totals, rates and workers."""
    service = shared_service(url, queue, prefix)

    async def read(service: JobService) -> tuple[QueueMetrics, list[WorkerRecord], list[str]]:
        return (
            await service.get_metrics(),
            await service.list_workers(),
            await service.server_warnings(),
        )

    m, workers, warnings = run_on(service, read)
    if as_json:
        click.echo(safe_json(_stats_dict(service, m, workers, warnings)))
        return
    where = display_text(f"{service.description} queue={service.queue}")
    click.echo(f"{where} paused={m.paused}")
    click.echo("  ".join(f"{s.value}={m.depths.get(s.value, 0)}" for s in JobStatus))
    for label, count, by in (
        ("throttled", m.throttled, m.held["throttled"]),
        ("unserved", m.unserved, m.held["unserved"]),
    ):
        if count:
            click.echo(f"{label}={count} (of pending): " + _by_key(by))
    totals = "  ".join(f"{k}={v}" for k, v in sorted(m.totals.items()))
    click.echo("totals: " + display_text(totals or "none yet"))
    click.echo(f"throughput: {m.throughput_10s:.1f}/s (10 s), {m.throughput:.1f}/s (1 min)")
    click.echo(f"workers: {len(workers)}, concurrency: {sum(w.concurrency for w in workers)}")
    for w in sorted(workers, key=lambda w: w.id)[:SHOWN_WORKERS]:
        click.echo(
            display_text(f"  {w.id}  running {w.running} of {w.concurrency}  ", limit=120)
            + "handlers: "
            + _handlers(w)
        )
    if len(workers) > SHOWN_WORKERS:
        click.echo(f"  ... and {len(workers) - SHOWN_WORKERS} more (--json lists them all)")
    for warning in warnings:
        click.echo(f"WARNING: {warning}")


#: Worker lines `jobdeck stats` prints (all of them are in `--json`).
SHOWN_WORKERS = 20


def _by_key(counts: dict[str, int]) -> str:
    """'stripe 12, user:* 3' for at most ten keys, the most first."""
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    text = ", ".join(f"{key} {n}" for key, n in top[:10])
    return display_text(text + (f", ... {len(top) - 10} more" if len(top) > 10 else ""), limit=300)


def _handlers(worker: WorkerRecord) -> str:
    more = worker.handler_count - len(worker.handlers)
    names = display_text(", ".join(worker.handlers) or "none", limit=300)
    return names + (f" (+{more} more)" if more > 0 else "")


def _stats_dict(
    service: JobService, m: QueueMetrics, workers: list[WorkerRecord], warnings: list[str]
) -> dict[str, Any]:
    return {
        "queue": service.queue,
        "server": service.description,
        "paused": m.paused,
        "depths": {s.value: m.depths.get(s.value, 0) for s in JobStatus},
        "throttled": m.throttled,
        "unserved": m.unserved,
        "held": m.held,
        "totals": dict(sorted(m.totals.items())),
        "throughput": m.throughput,
        "throughput_10s": m.throughput_10s,
        "avg_wait": m.avg_wait,
        "avg_run": m.avg_run,
        "workers": [{**w.to_dict(), "last_heartbeat": w.last_heartbeat} for w in workers],
        "concurrency": sum(w.concurrency for w in workers),
        "warnings": warnings,
    }


@click.command()
@click.option("--url", "-u", envvar="JOBDECK_URL", default=None, help=URL_HELP)
@click.option("--prefix", default="jobdeck", show_default=True, help="Key prefix.")
def queues(url: str | None, prefix: str) -> None:
    """List the queues under the prefix, one a line."""
    for name in on_queue(url, "default", prefix, lambda s: s.list_queues()):
        click.echo(display_text(name))  # queue names come from keys anyone can write

