"""jobdeck's headless core: queue, workers, events and metrics. Never imports Textual."""

if __name__ != "jobdeck.core":  # pragma: no cover - the folder imported under its own name
    raise ImportError(
        f"this folder is the package jobdeck.core; import it by that name, not {__name__!r} "
        "(`pip install -e .` from the checkout makes it importable)"
    )

from .backend import Backend, BackendSettings, open_backend
from .errors import (
    JobCancelled,
    JobExpired,
    JobFailed,
    JobNotFound,
    OutOfMemory,
    SubmitNotReplicated,
)
from .events import Event, EventBus, Events
from .history import QueueHistory
from .metrics import QueueMetrics
from .models import JobDefinition, JobError, JobPriority, JobProgress, JobStatus
from .retry import Fail, Retry, RetryPolicy, RetryRules
from .schedules import ScheduleInfo
from .search import SearchPage
from .service import JobService, JobSpec
from .sync import SyncJobService
from .tasks import JobHandle, SyncJobHandle, Task
from .worker import JobContext, WorkerPool, WorkerSettings, current_job
from .workflow_submit import SubmittedGroup

__all__ = [
    "Backend",
    "BackendSettings",
    "Event",
    "EventBus",
    "Events",
    "Fail",
    "JobCancelled",
    "JobContext",
    "JobDefinition",
    "JobError",
    "JobExpired",
    "JobFailed",
    "JobHandle",
    "JobNotFound",
    "JobPriority",
    "JobProgress",
    "JobService",
    "JobSpec",
    "JobStatus",
    "OutOfMemory",
    "QueueHistory",
    "QueueMetrics",
    "Retry",
    "RetryPolicy",
    "RetryRules",
    "ScheduleInfo",
    "SearchPage",
    "SubmitNotReplicated",
    "SubmittedGroup",
    "SyncJobHandle",
    "SyncJobService",
    "Task",
    "WorkerPool",
    "WorkerSettings",
    "current_job",
    "open_backend",
]
__version__ = "0.1.0"
