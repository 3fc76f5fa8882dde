"""Producers' and readers' transitions: submit, cancel, retry dead letters, purge, pause,
get and list."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from redis.exceptions import ResponseError

from ...codec import dumps
from ...errors import SubmitNotReplicated
from ...models import JobDefinition
from ..base import split_unique
from .engine import _STATUS_KEYS, RedisEngine, _pairs, _s

__all__ = ["JobsMixin"]


class JobsMixin(RedisEngine):
    async def submit(
        self, jobs: Sequence[tuple[JobDefinition, float]], fields: Sequence[Mapping[str, Any]]
    ) -> list[bool | str]:
        args: list[Any] = [len(jobs)]
        for (job, delay), full in zip(jobs, fields, strict=True):
            record, ukey, window = split_unique(full)
            args += [job.id, job.name, int(job.priority), int(delay * 1000), ukey, window]
            args.append(len(record) * 2)
            for key, value in record.items():
                args += [key, value]
        if self.settings.submit_replicas:
            created = await self._submit_replicated(args)
        else:
            created = await self._run("submit", *args)
        if not self._registered:
            await self._register_queue()
        return [_s(flag) if isinstance(flag, bytes) else bool(flag) for flag in created]

    async def _submit_replicated(self, args: list[Any]) -> Any:
        """The submit script on a connection of its own (WAIT blocks its connection, which
        must not hold up a worker's scripts), then a WAIT that concurrent submits share.

        Replies come in order: a WAIT still unanswered when a submit's reply arrives was sent
        after that submit, so it covers it; a submit joins the WAIT in flight, or sends one.
        Many concurrent submits so pay for one replication round trip together."""
        wanted = self.settings.submit_replicas
        created = await self._run("submit", *args, via=self._replicated_conn)
        waiting = self._waiting_replicas
        if waiting is None or waiting.done():
            conn = self._replicated_conn()
            wait = ("WAIT", wanted, int(self.settings.submit_replica_timeout * 1000))
            waiting = self._waiting_replicas = asyncio.ensure_future(conn.execute(*wait))
        acked = await asyncio.shield(waiting)
        if int(acked) < wanted:
            raise SubmitNotReplicated(
                f"{int(acked)} of {wanted} replicas confirmed the submit within "
                f"{self.settings.submit_replica_timeout:g}s: a failover now could lose it "
                "(submitting again with the same job id is safe)"
            )
        return created

    async def cancel(self, job_id: str) -> str | None:
        was = await self._run("cancel", job_id)
        return _s(was) if was else None

    async def retry_dead(self, job_ids: Sequence[str] | None) -> int:
        if job_ids is not None:
            return int(await self._run("retry_dead", "ids", *job_ids)) if job_ids else 0
        total, pass_id, taken = 0, b"", 1000
        while taken == 1000:  # one pass over what was dead when the first call ran
            moved, pass_id, taken = await self._run("retry_dead", "all", pass_id)
            total += int(moved)
        return total

    async def purge(self, status: str) -> int:
        total = 0
        while True:
            removed = int(await self._run("purge", _STATUS_KEYS[status], 1000, total))
            total += removed
            if removed < 1000:
                return total

    async def set_paused(self, paused: bool) -> None:
        await self._run("pause", "1" if paused else "0")

    # -- reading -------------------------------------------------------------------------
    async def get(self, job_id: str, max_field: int = 0) -> Mapping[Any, Any] | None:
        not_a_hash = {
            b"name": b"<malformed>",
            b"error": dumps({"type": "MalformedRecord", "message": "job record is not a hash"}),
        }
        if max_field > 0:  # values over the cap stay on the server (see capped_hash)
            flat = await self._run("peek", job_id, max_field)
            if flat is None:
                return None
            return _pairs(flat) if flat else not_a_hash
        try:
            fields = await self.client.hgetall(self._p + "job:" + job_id)
        except ResponseError:  # not a hash: someone wrote garbage there
            return not_a_hash
        return fields or None

    async def list(
        self, status: str, limit: int, offset: int, newest_first: bool, max_field: int = 0
    ) -> list[tuple[str, Mapping[Any, Any]]]:
        flat = await self._run(
            "list", _STATUS_KEYS[status], offset, limit, "1" if newest_first else "0", max_field
        )
        return [(_s(flat[i]), _pairs(flat[i + 1])) for i in range(0, len(flat), 2)]
