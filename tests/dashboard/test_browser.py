"""The dashboard in a real headless Chromium, over real HTTP, on a private Redis with a real
worker process: sign in, live updates, actions and their refusal, CSRF, console errors.

One browser serves the whole module (the tests run in order and share its session)."""

from __future__ import annotations

from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from jobdeck.web import create_app

from ..hostile import STORABLE, unsafe_chars
from . import field_reads
from .conftest import OPERATE_KEY, READ_KEY, Queue
from .pages import press, rows, sign_in, until, visible_action_buttons

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]


def test_sign_in_and_see_jobs_appear_live(browser: Any, dash_queue: Queue) -> None:
    driver, url = browser, dash_queue.served.url
    driver.get(url)
    until(driver, lambda d: d.find_element(By.ID, "login-key").is_displayed(), what="login form")
    driver.find_element(By.ID, "login-key").send_keys("not-a-key-of-this-server")
    driver.find_element(By.ID, "login-submit").click()
    until(
        driver,
        lambda d: "not valid" in d.find_element(By.ID, "login-error").text,
        what="the wrong-key message",
    )

    sign_in(driver, url, OPERATE_KEY)
    cookie = driver.get_cookie("jobdeck_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict" and cookie.get("expiry")
    assert OPERATE_KEY not in driver.current_url
    assert OPERATE_KEY not in driver.page_source
    assert driver.execute_script("return document.cookie") == ""  # HttpOnly: script sees none

    press(driver, "5")  # History
    until(
        driver,
        lambda d: (
            d.find_element(By.CSS_SELECTOR, '[data-tab="history"]').get_attribute("aria-selected")
            == "true"
        ),
        what="the History tab",
    )
    driver.execute_script("window.__sameDocument = true")
    job_ids = [dash_queue.submit_from_process("quick", f"[{n}]") for n in range(3)]
    for job_id in job_ids:
        until(driver, lambda d, j=job_id: rows(d, j), what=f"job {job_id} in History")
    assert driver.execute_script("return window.__sameDocument") is True  # no reload
    assert not any(OPERATE_KEY in line for line in dash_queue.served.log_lines)


def test_retry_a_dead_letter_with_its_button(browser: Any, dash_queue: Queue) -> None:
    driver = browser
    job_id = dash_queue.submit_from_process("fails_first", f'["{dash_queue.prefix}:attempts"]')
    press(driver, "3")  # Dead letter
    row = until(driver, lambda d: rows(d, job_id), what="the dead letter")[0]
    assert "first attempt fails" in row.text
    row.find_element(By.CSS_SELECTOR, 'button[data-action="retry"]').click()
    until(driver, lambda d: not rows(d, job_id), what="the row to leave Dead letter")
    press(driver, "5")
    until(driver, lambda d: rows(d, job_id), what="the retried job in History")
    job = dash_queue.served.call(dash_queue.service.get_job(job_id))
    assert job.status == "completed" and job.result == "second time lucky"


def test_cancel_a_running_job(browser: Any, dash_queue: Queue) -> None:
    driver = browser
    job_id = dash_queue.submit_from_process("slow", "[30]")
    press(driver, "2")  # Running
    row = until(driver, lambda d: rows(d, job_id), what="the running job")[0]
    until(driver, lambda d: "step" in rows(d, job_id)[0].text, what="a progress message")
    row = rows(driver, job_id)[0]
    row.find_element(By.CSS_SELECTOR, 'button[data-action="cancel"]').click()
    dialog = driver.find_element(By.ID, "confirm")
    until(driver, lambda d: dialog.is_displayed(), what="the confirmation")
    assert job_id in dialog.text
    driver.find_element(By.ID, "confirm-yes").click()
    until(driver, lambda d: not rows(d, job_id), what="the cancelled job to leave Running")

    def cancelled(_: Any) -> bool:
        job = dash_queue.served.call(dash_queue.service.get_job(job_id))
        return job.status == "cancelled"

    until(driver, cancelled, what="the job to be cancelled in Redis")


def test_scale_a_worker_with_plus(browser: Any, dash_queue: Queue) -> None:
    driver = browser
    worker_id = dash_queue.worker.worker_id
    press(driver, "4")  # Workers
    row = until(driver, lambda d: rows(d, worker_id), what="the worker")[0]
    concurrency = lambda d: int(rows(d, worker_id)[0].find_elements(By.TAG_NAME, "td")[4].text)  # noqa: E731
    before = concurrency(driver)
    row.find_element(By.CSS_SELECTOR, 'button[data-action="scale"][aria-label^="Scale up"]').click()
    until(driver, lambda d: concurrency(d) == before + 1, what="one more on the page")
    workers = dash_queue.served.call(dash_queue.service.list_workers())
    assert [w.concurrency for w in workers if w.id == worker_id] == [before + 1]


def test_schedules_tab_runs_and_pauses_a_schedule(browser: Any, dash_queue: Queue) -> None:
    driver, served = browser, dash_queue.served
    served.call(dash_queue.service.add_schedule("nightly-report", "quick", every=3600, args=[7]))
    driver.refresh()  # the tab shows when the server offers schedules: it reads that at start
    until(
        driver,
        lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "live",
        what="the live connection",
    )
    press(driver, "6")
    row = until(driver, lambda d: rows(d, "nightly-report"), what="the schedule")[0]
    assert "every 1 h" in row.text, row.text
    assert "active" in row.text, row.text  # a worker serves its queue
    row.find_element(By.CSS_SELECTOR, 'button[data-action="trigger"]').click()

    def fired(_: Any) -> bool:
        info = served.call(dash_queue.service.get_schedule("nightly-report"))
        return info.last_job_id is not None

    until(driver, fired, what="the schedule's job to be queued")
    until(
        driver,
        lambda d: rows(d, "nightly-report")[0].find_elements(By.CSS_SELECTOR, "td.id a"),
        what="a link to the schedule's last job",
    )
    rows(driver, "nightly-report")[0].find_element(
        By.CSS_SELECTOR, 'button[data-action="toggle"]'
    ).click()
    until(driver, lambda d: "paused" in rows(d, "nightly-report")[0].text, what="paused")
    assert served.call(dash_queue.service.get_schedule("nightly-report")).paused is True
    served.call(dash_queue.service.remove_schedule("nightly-report"))


def test_a_schedule_no_worker_serves_reads_unserved(browser: Any, dash_queue: Queue) -> None:
    """As `jobdeck schedules list`, the console and the API say it (issue 22): the
    Schedules view had no state, and a schedule that nothing fires looked like any other."""
    driver, served = browser, dash_queue.served
    lonely = dash_queue.service.for_queue("lonely")
    try:
        served.call(lonely.add_schedule("orphan", "quick", every=3600))
        served.call(lonely.submit_job("quick", delay=3600))  # a write lists the queue
        driver.execute_script("location.hash = 'queue/lonely/schedules'")
        driver.refresh()  # the queue list and the tab are read at start
        row = until(driver, lambda d: rows(d, "orphan"), what="the lonely queue's schedule")[0]
        until(driver, lambda d: "unserved" in rows(d, "orphan")[0].text, what="unserved")
    finally:
        served.call(lonely.remove_schedule("orphan"))
        served.call(lonely.close())
        driver.execute_script("location.hash = 'pending'")  # back to the served queue
        driver.refresh()
    assert row is not None


def test_a_forged_post_without_the_csrf_token_is_refused(browser: Any, dash_queue: Queue) -> None:
    post = """
        const [path, token, done] = arguments;
        const headers = token ? {"X-CSRF-Token": token} : {};
        fetch(path, {method: "POST", credentials: "same-origin", headers})
          .then((r) => done(r.status), (e) => done(String(e)));
    """
    assert browser.execute_async_script(post, "api/v1/queue/pause", "") == 403
    assert browser.execute_async_script(post, "api/v1/queue/pause", "forged-token") == 403
    metrics = dash_queue.served.call(dash_queue.service.get_metrics())
    assert metrics.paused is False


def test_hostile_strings_stay_inert_visible_text(browser: Any, dash_queue: Queue) -> None:
    driver, served = browser, dash_queue.served
    ids: dict[str, str] = {}
    for key, text in STORABLE.items():
        try:
            job_id = served.call(
                dash_queue.service.submit_job(text, [text], {text: text}, delay=3600)
            )
        except (TypeError, ValueError):  # a name the core refuses: the text goes in args
            job_id = served.call(
                dash_queue.service.submit_job("quick", [text], {"k": text}, delay=3600)
            )
        ids[key] = job_id
    press(driver, "1")
    Select(driver.find_element(By.ID, "substatus")).select_by_value("scheduled")
    for job_id in ids.values():
        until(driver, lambda d, j=job_id: rows(d, j), what="the hostile jobs")
    assert driver.find_elements(By.CSS_SELECTOR, "#app script, #app img, #app a[href^=http]") == []
    shown = driver.execute_script("return document.getElementById('app').textContent")
    assert unsafe_chars(shown, allow="\n") == []
    driver.execute_script("location.hash = arguments[0]", f"job/{ids['html']}")
    until(driver, lambda d: d.find_element(By.ID, "job-status").text == "scheduled", what="job")
    page = driver.execute_script("return document.getElementById('job').textContent")
    assert "<img src=x onerror=alert(1)>" in page  # shown as the text it is
    assert unsafe_chars(page, allow="\n\t") == []
    assert driver.find_elements(By.CSS_SELECTOR, "#job script, #job img") == []
    for job_id in ids.values():
        served.call(dash_queue.service.cancel_job(job_id))
    driver.execute_script("location.hash = 'pending'")


def test_a_read_key_sees_no_action_buttons(browser: Any, dash_queue: Queue) -> None:
    driver = browser
    driver.find_element(By.ID, "logout-btn").click()
    until(driver, lambda d: d.find_element(By.ID, "login-key").is_displayed(), what="login form")
    assert driver.get_cookie("jobdeck_session") is None
    sign_in(driver, dash_queue.served.url, READ_KEY)
    dash_queue.submit_from_process("fails_first", f'["{dash_queue.prefix}:read"]')
    dash_queue.submit_from_process("slow", "[5]")
    for key, tab in zip(
        "123456", ["pending", "running", "dead", "workers", "history", "schedules"], strict=True
    ):
        press(driver, key)
        until(
            driver,
            lambda d, t=tab: (
                d.find_element(By.CSS_SELECTOR, f'[data-tab="{t}"]').get_attribute("aria-selected")
                == "true"
            ),
            what=f"the {tab} tab",
        )
        if tab in ("dead", "workers", "running"):
            until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#tbody tr"), what="rows")
        assert visible_action_buttons(driver) == [], tab
    press(driver, "3")
    until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#tbody tr td.id a"), what="a job")
    driver.find_element(By.CSS_SELECTOR, "#tbody tr td.id a").click()
    until(driver, lambda d: d.find_element(By.ID, "job").is_displayed(), what="the job page")
    until(driver, lambda d: d.find_element(By.ID, "job-status").text, what="the job's status")
    assert visible_action_buttons(driver) == []
    # And the server refuses anyway, with the session's own valid CSRF token.
    status = driver.execute_async_script(
        """const done = arguments[0];
        fetch("api/v1/session").then((r) => r.json()).then((s) =>
          fetch("api/v1/queue/pause", {method: "POST", headers: {"X-CSRF-Token": s.csrf}}))
          .then((r) => done(r.status));"""
    )
    assert status == 403


def test_every_field_the_page_read_is_documented(browser: Any, dash_queue: Queue) -> None:
    """Last: every reply field and event field the page read in this module's tests exists
    in the OpenAPI document, for the request it came from."""
    read = field_reads.reads(browser)
    assert any(where == "EVENT" for where, _ in read)  # the recorder saw events too
    assert any(path == "jobs[].progress.fraction" for _, path in read)
    doc = dash_queue.served.call(_openapi(dash_queue))
    unknown = field_reads.undocumented_reads(doc, read)
    assert not unknown, "\n".join(unknown)


async def _openapi(dash_queue: Queue) -> dict[str, Any]:
    return create_app(dash_queue.service).openapi()
