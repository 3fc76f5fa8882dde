"""Workflows on the dashboard in a real headless Chromium (issue 23): a job's page lists its
parents and children with their statuses, each a link to its page; what it waits for and
when it expires are facts; waiting and expired jobs are counted in the header."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from .conftest import OPERATE_KEY, Queue
from .pages import sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def signed_in(browser: Any, dash_queue: Queue) -> Iterator[Any]:
    sign_in(browser, dash_queue.served.url, OPERATE_KEY)
    yield browser


def test_a_jobs_page_lists_its_parents_and_children(signed_in: Any, dash_queue: Queue) -> None:
    driver = signed_in
    service, call = dash_queue.service, dash_queue.served.call
    parent = call(service.submit_job("noop", delay=600))
    child = call(service.submit_job("noop", after=[parent], expires=3600))
    grandchild = call(service.submit_job("noop", after=[child], on_parent_failure="run"))
    driver.execute_script("location.hash = arguments[0]", f"job/{child}")
    until(driver, lambda d: d.find_element(By.ID, "job-family-box").is_displayed(), what="family")
    parents = driver.find_element(By.ID, "job-parents").text
    children = driver.find_element(By.ID, "job-children").text
    assert "scheduled" in parents and "waiting" in children
    facts = driver.find_element(By.ID, "job-facts").text
    assert "Waiting for\n1 of 1 parents" in facts and "Expires" in facts
    assert driver.find_element(By.ID, "job-status").text == "waiting"
    until(driver, lambda d: d.find_element(By.ID, "count-waiting").text == "2", what="count")
    driver.find_element(By.CSS_SELECTOR, "#job-parents a").click()
    until(driver, lambda d: d.find_element(By.ID, "job-id").text == parent, what="the parent")
    until(driver, lambda d: "waiting" in d.find_element(By.ID, "job-children").text, what="kids")
    assert driver.find_element(By.ID, "job-parents").text == "none"
    driver.execute_script("location.hash = arguments[0]", f"job/{grandchild}")
    until(driver, lambda d: d.find_element(By.ID, "job-id").text == grandchild, what="grandchild")
    until(driver, lambda d: "If a parent fails\nrun" in d.find_element(By.ID, "job-facts").text,
          what="its on_parent_failure")
    call(service.cancel_job(parent))
