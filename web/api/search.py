"""`/search`: jobs by id prefix, or by text in their name, args, kwargs, error or meta, through
the server-side search the console's filter uses: one bounded step per call (at most
`budget` records read), resumed with `cursor`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.responses import Response

from ..deps import ReadAccess, Service
from ..errors import input_problem
from ..models import NOT_BLANK, SearchOut, StatusName
from ..serialize import LIST_FIELD_BYTES, FastJSON, job_dict

router = APIRouter(tags=["jobs"])

# A matching job's values over this many bytes stay on the server (a 50 MB argument is not
# what a search result shows); the job's own page reads them whole.


@router.get("/search", response_model=SearchOut, dependencies=[ReadAccess])
async def search(
    service: Service,
    text: Annotated[str, Query(min_length=1, max_length=200, pattern=NOT_BLANK)],
    status: Annotated[list[StatusName] | None, Query()] = None,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,3}:\d{1,12}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    budget: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
) -> Response:
    """Jobs whose id starts with `text`, or whose name, args, kwargs, error or meta contain
    it (any case), in the statuses given (`status` repeated; default: all), in each status's
    list order. At most `budget` records are read per call: while `cursor` is not null,
    call again with it for more. The first call puts a job whose id is exactly `text`
    first, however far the scan would be from it. Values over 8 KiB are left out of the
    jobs returned and named in their `omitted` (the job's own URL has them whole)."""
    try:
        page = await service.search_jobs(
            text,
            status,
            cursor=cursor,
            limit=limit,
            budget=budget,
            max_field_bytes=LIST_FIELD_BYTES,
        )
    except ValueError as exc:
        raise input_problem(exc, "query") from None
    return FastJSON(
        {
            "jobs": [job_dict(job) for job in page.jobs],
            "cursor": page.cursor,
            "scanned": page.scanned,
        }
    )
