"""The one place the console reads from the queue: metrics, one window, workers, one job.

Everything goes through `JobService`'s public methods. A window is at most a few hundred
rows, whatever the size of the queue; a filtered tab is a server-side search that reads at
most `scan_limit` records per round and resumes where it stopped (`search`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jobdeck.core.metrics import QueueMetrics
from jobdeck.core.models import JobDefinition
from jobdeck.core.service import JobService
from jobdeck.core.workflows import Relatives

from .limits import DETAIL_FIELD_BYTES, FAMILY_SHOWN, ROW_FIELD_BYTES
from .paging import concat_page, merged_page
from .search import Search
from .state import TAB_STATUSES, JobRow

__all__ = [
    "Fetcher",
    "PageRequest",
    "PageResult",
    "Snapshot",
]


@dataclass(frozen=True, slots=True)
class PageRequest:
    tab: str
    offset: int
    limit: int
    filter: str = ""


@dataclass(slots=True)
class PageResult:
    request: PageRequest
    rows: list[Any]
    total: int
    scanned: int | None = None
    capped: bool = False


@dataclass(slots=True)
class Snapshot:
    """One round of reads. `started` is the local clock when the reads began."""

    started: float
    metrics: QueueMetrics | None = None
    workers: list[Any] | None = None
    warnings: list[str] | None = None  # the server's risks, read with the workers
    page: PageResult | None = None
    detail_id: str | None = None
    detail: JobDefinition | None = None
    family: Relatives | None = None  # (workflows) the detail's parents and children


def _finished(row: JobRow) -> float:
    return row.finished_at or 0.0


Lister = Callable[[int, int], Any]


def _then(first: Lister, first_size: int, second: Lister) -> Lister:
    """One list after the other, as a lister (a tab of three statuses)."""

    async def fetch(offset: int, limit: int) -> list[Any]:
        return await concat_page(first, first_size, second, offset, limit)

    return fetch


def _merged(a: Lister, a_size: int, b: Lister, b_size: int) -> Lister:
    """Two lists merged newest first, as a lister."""

    async def fetch(offset: int, limit: int) -> list[Any]:
        return await merged_page(a, a_size, b, b_size, offset, limit, _finished)

    return fetch


class Fetcher:
    def __init__(
        self,
        service: JobService,
        *,
        scan_limit: int = 5_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.service = service
        self.search = Search(service, budget=scan_limit)
        self.clock = clock

    async def snapshot(
        self,
        page: PageRequest | None = None,
        *,
        workers: bool = False,
        detail_id: str | None = None,
        depths: dict[str, int] | None = None,
    ) -> Snapshot:
        """One round of reads. Given the `depths` last seen, the reads go out together
        (one round trip of latency instead of four); without them, metrics come first."""
        snap = Snapshot(started=self.clock(), detail_id=detail_id)
        want_workers = workers or (page is not None and page.tab == "workers")

        async def metrics() -> None:
            snap.metrics = await self.service.get_metrics()

        async def workers_() -> None:
            if want_workers:
                snap.workers = await self.service.list_workers()
                snap.warnings = await self._warnings()

        async def detail() -> None:
            if detail_id is not None:
                snap.detail, snap.family = await asyncio.gather(
                    self.service.get_job(detail_id, max_field_bytes=DETAIL_FIELD_BYTES),
                    self.service.job_relatives(detail_id, FAMILY_SHOWN),
                )

        if depths is None:
            await metrics()
            depths = snap.metrics.depths if snap.metrics is not None else {}
        rows = page is not None and page.tab != "workers"
        await asyncio.gather(
            metrics() if snap.metrics is None else _nothing(),
            workers_(),
            self._page_into(snap, page, depths) if page is not None and rows else _nothing(),
            detail(),
        )
        if page is not None and not rows:
            snap.page = await self.page(page, depths, snap.workers)
        elif (
            page is not None
            and snap.page is not None
            and snap.metrics is not None
            and not page.filter
        ):
            # The rows were read beside the metrics: the list's length is the fresh one.
            fresh = sum(snap.metrics.depths.get(s, 0) for s in TAB_STATUSES[page.tab])
            snap.page.total = max(fresh, page.offset + len(snap.page.rows))
        return snap

    async def _warnings(self) -> list[str] | None:
        """Eviction, a full server: worth a flag in the header. A server that will not say
        (CONFIG refused, an old engine) leaves the flags as they were."""
        try:
            return list(await self.service.server_warnings())
        except Exception:
            return None

    async def _page_into(self, snap: Snapshot, page: PageRequest, depths: dict[str, int]) -> None:
        snap.page = await self.page(page, depths, None)

    async def page(
        self, request: PageRequest, depths: dict[str, int], workers: list[Any] | None
    ) -> PageResult:
        if request.tab == "workers":  # few rows: the app builds them from `workers`
            return PageResult(request, [], len(workers or []))
        if request.filter:
            return await self._search(request, depths)
        statuses = TAB_STATUSES[request.tab]
        total = sum(depths.get(s, 0) for s in statuses)
        offset, limit = request.offset, max(1, min(request.limit, 10_000))
        if request.tab == "pending":
            later = self._lister("scheduled")
            if depths.get("waiting", 0):  # (workflows) then the jobs waiting for others
                later = _then(later, depths.get("scheduled", 0), self._lister("waiting"))
            rows = await concat_page(
                self._lister("pending"), depths.get("pending", 0), later, offset, limit
            )
        elif request.tab == "history":
            ended = self._lister("completed")
            ended_size = depths.get("completed", 0)
            if depths.get("expired", 0):  # (workflows) the expired, merged by time too
                ended = _merged(
                    ended, ended_size, self._lister("expired"), depths.get("expired", 0)
                )
                ended_size += depths.get("expired", 0)
            rows = await merged_page(
                ended,
                ended_size,
                self._lister("cancelled"),
                depths.get("cancelled", 0),
                offset,
                limit,
                _finished,
            )
        else:
            rows = await self._lister(statuses[0])(offset, limit)
        return PageResult(request, rows, max(total, offset + len(rows)))

    def _lister(self, status: str) -> Callable[[int, int], Any]:
        async def fetch(offset: int, limit: int) -> list[JobRow]:
            jobs = await self.service.list_jobs(
                status, limit=limit, offset=offset, max_field_bytes=ROW_FIELD_BYTES
            )
            return [JobRow.from_job(job) for job in jobs]

        return fetch

    async def _search(self, request: PageRequest, depths: dict[str, int]) -> PageResult:
        result = await self.search.step(request.tab, request.filter)
        rows = result.rows
        return PageResult(request, rows, len(rows), result.scanned, not result.done)


async def _nothing() -> None:
    return None
