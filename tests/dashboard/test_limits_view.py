"""The dashboard's Limits tab and throttled jobs in a real headless Chromium (issue 24): the
header counts throttled jobs, a held job is marked in Pending, and a limit is changed and
removed from its row, each after the dialog that asks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from jobdeck.core import JobStatus
from jobdeck.web import create_app

from . import field_reads
from .conftest import OPERATE_KEY, Queue
from .pages import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def signed_in(browser: Any, dash_queue: Queue) -> Iterator[Any]:
    sign_in(browser, dash_queue.served.url, OPERATE_KEY)
    yield browser


def answer(driver: Any, value: str | None = None) -> None:
    """Fill in the dialog's number (if asked) and say yes."""
    until(
        driver,
        lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None,
        what="the dialog",
    )
    if value is not None:
        box = driver.find_element(By.ID, "confirm-input")
        box.clear()
        box.send_keys(value)
    driver.find_element(By.ID, "confirm-yes").click()


def test_a_throttled_job_is_counted_marked_and_released_from_the_limits_tab(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    call(service.set_limit("batch", concurrency=0))
    job_id = call(service.submit_job("quick", [1], limit="batch", group="tenant-1"))
    until(
        driver,
        lambda d: "1 throttled" in d.find_element(By.ID, "held-summary").text,
        what="the header's throttled count",
    )
    press(driver, "1")
    row = until(driver, lambda d: rows(d, job_id), what="the held job in Pending")[0]
    assert "throttled" in row.text
    # its page says what holds it (it said only "pending"; the API returns limit and group)
    driver.execute_script("location.hash = arguments[0]", f"job/{job_id}")
    until(
        driver,
        lambda d: "Limit\nbatch (throttled)" in d.find_element(By.ID, "job-facts").text,
        what="the job's limit on its page",
    )
    assert "Group\ntenant-1" in driver.find_element(By.ID, "job-facts").text

    press(driver, "7")
    row = until(driver, lambda d: rows(d, "batch"), what="the limit's row")[0]
    assert "0 / 0 paused" in row.text and row.find_elements(By.TAG_NAME, "td")[3].text == "1"
    row.find_element(By.CSS_SELECTOR, 'button[data-action="concurrency"]').click()
    answer(driver, "2")

    def ran(_: Any) -> bool:
        job = call(service.get_job(job_id))
        return job is not None and job.status == JobStatus.COMPLETED

    until(driver, ran, what="the job to run once the limit let it")
    until(driver, lambda d: "0 / 2" in rows(d, "batch")[0].text, what="the new concurrency")
    until(
        driver,
        lambda d: not d.find_element(By.ID, "held-summary").is_displayed(),
        what="no throttled count",
    )

    rows(driver, "batch")[0].find_element(By.CSS_SELECTOR, 'button[data-action="remove"]').click()
    answer(driver)
    until(driver, lambda d: not rows(d, "batch"), what="the limit gone")
    assert call(service.list_limits()) == []


def test_every_field_the_page_read_is_documented(signed_in: Any, dash_queue: Queue) -> None:
    read = field_reads.reads(signed_in)
    doc = dash_queue.served.call(_openapi(dash_queue))
    unknown = field_reads.undocumented_reads(doc, read)
    assert not unknown, "\n".join(unknown)


async def _openapi(dash_queue: Queue) -> dict[str, Any]:
    return create_app(dash_queue.service).openapi()
