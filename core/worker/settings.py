"""How a worker times itself, and what a worker id may be."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WorkerSettings", "check_worker_id"]


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    """Timing of a worker. The lease must comfortably exceed the heartbeat interval: a job
    whose worker misses heartbeats for `lease` seconds is given to another worker."""

    lease: float = 30.0
    heartbeat_interval: float = 5.0
    idle_wait: float = 1.0
    progress_interval: float = 0.25
    shutdown_timeout: float = 30.0
    warn_interval: float = 60.0  # seconds between repeats of the server's risk warnings
    #: Jobs are claimed ahead of free slots while the recent ones ran shorter than this
    #: (seconds; 0 turns it off): see `claiming`.
    prefetch_below: float = 0.25

    def __post_init__(self) -> None:
        if self.lease <= 0 or self.heartbeat_interval <= 0:
            raise ValueError("lease and heartbeat_interval must be positive")
        if self.heartbeat_interval * 2 > self.lease:
            raise ValueError("heartbeat_interval must be at most half the lease")


def check_worker_id(worker_id: str) -> None:
    """A worker id is written into every record it touches: refuse one that cannot be."""
    if not isinstance(worker_id, str) or not worker_id.strip() or len(worker_id) > 200:
        raise ValueError("worker_id: expected 1-200 characters")
    try:
        worker_id.encode()
    except UnicodeEncodeError:
        raise ValueError("worker_id: not valid UTF-8 (it holds a lone surrogate)") from None
    if any(ord(c) < 32 or ord(c) == 127 for c in worker_id):
        raise ValueError("worker_id: control characters are not allowed")
