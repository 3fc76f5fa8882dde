"""Every queue of the prefix from one dashboard, in a real headless Chromium: the overview of
every queue, a queue picked from it (or from the switcher) shown whole and live through the
queue-scoped API, and back to the served queue."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from jobdeck.core import JobService
from jobdeck.web import create_app

from . import field_reads
from .conftest import OPERATE_KEY, QUEUE, Queue
from .pages import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def mail(dash_queue: Queue) -> Iterator[JobService]:
    """A second queue of the prefix, "mail", with no worker: its jobs stay pending."""
    service = dash_queue.service.for_queue("mail")
    dash_queue.served.call(service.initialize())
    yield service
    dash_queue.served.call(service.close())


@pytest.fixture(scope="module")
def signed_in(browser: Any, dash_queue: Queue, mail: JobService) -> Iterator[Any]:
    dash_queue.served.call(mail.submit_job("send", ["first@example.com"]))
    sign_in(browser, dash_queue.served.url, OPERATE_KEY)
    yield browser


def cell(driver: Any, row_id: str, column: int) -> str:
    return str(rows(driver, row_id)[0].find_elements(By.TAG_NAME, "td")[column].text)


def test_the_overview_lists_every_queue_and_opens_one(
    signed_in: Any, dash_queue: Queue, mail: JobService
) -> None:
    driver, call = signed_in, dash_queue.served.call
    call(mail.pause_queue())
    press(driver, "0")
    until(driver, lambda d: rows(d, "mail") and rows(d, QUEUE), what="both queues")
    # the overview is the server's summary, pushed within a couple of seconds of a change
    until(driver, lambda d: cell(d, "mail", 10) == "paused", what="mail paused")
    assert cell(driver, "mail", 1) == "1"
    assert cell(driver, "mail", 3) == "\u2013"  # nothing held: a dash
    assert cell(driver, QUEUE, 10) == "running" and "·" in cell(driver, QUEUE, 9)  # its worker
    rows(driver, "mail")[0].find_element(By.TAG_NAME, "a").click()
    until(driver, lambda d: d.execute_script("return location.hash") == "#queue/mail/pending")
    until(driver, lambda d: d.find_element(By.ID, "count-pending").text == "1", what="its counts")
    assert driver.find_element(By.ID, "paused").text == "paused"
    assert Select(driver.find_element(By.ID, "queue-select")).first_selected_option.text == "mail"


def test_another_queue_is_live_and_acted_on_through_its_own_routes(
    signed_in: Any, dash_queue: Queue, mail: JobService
) -> None:
    driver, call = signed_in, dash_queue.served.call
    job_id = call(mail.submit_job("send", ["live@example.com"]))
    until(driver, lambda d: rows(d, job_id), what="a job submitted to mail, live")
    rows(driver, job_id)[0].find_element(By.CSS_SELECTOR, "td.id a").click()
    until(driver, lambda d: d.find_element(By.ID, "job-id").text == job_id, what="its page")
    assert driver.execute_script("return location.hash") == f"#queue/mail/job/{job_id}"
    cancel = '#job-actions [data-action="cancel"]'
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, cancel), what="Cancel")[0].click()
    driver.find_element(By.ID, "confirm-yes").click()
    until(driver, lambda _: call(mail.get_job(job_id)).status.value == "cancelled")
    driver.find_element(By.ID, "pause-btn").click()  # resume mail, not the served queue
    until(driver, lambda _: not call(mail.get_metrics(1)).paused, what="mail resumed")
    assert not call(dash_queue.service.get_metrics(1)).paused


def test_the_switcher_goes_back_to_the_served_queue(signed_in: Any, dash_queue: Queue) -> None:
    driver, call = signed_in, dash_queue.served.call
    Select(driver.find_element(By.ID, "queue-select")).select_by_visible_text(QUEUE)
    until(driver, lambda d: d.execute_script("return location.hash") == "#pending")
    job_id = call(dash_queue.service.submit_job("slow", [5]))
    driver.execute_script("document.activeElement.blur()")  # keys typed in the menu pick in it
    press(driver, "2")
    until(driver, lambda d: rows(d, job_id), what="the served queue's running job")


def test_every_field_the_page_read_is_documented(signed_in: Any, dash_queue: Queue) -> None:
    read = field_reads.reads(signed_in)
    assert any("/queues/mail/" in where for where, _ in read)
    doc = dash_queue.served.call(_openapi(dash_queue))
    unknown = field_reads.undocumented_reads(doc, read)
    assert not unknown, "\n".join(unknown)


async def _openapi(dash_queue: Queue) -> dict[str, Any]:
    return create_app(dash_queue.service).openapi()
