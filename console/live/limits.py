"""How much of a job's stored values the console reads: a view shows a preview or at most
20,000 characters, so it leaves larger values on the server and names their sizes instead
(`JobService.list_jobs(..., max_field_bytes=...)`, `job.omitted`)."""

from __future__ import annotations

__all__ = ["DETAIL_FIELD_BYTES", "FAMILY_SHOWN", "ROW_FIELD_BYTES"]

#: A table row shows a preview of a few hundred characters: a page of jobs with 50 MB args
#: must not be read every second.
ROW_FIELD_BYTES = 4096
#: The detail page shows at most 20,000 characters of a value (screens/detail.py).
DETAIL_FIELD_BYTES = 256 * 1024
#: (workflows) The parents and children a job's detail lists (the rest are counted).
FAMILY_SHOWN = 20
