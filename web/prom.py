"""`/metrics`: Prometheus exposition, read from the queue's server at each scrape.

Nothing is counted in this process: a collector is handed one snapshot of what Redis holds
(the queue's lifetime totals, depths, live workers) per scrape, so every API process
reports the same figures for the whole queue, however many processes did the work. Labels
are the queue (and the status for depths); never a job id.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response

from jobdeck.core import JobService, QueueMetrics
from jobdeck.core.metrics import HISTOGRAM_BOUNDS_MS

__all__ = ["QueueCollector", "Snapshot", "metrics_router", "snapshot"]

HEAD_SAMPLE = 100  # pending jobs looked at for the oldest one's age

# counter name -> how it is made from the stored totals
COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "submitted": ("Jobs submitted", ("submitted",)),
    "completed": ("Jobs completed", ("completed",)),
    "failed": ("Attempts that failed (retried or dead-lettered)", ("retried", "dead")),
    "retried": ("Failed attempts scheduled to run again", ("retried",)),
    "cancelled": ("Jobs cancelled", ("cancelled",)),
    "dead_lettered": ("Jobs that failed for good (moved to the dead letters)", ("dead",)),
    "requeued": ("Jobs handed back to the queue (stalled or released)", ("requeued",)),
    "dead_letters_retried": ("Dead letters sent back to the queue", ("retried_dead",)),
    "dead_letters_dropped": (
        "Dead letters dropped by their count or age bound (JOB_DROPPED)",
        ("dead_dropped",),
    ),
}


@dataclass(frozen=True, slots=True)
class Snapshot:
    queue: str
    metrics: QueueMetrics
    workers: list[Any]
    oldest_pending_age: float


async def snapshot(service: JobService) -> Snapshot:
    metrics = await service.get_metrics(60)
    workers = await service.list_workers()
    head = (
        await service.list_jobs("pending", HEAD_SAMPLE, 0) if metrics.depths.get("pending") else []
    )
    created = [job.created_at for job in head if job.created_at]
    age = max(0.0, metrics.timestamp - min(created)) if created else 0.0
    return Snapshot(service.queue, metrics, workers, age)


def _held(snap: Snapshot) -> Iterator[Metric]:
    """Pending jobs waiting aside (counted in jobdeck_jobs{status="pending"} too): throttled
    by limit (a template is one series, not one per key it covers; bounded by the queue's
    limits) and unserved by job name (at most 100 names, the rest as 'other')."""
    held = snap.metrics.held
    for name, kind, label, doc in (
        ("jobdeck_jobs_throttled", "throttled", "limit", "Pending jobs held by a limit"),
        (
            "jobdeck_jobs_unserved",
            "unserved",
            "job_name",
            "Pending jobs a worker claimed and had no handler for, while no live worker has one",
        ),
    ):
        family = GaugeMetricFamily(name, doc, labels=["queue", label])
        for key, count in sorted(held[kind].items()):
            family.add_metric([snap.queue, key], count)
        yield family


class QueueCollector:
    """A prometheus_client collector over one snapshot."""

    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap

    def collect(self) -> Iterator[Metric]:
        snap, queue = self.snap, [self.snap.queue]
        totals = snap.metrics.totals
        for name, (doc, parts) in COUNTERS.items():
            family = CounterMetricFamily(f"jobdeck_jobs_{name}", doc, labels=["queue"])
            family.add_metric(queue, sum(totals.get(part, 0) for part in parts))
            yield family
        yield from _by_name(snap)
        depth = GaugeMetricFamily(
            "jobdeck_jobs", "Jobs in each status now", labels=["queue", "status"]
        )
        for status, count in sorted(snap.metrics.depths.items()):
            depth.add_metric([snap.queue, status], count)
        yield depth
        yield from _held(snap)
        workers = snap.workers
        for name, doc, value in (
            ("jobdeck_workers", "Live worker processes", len(workers)),
            (
                "jobdeck_worker_concurrency",
                "Jobs the live workers may run at once",
                _sum(workers, "concurrency"),
            ),
            ("jobdeck_worker_running", "Jobs the live workers run now", _sum(workers, "running")),
            ("jobdeck_queue_paused", "1 while the queue is paused", int(snap.metrics.paused)),
            (
                "jobdeck_oldest_pending_job_age_seconds",
                f"Age of the oldest of the next {HEAD_SAMPLE} pending jobs in line",
                snap.oldest_pending_age,
            ),
            (
                "jobdeck_job_wait_seconds_avg",
                "Mean seconds from ready to started, last minute",
                snap.metrics.avg_wait or 0.0,
            ),
            (
                "jobdeck_job_run_seconds_avg",
                "Mean seconds from started to finished, last minute",
                snap.metrics.avg_run or 0.0,
            ),
            (
                "jobdeck_throughput_jobs_per_second",
                "Jobs completed/s, last minute",
                snap.metrics.throughput,
            ),
        ):
            gauge = GaugeMetricFamily(name, doc, labels=["queue"])
            gauge.add_metric(queue, value)
            yield gauge
        for name, doc in (
            ("wait", "Seconds from ready (submitted or due) to started, per attempt"),
            ("run", "Seconds from started to finished, per attempt that finished"),
        ):
            yield _histogram(f"jobdeck_job_{name}_seconds", doc, snap, name)
        scrape = GaugeMetricFamily(
            "jobdeck_scrape_timestamp_seconds", "When the queue's server was read"
        )
        scrape.add_metric([], snap.metrics.timestamp or time.time())
        yield scrape


def _by_name(snap: Snapshot) -> Iterator[Metric]:
    """Completed and failed attempts per job name: the `job_name` label is bounded (at most
    ~200 names are counted by name, the rest under "other"; see count_names in _lib.lua)."""
    for kind, doc in (
        ("completed", "Jobs completed, by job name"),
        ("failed", "Attempts that failed (retried or dead-lettered), by job name"),
    ):
        family = CounterMetricFamily(
            f"jobdeck_jobs_{kind}_by_name", doc, labels=["queue", "job_name"]
        )
        for name, counts in snap.metrics.by_name.items():
            family.add_metric([snap.queue, name], counts[kind])
        yield family


def _histogram(metric: str, doc: str, snap: Snapshot, name: str) -> Metric:
    counts = snap.metrics.histograms
    family = HistogramMetricFamily(metric, doc, labels=["queue"])
    cumulative = 0
    buckets = []
    for bound in HISTOGRAM_BOUNDS_MS:
        cumulative += counts.get(f"{name}:{bound}", 0)
        buckets.append((repr(bound / 1000), cumulative))
    cumulative += counts.get(f"{name}:inf", 0)
    buckets.append(("+Inf", cumulative))
    family.add_metric([snap.queue], buckets, sum_value=counts.get(f"{name}:sum_ms", 0) / 1000)
    return family


def _sum(workers: list[Any], attr: str) -> int:
    return sum(int(getattr(worker, attr, 0) or 0) for worker in workers)


def render(snap: Snapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(snap))
    return generate_latest(registry)


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get(
        "/metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics(request: Request) -> Response:
        """Prometheus text exposition of the whole queue."""
        if not request.app.state.open_metrics:
            await request.app.state.auth.check(request, "read")
        snap = await snapshot(request.app.state.service)
        return Response(render(snap), media_type=CONTENT_TYPE_LATEST)

    return router
