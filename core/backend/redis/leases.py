"""Workers' transitions on the jobs they hold: claim (also pipelined behind the wake-up
BLPOP), finish, progress."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...codec import dumps
from ..base import ClaimBatch, ClaimedJob, Finish, JobEmit, ProgressUpdate
from ..cluster import redirection
from .engine import RedisEngine, _s

__all__ = ["CLAIMED_FIELDS", "LeasesMixin"]

#: What claim.lua returns for each job it leases: the record's fields, by position.
CLAIMED_FIELDS = (
    "name", "args", "kwargs", "max_retries", "timeout", "priority", "created_at",
    "scheduled_for", "error", "stalls", "attempts",
)


class LeasesMixin(RedisEngine):
    async def claim(self, worker_id: str, count: int, lease: float) -> ClaimBatch:
        return self._claim_batch(
            await self._run("claim", *self._claim_args(worker_id, count, lease))
        )

    def _claim_args(self, worker_id: str, count: int, lease: float) -> list[Any]:
        return [worker_id, count, int(lease * 1000), self.settings.max_stalls]

    def _claim_command(self, worker_id: str, count: int, lease: float) -> tuple[Any, ...]:
        return (
            "EVALSHA",
            self._shas["claim"],
            1,
            self._route,
            *self._base,
            *self._claim_args(worker_id, count, lease),
        )

    @staticmethod
    def _claim_batch(reply: Any) -> ClaimBatch:
        next_due = None if int(reply[1]) < 0 else int(reply[1]) / 1000
        jobs = [
            ClaimedJob(_s(reply[i]), _s(reply[i + 1]), _claimed_fields(reply[i + 2]))
            for i in range(2, len(reply), 3)
        ]
        return ClaimBatch(jobs=jobs, paused=bool(reply[0]), next_due=next_due)

    async def finish(self, worker_id: str, items: Sequence[Finish]) -> list[bool]:
        args: list[Any] = [
            worker_id,
            self.settings.history_max,
            int(self.settings.result_ttl * 1000),
            len(items),
        ]
        for item in items:
            args += [
                item.job_id,
                item.token,
                item.outcome,
                item.payload,
                int(item.delay * 1000),
                item.event_data,
            ]
        return [bool(flag) for flag in await self._run("finish", *args)]

    async def job_events(self, items: Sequence[JobEmit]) -> int:
        args: list[Any] = [len(items)]
        for item in items:
            args += [item.job_id, item.token, item.event_type, item.data]
        return int(await self._run("job_event", *args))

    async def progress(self, items: Sequence[ProgressUpdate]) -> None:
        args: list[Any] = [len(items)]
        for item in items:
            args += [
                item.job_id,
                item.token,
                dumps([item.fraction, item.message]),
                dumps({"fraction": item.fraction, "message": item.message}),
            ]
        await self._run("progress", *args)

    async def wait_and_claim(
        self, worker_id: str, count: int, lease: float, timeout: float
    ) -> ClaimBatch:
        # BLPOP and the claim script go out in one write: Redis runs the claim the moment the
        # wake-up arrives, so an idle worker starts a new job one round trip after its submit.
        try:
            _woken, reply = await self._waiting().pipeline(
                ("BLPOP", self._p + "wake", f"{max(0.01, timeout):.3f}"),
                self._claim_command(worker_id, count, lease),
            )
        except NoScriptError:  # a restarted server: _run loads the script again
            return await self.claim(worker_id, count, lease)
        except (ResponseError, RedisConnectionError, RedisTimeoutError) as exc:
            # a cluster's slot moved or failed over: _run finds the new master
            if await self._rerouted(exc) or redirection(exc) is not None:
                return await self.claim(worker_id, count, lease)
            raise
        return self._claim_batch(reply)


def _claimed_fields(values: Sequence[Any]) -> dict[str, Any]:
    fields = dict(zip(CLAIMED_FIELDS, values, strict=True))
    fields["status"] = b"running"
    return fields
