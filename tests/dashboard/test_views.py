"""The dashboard's list views in a real headless Chromium: the search behind the filter,
acting on many jobs, running a delayed job now, and the workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from jobdeck.web import create_app

from . import field_reads
from .conftest import OPERATE_KEY, Queue
from .pages import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def signed_in(browser: Any, dash_queue: Queue) -> Iterator[Any]:
    sign_in(browser, dash_queue.served.url, OPERATE_KEY)
    yield browser


@pytest.fixture
def paused(dash_queue: Queue) -> Iterator[None]:
    """The queue paused, so submitted jobs stay pending while the test looks at them."""
    dash_queue.served.call(dash_queue.service.pause_queue())
    yield
    dash_queue.served.call(dash_queue.service.resume_queue())


def search(driver: Any, text: str) -> None:
    field = driver.find_element(By.ID, "filter")
    field.clear()
    field.send_keys(text or Keys.ESCAPE)  # Esc empties the box (and leaves it)


def tab(driver: Any, key: str) -> None:
    """Go to a tab by its key (out of the search box first, where keys are typed)."""
    driver.execute_script("document.activeElement.blur()")
    press(driver, key)


def shown_ids(driver: Any) -> list[str]:
    return [
        tr.get_attribute("data-id") for tr in driver.find_elements(By.CSS_SELECTOR, "#tbody tr")
    ]


def test_the_filter_searches_names_args_errors_and_id_prefixes(
    signed_in: Any, dash_queue: Queue, paused: None
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    invoice = call(service.submit_job("send_invoice", ["ACME-977"]))
    resize = call(service.submit_job("resize", kwargs={"path": "/img/Holiday.png"}))
    later = call(service.submit_job("quick", [1], delay=600))
    tab(driver, "1")  # Pending
    until(driver, lambda d: rows(d, invoice), what="the pending jobs")
    search(driver, "acme-977")
    until(driver, lambda d: shown_ids(d) == [invoice], what="the job with that argument")
    search(driver, "HOLIDAY")
    until(driver, lambda d: shown_ids(d) == [resize], what="the job with that kwarg")
    search(driver, "invoi")
    until(driver, lambda d: shown_ids(d) == [invoice], what="a partial name")
    search(driver, later[:10])
    until(driver, lambda d: shown_ids(d) == [later], what="a scheduled job by its id's start")
    assert "searched" in driver.find_element(By.ID, "search-info").text


def test_a_pasted_id_from_another_tab_is_offered(
    signed_in: Any, dash_queue: Queue, paused: None
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    job_id = call(service.submit_job("quick", [2]))
    tab(driver, "2")  # Running: it is not there
    search(driver, job_id)
    link = until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#notice a"), what="offer")[0]
    assert "pending" in link.text
    link.click()
    until(driver, lambda d: d.find_element(By.ID, "job-id").text == job_id, what="its page")
    tab(driver, "1")
    search(driver, "")


def test_errors_are_searched_in_the_dead_letters(signed_in: Any, dash_queue: Queue) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    job_id = call(service.submit_job("fails_first", [f"{dash_queue.prefix}:dead-search"]))
    tab(driver, "3")  # Dead letter
    until(driver, lambda d: rows(d, job_id), what="the dead letter")
    search(driver, "ON PURPOSE")
    until(driver, lambda d: job_id in shown_ids(d), what="the dead letter by its error")
    search(driver, "nothing fails like this")
    until(driver, lambda d: shown_ids(d) == [], what="no match")
    assert "Nothing" in driver.find_element(By.ID, "empty").text
    search(driver, "")


def test_every_field_the_page_read_is_documented(signed_in: Any, dash_queue: Queue) -> None:
    read = field_reads.reads(signed_in)
    doc = dash_queue.served.call(_openapi(dash_queue))
    unknown = field_reads.undocumented_reads(doc, read)
    assert not unknown, "\n".join(unknown)


async def _openapi(dash_queue: Queue) -> dict[str, Any]:
    return create_app(dash_queue.service).openapi()
