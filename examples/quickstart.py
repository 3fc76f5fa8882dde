"""jobdeck in one file: a handler, workers, a submit and its result.

    python examples/quickstart.py                       # one process, on memory://
    JOBDECK_URL=redis://localhost:6379/0 python examples/quickstart.py

With Redis the workers may as well run elsewhere, in as many processes as you like:

    jobdeck worker examples.quickstart:service --url redis://localhost:6379/0
"""

import asyncio

from jobdeck.core import JobFailed, JobService

service = JobService()  # $JOBDECK_URL, else memory:// (this process only)


@service.handler()
async def add(a: int, b: int) -> int:
    return a + b


async def main() -> None:
    async with service:
        await service.start_workers(2)  # two jobs at once, in this process
        job_id = await service.submit_job("add", args=(2, 3))
        print("add(2, 3) =", await service.result(job_id, timeout=10))
        bad = await service.submit_job("add", args=(2, "x"))
        try:
            await service.result(bad, timeout=10)
        except JobFailed as failed:
            print("add(2, 'x') failed:", failed.error_type, failed.message)


if __name__ == "__main__":
    asyncio.run(main())
