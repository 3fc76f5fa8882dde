"""The Workers and Queues tabs are live without polling, in a real headless Chromium: a worker
process that starts shows up, and another queue's depth moves, with no request from the page
for them (the server's access log says so); both come pushed on the event stream."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from jobdeck.core import JobService

from ..worker_process import WorkerProcess
from .conftest import OPERATE_KEY, QUEUE, Queue
from .pages import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

REQUEST = re.compile(r'"(GET|POST|PUT|DELETE|HEAD) (\S+) HTTP')


@pytest.fixture(scope="module")
def signed_in(browser: Any, dash_queue: Queue) -> Iterator[Any]:
    sign_in(browser, dash_queue.served.url, OPERATE_KEY)
    yield browser


def requests_since(dash_queue: Queue, mark: int) -> list[str]:
    """The API requests the server logged after `mark` lines (the event stream's own GET,
    made once when the page connected, is not among them)."""
    lines = dash_queue.served.log_lines[mark:]  # type: ignore[attr-defined]
    return [" ".join(m.groups()) for m in map(REQUEST.search, lines) if m]


def test_a_new_worker_appears_on_the_workers_tab_without_a_request(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver = signed_in
    driver.execute_script("document.activeElement.blur()")
    press(driver, "4")  # Workers
    first = dash_queue.worker.worker_id
    until(driver, lambda d: rows(d, first), what="the fixture's worker")
    mark = len(dash_queue.served.log_lines)  # type: ignore[attr-defined]
    second = WorkerProcess(
        "tests.apps.dashboard_tasks:service",
        dash_queue.redis_url,
        queue=QUEUE,
        prefix=dash_queue.prefix,
        concurrency=3,
        env={"JOBDECK_TEST_URL": dash_queue.redis_url},
    ).start()
    try:
        until(driver, lambda d: rows(d, second.worker_id), timeout=20, what="the new worker")
        assert "2 workers" in driver.find_element(By.ID, "workers-summary").text
        asked = requests_since(dash_queue, mark)
        # Its start is an event: the header may read the counts again; nothing else is read.
        assert [r for r in asked if not r.startswith("GET /api/v1/jobs/metrics")] == [], asked
    finally:
        second.stop()
    until(driver, lambda d: not rows(d, second.worker_id), timeout=30, what="the worker gone")


def test_another_queues_depth_moves_on_the_queues_tab_without_a_request(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, call = signed_in, dash_queue.served.call
    other: JobService = dash_queue.service.for_queue("reports")
    call(other.initialize())
    try:
        call(other.submit_job("build", [1]))  # no worker serves it: it stays pending
        driver.execute_script("document.activeElement.blur()")
        press(driver, "0")  # Queues

        def pending(d: Any) -> str:
            found = rows(d, "reports")
            return str(found[0].find_elements(By.TAG_NAME, "td")[1].text) if found else ""

        until(driver, lambda d: pending(d) == "1", timeout=20, what="the queue, one pending")
        mark = len(dash_queue.served.log_lines)  # type: ignore[attr-defined]
        for n in range(2, 4):
            call(other.submit_job("build", [n]))
        until(driver, lambda d: pending(d) == "3", timeout=20, what="three pending")
        # Events of another queue are not on this page's stream: the server's summary said it.
        assert requests_since(dash_queue, mark) == []
    finally:
        call(other.close())
