"""Running jobs: the worker pool and what handlers see while they run."""

from .context import JobContext, current_job
from .pool import WorkerPool, WorkerSettings

__all__ = ["JobContext", "WorkerPool", "WorkerSettings", "current_job"]
