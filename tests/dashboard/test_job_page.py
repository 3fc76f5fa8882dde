"""The job page in a real headless Chromium: its actions fit the job shown, and only it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from jobdeck.core import Events

from . import field_reads
from .conftest import OPERATE_KEY, Queue
from .pages import sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def signed_in(browser: Any, dash_queue: Queue) -> Iterator[Any]:
    sign_in(browser, dash_queue.served.url, OPERATE_KEY)
    yield browser


def dead_letter(dash_queue: Queue) -> str:
    service, call = dash_queue.service, dash_queue.served.call
    job_id = call(service.submit_job("fails_first", [f"{dash_queue.prefix}:{uuid.uuid4().hex}"]))

    def failed(_: Any) -> bool:
        job = call(service.get_job(job_id))
        return job is not None and job.status.value == "failed"

    until(None, failed, what="the job to fail")
    return job_id


def shown(driver: Any, element_id: str) -> bool:
    return bool(driver.find_element(By.ID, element_id).is_displayed())


def job_actions(driver: Any) -> list[str]:
    buttons = driver.find_elements(By.CSS_SELECTOR, "#job-actions button")
    return [b.get_attribute("data-action") for b in buttons if b.is_displayed()]


def test_the_page_listens_to_every_event_type_the_server_names(signed_in: Any) -> None:
    assert field_reads.event_types(signed_in) >= {str(e) for e in Events}
    assert "WORKER_LOOP_BLOCKED" in field_reads.event_types(signed_in)


def test_a_missing_jobs_page_keeps_no_action_of_the_job_shown_before(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver = signed_in
    job_id = dead_letter(dash_queue)
    driver.execute_script("location.hash = arguments[0]", f"job/{job_id}")
    until(driver, lambda d: job_actions(d) == ["retry", "delete"], what="the dead letter's actions")
    driver.execute_script("location.hash = 'job/no-such-job'")
    until(driver, lambda d: d.find_element(By.ID, "job-name").text == "No such job", what="404")
    assert job_actions(driver) == []
    assert driver.find_element(By.ID, "job-id").text == "no-such-job"


def test_a_malformed_escape_in_the_address_keeps_the_operator_signed_in(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver = signed_in
    # variants: a truncated UTF-8 escape, a bare %, a bad escape in a queue's name
    for bad in ("#job/%E0%A4%A", "#job/%", "#queue/%ZZ/pending", "#queue/x%/job/y"):
        driver.get(dash_queue.served.url + bad)
        driver.refresh()  # loaded with it, not only moved to it
        until(driver, lambda d: shown(d, "app"), what=f"the dashboard at {bad}")
        assert not shown(driver, "login"), bad


def timeline(driver: Any) -> list[str]:
    """What each step of the timeline says, without its time."""
    steps = driver.find_elements(By.CSS_SELECTOR, "#job-timeline li")
    return [li.text.removeprefix(li.find_element(By.TAG_NAME, "time").text) for li in steps]


def test_the_timeline_is_the_jobs_events_and_grows_live(signed_in: Any, dash_queue: Queue) -> None:
    driver = signed_in
    job_id = dead_letter(dash_queue)
    driver.execute_script("location.hash = arguments[0]", f"job/{job_id}")
    until(driver, lambda d: any("dead letter" in t for t in timeline(d)), what="the failure")
    driver.find_element(By.CSS_SELECTOR, '#job-actions [data-action="retry"]').click()
    until(driver, lambda d: "completed" in timeline(d)[-1], what="the retry's completion")
    steps = timeline(driver)
    assert steps[0] == "submitted (pending, priority normal)"
    assert steps[1].startswith("started on ") and steps[1].endswith("(attempt 1)")
    assert steps[2] == "failed: RuntimeError: the first attempt fails on purpose → dead letter"
    assert steps[3] == "retried from the dead-letter queue"
    assert steps[4].endswith("(attempt 1)") and steps[5].startswith("completed in ")
    assert len(steps) == 6


def test_the_schedule_that_queued_a_job_and_its_handlers_events_show(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    call(service.add_schedule("timeline-tick", job="emits", every=3600, args=[2]))
    job_id = call(service.trigger_schedule("timeline-tick"))
    driver.execute_script("location.hash = arguments[0]", f"job/{job_id}")
    until(driver, lambda d: "completed" in " ".join(timeline(d)), what="the job's events")
    steps = timeline(driver)
    assert "queued by schedule timeline-tick (triggered by hand)" in steps
    assert 'app.step {"n":0}' in steps and 'app.step {"n":1}' in steps
    call(service.remove_schedule("timeline-tick"))


def test_the_job_page_shows_its_meta(signed_in: Any, dash_queue: Queue) -> None:
    driver = signed_in
    service, call = dash_queue.service, dash_queue.served.call
    tagged = call(service.submit_job("noop", delay=600, meta={"tenant": "acme", "n": 7}))
    plain = call(service.submit_job("noop", delay=600))
    driver.execute_script("location.hash = arguments[0]", f"job/{tagged}")
    until(driver, lambda d: shown(d, "job-meta-box"), what="the meta box")
    meta = driver.find_element(By.ID, "job-meta").text
    assert '"tenant": "acme"' in meta and '"n": 7' in meta
    driver.execute_script("location.hash = arguments[0]", f"job/{plain}")
    until(driver, lambda d: d.find_element(By.ID, "job-id").text == plain, what="the plain job")
    until(driver, lambda d: not shown(d, "job-meta-box"), what="no meta box")
    call(service.cancel_job(tagged))
    call(service.cancel_job(plain))
