"""The dashboard's list views in a real headless Chromium: the search behind the filter,
acting on many jobs, running a delayed job now, and the workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from jobdeck.core.backend.records import WorkerRecord
from jobdeck.web import create_app

from . import field_reads
from .conftest import OPERATE_KEY, QUEUE, Queue
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


def status_of(dash_queue: Queue, job_id: str) -> str | None:
    job = dash_queue.served.call(dash_queue.service.get_job(job_id))
    return None if job is None else job.status.value


def confirm(driver: Any) -> str:
    """Say yes to the confirmation on screen; returns what it asked."""
    dialog = driver.find_element(By.ID, "confirm")
    until(driver, lambda d: dialog.is_displayed(), what="the confirmation")
    text = dialog.text
    driver.find_element(By.ID, "confirm-yes").click()
    return text


def select(driver: Any, job_id: str) -> None:
    rows(driver, job_id)[0].find_element(By.CSS_SELECTOR, "input.select").click()


def dead_letters(dash_queue: Queue, count: int) -> list[str]:
    service, call = dash_queue.service, dash_queue.served.call
    ids = [
        call(service.submit_job("fails_first", [f"{dash_queue.prefix}:{job}:{n}"]))
        for n, job in enumerate(["bulk"] * count)
    ]
    until(None, lambda _: all(status_of(dash_queue, j) == "failed" for j in ids), what="dead")
    return ids


def test_selected_jobs_are_acted_on_with_one_confirmation_naming_the_count(
    signed_in: Any, dash_queue: Queue, paused: None
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    later = [call(service.submit_job("quick", [n], delay=600)) for n in range(3)]
    tab(driver, "1")
    Select(driver.find_element(By.ID, "substatus")).select_by_value("scheduled")
    until(driver, lambda d: all(rows(d, j) for j in later), what="the delayed jobs")
    select(driver, later[0])
    select(driver, later[1])
    assert driver.find_element(By.ID, "bulk-count").text == "2 selected"
    driver.find_element(By.CSS_SELECTOR, '#bulk-actions [data-bulk="run_now"]').click()
    assert "Run 2 delayed jobs now?" in confirm(driver)
    until(driver, lambda _: status_of(dash_queue, later[1]) == "pending", what="run now")
    assert status_of(dash_queue, later[0]) == "pending"
    assert status_of(dash_queue, later[2]) == "scheduled"
    assert not driver.find_element(By.ID, "bulk").is_displayed()  # the selection went

    Select(driver.find_element(By.ID, "substatus")).select_by_value("pending")
    until(driver, lambda d: rows(d, later[0]) and rows(d, later[1]), what="them pending")
    driver.find_element(By.ID, "select-page").click()
    count = len(driver.find_elements(By.CSS_SELECTOR, "#tbody tr"))
    assert driver.find_element(By.ID, "bulk-count").text == f"{count} selected"
    driver.find_element(By.CSS_SELECTOR, '#bulk-actions [data-bulk="cancel"]').click()
    assert f"Cancel {count} jobs?" in confirm(driver)
    until(driver, lambda _: status_of(dash_queue, later[0]) == "cancelled", what="cancelled")


def test_dead_letters_are_deleted_one_or_many(signed_in: Any, dash_queue: Queue) -> None:
    driver = signed_in
    one, *many = dead_letters(dash_queue, 3)
    tab(driver, "3")
    until(driver, lambda d: rows(d, one), what="the dead letters")
    rows(driver, one)[0].find_element(By.CSS_SELECTOR, '[data-action="delete"]').click()
    assert "Delete this failed job?" in confirm(driver)
    until(driver, lambda _: status_of(dash_queue, one) is None, what="the record to go")
    until(driver, lambda d: not rows(d, one), what="its row to go")
    for job_id in many:
        select(driver, job_id)
    driver.find_element(By.CSS_SELECTOR, '#bulk-actions [data-bulk="delete"]').click()
    assert "Delete 2 jobs?" in confirm(driver)
    until(driver, lambda _: all(status_of(dash_queue, j) is None for j in many), what="deleted")


def test_a_delayed_job_runs_now_from_its_row_and_its_page(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    row_job, page_job = (call(service.submit_job("quick", [n], delay=600)) for n in (7, 8))
    tab(driver, "1")
    Select(driver.find_element(By.ID, "substatus")).select_by_value("scheduled")
    until(driver, lambda d: rows(d, row_job), what="the delayed job")
    rows(driver, row_job)[0].find_element(By.CSS_SELECTOR, '[data-action="run_now"]').click()
    until(driver, lambda _: status_of(dash_queue, row_job) == "completed", what="it to run")
    driver.execute_script("location.hash = arguments[0]", f"job/{page_job}")
    button = until(
        driver,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#job-actions [data-action="run_now"]'),
        what="Run now on its page",
    )[0]
    button.click()
    until(driver, lambda _: status_of(dash_queue, page_job) == "completed", what="it to run")
    until(
        driver,
        lambda d: "run now (was delayed)" in d.find_element(By.ID, "job-timeline").text,
        what="run now in its timeline",
    )
    tab(driver, "1")


def test_workers_show_their_handlers_queues_heartbeat_and_a_blocked_loop(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    now = time.time()
    blocked = WorkerRecord(
        id="w-blocking",
        host="db-host",
        pid=4242,
        queue=QUEUE,
        concurrency=4,
        running=1,
        started_at=now - 60,
        last_heartbeat=now,
        loop_blocked={"job_id": "j1", "job_name": "crunch", "seconds": 3.2, "at": now - 5},
        handlers=["crunch", "mail", "resize", "thumbs"],
        handler_count=4,
    )
    call(service.backend.heartbeat(blocked, [], 30.0))
    tab(driver, "4")
    real = dash_queue.worker.worker_id
    until(driver, lambda d: rows(d, real) and rows(d, "w-blocking"), what="both workers")

    def cells(worker_id: str) -> list[str]:
        return [td.text for td in rows(driver, worker_id)[0].find_elements(By.TAG_NAME, "td")]

    mine = cells(real)
    assert mine[2] == QUEUE and mine[3].startswith("emits, fails_first, quick +")
    assert mine[6].endswith("ago") and mine[7] == "ok"
    theirs = cells("w-blocking")
    assert theirs[1] == "db-host:4242" and theirs[3] == "crunch, mail, resize +1"
    assert theirs[7].startswith("blocked 3.2 s by crunch")


DREW_DONE_BARS = """
const canvas = document.getElementById("chart");
const ok = getComputedStyle(document.documentElement).getPropertyValue("--ok").trim();
const probe = document.createElement("canvas").getContext("2d");
probe.fillStyle = ok; probe.fillRect(0, 0, 1, 1);
const want = probe.getImageData(0, 0, 1, 1).data;
const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
for (let i = 0; i < data.length; i += 4) {
  if (data[i] === want[0] && data[i + 1] === want[1] && data[i + 2] === want[2]) return true;
}
return false;
"""


def test_the_chart_shows_a_day_or_a_month_from_the_servers_history(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, call = signed_in, dash_queue.served.call
    job_id = call(dash_queue.service.submit_job("quick", [5]))
    until(None, lambda _: status_of(dash_queue, job_id) == "completed", what="a completion")
    for button, words in (("day", "per 15 minutes, last day"), ("month", "per 6 hours")):
        driver.find_element(By.CSS_SELECTOR, f'.ranges [data-range="{button}"]').click()
        until(driver, lambda d, w=words: w in d.find_element(By.ID, "chart-range").text, what=words)
        until(driver, lambda d: d.execute_script(DREW_DONE_BARS), what=f"done bars ({button})")
    driver.find_element(By.CSS_SELECTOR, '.ranges [data-range="hour"]').click()


def test_the_history_tab_counts_done_and_failed_by_job_name(
    signed_in: Any, dash_queue: Queue
) -> None:
    driver, service, call = signed_in, dash_queue.service, dash_queue.served.call
    call(service.submit_job("quick", [3]))  # its own jobs: the test runs alone as well
    call(service.submit_job("fails_first", [f"{dash_queue.prefix}:by-name"]))
    tab(driver, "5")
    until(driver, lambda d: d.find_element(By.ID, "by-name-box").is_displayed(), what="the box")
    driver.find_element(By.CSS_SELECTOR, "#by-name-box summary").click()

    def counts(d: Any) -> dict[str, tuple[int, int]] | bool:
        """The table read in one step (rows replaced meanwhile make the probe retry)."""
        cells = [
            [td.text for td in tr.find_elements(By.TAG_NAME, "td")]
            for tr in d.find_elements(By.CSS_SELECTOR, "#by-name tr")
        ]
        seen = {c[0]: (_count(c[1]), _count(c[2])) for c in cells if len(c) == 3}
        done, failed = seen.get("quick", (0, 0))[0], seen.get("fails_first", (0, 0))[1]
        return seen if done >= 1 and failed >= 1 else False

    until(driver, counts, what="done for quick and failed for fails_first")
    tab(driver, "1")
    assert not driver.find_element(By.ID, "by-name-box").is_displayed()


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def test_every_field_the_page_read_is_documented(signed_in: Any, dash_queue: Queue) -> None:
    read = field_reads.reads(signed_in)
    doc = dash_queue.served.call(_openapi(dash_queue))
    unknown = field_reads.undocumented_reads(doc, read)
    assert not unknown, "\n".join(unknown)


async def _openapi(dash_queue: Queue) -> dict[str, Any]:
    return create_app(dash_queue.service).openapi()
