"""A dead letter whose id is a route word (stored before such ids were refused, or by an old
client): its Retry button retries that one job, never every dead letter. The row actions
send ids in the body (POST /jobs/bulk), so no id can turn into another route."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By

from jobdeck.core.submission import prepare

from .conftest import OPERATE_KEY, Queue
from .test_browser import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


async def _legacy_job(queue: Queue, job_id: str, key: str) -> None:
    """Stored as an old version would have: straight into the backend, past today's checks."""
    job = prepare("fails_first", [key])._replace(id=job_id)
    assert await queue.service.backend.submit([job]) == [True]


def test_retry_on_a_route_word_id_retries_only_that_job(browser: Any, dash_queue: Queue) -> None:
    served = dash_queue.served
    served.call(_legacy_job(dash_queue, "retry-all", f"{dash_queue.prefix}:legacy"))
    other = dash_queue.submit_from_process("fails_first", f'["{dash_queue.prefix}:other"]')

    def dead(job_id: str) -> bool:
        job = served.call(dash_queue.service.get_job(job_id))
        return job is not None and job.status == "failed"

    until(browser, lambda _: dead("retry-all") and dead(other), 20, "two dead letters")
    sign_in(browser, served.url, OPERATE_KEY)
    press(browser, "3")  # Dead letter
    row = until(browser, lambda d: rows(d, "retry-all"), what="the legacy dead letter")[0]
    until(browser, lambda d: rows(d, other), what="the other dead letter")
    row.find_element(By.CSS_SELECTOR, 'button[data-action="retry"]').click()
    until(browser, lambda _: not dead("retry-all"), what="the legacy job to be retried")
    assert dead(other), "Retry on the job 'retry-all' retried every dead letter"
