"""jobdeck in one file: a typed task, workers, a submit and its result, a chain and a group.

    python examples/quickstart.py                       # one process, on memory://
    JOBDECK_URL=redis://localhost:6379/0 python examples/quickstart.py

With Redis the workers may as well run elsewhere, in as many processes as you like:

    jobdeck worker examples.quickstart:service --url redis://localhost:6379/0
"""

import asyncio

from jobdeck.core import JobFailed, JobService, JobSpec

service = JobService()  # $JOBDECK_URL, else memory:// (this process only)


@service.task(max_retries=3, dont_retry_on=TypeError)  # a bad argument stays bad
async def add(a: int, b: int) -> int:
    return a + b


@service.handler()
async def total(results: list[int]) -> int:  # a group's `then`: their results, in order
    return sum(results)


async def main() -> None:
    async with service:
        await service.start_workers(2)  # two jobs at once, in this process
        handle = await add.submit(2, 3)  # checked against add's signature by mypy
        print("add(2, 3) =", await handle.result(timeout=10))  # an int
        bad = await service.submit_job("add", args=(2, "x"))  # by name: not checked
        try:
            await service.result(bad, timeout=10)
        except JobFailed as failed:
            print("add(2, 'x') failed:", failed.error_type, failed.message)
        # a chain: each job once the one before it completed, fed its result first
        ids = await service.submit_chain([add.spec(1, 2), JobSpec("add", [10])], pass_results=True)
        print("add(add(1, 2), 10) =", await service.result(ids[-1], timeout=10))
        # a group: its jobs in parallel, then one job with all their results
        pairs = [add.spec(i, i) for i in range(4)]
        group = await service.submit_group(pairs, then=JobSpec("total"))
        print("0+0 + 1+1 + 2+2 + 3+3 =", await service.result(group.then_id, timeout=10))


if __name__ == "__main__":
    asyncio.run(main())
