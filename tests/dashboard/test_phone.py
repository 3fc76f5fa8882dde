"""The dashboard at phone width (390 x 844, a real headless Chromium): every row action is on
screen without sideways scrolling on every tab, and the overview collapses so the table and a
running job's progress are above the fold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from ..browser import browser_available, chromium
from .conftest import OPERATE_KEY, Queue
from .pages import press, rows, sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]

WIDTH, HEIGHT = 390, 844
OUT_OF_VIEW = """
const width = window.innerWidth;
const out = [...document.querySelectorAll("#main button, #main input, #main a")]
  .filter((n) => n.offsetParent !== null)
  .filter((n) => {
    const r = n.getBoundingClientRect();
    return r.right > width + 0.5 || r.left < -0.5;
  })
  .map((n) => n.outerHTML.slice(0, 80));
return [document.documentElement.scrollWidth - width, out];
"""


@pytest.fixture(scope="module")
def phone(dash_queue: Queue) -> Iterator[Any]:
    if not browser_available():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install them)")
    with chromium(WIDTH, HEIGHT) as driver:
        sign_in(driver, dash_queue.served.url, OPERATE_KEY)
        yield driver


def test_every_row_action_is_on_screen_on_every_tab(phone: Any, dash_queue: Queue) -> None:
    driver, service, call = phone, dash_queue.service, dash_queue.served.call
    call(service.add_schedule("phone-tick", job="quick", every=3600))
    long_name = "a_job_name_long_enough_to_push_every_other_cell_off_a_phone_screen_" * 2
    call(service.submit_job(long_name, delay=600))
    call(service.submit_job("fails_first", [f"{dash_queue.prefix}:phone"]))
    call(service.submit_job("slow", [6]))
    call(service.submit_job("quick", [1]))
    for key, wanted in (
        ("1", "cancel"),
        ("2", "cancel"),
        ("3", "retry"),
        ("4", "scale"),
        ("5", "delete"),
        ("6", "trigger"),
        ("0", None),
    ):
        press(driver, key)
        if key == "1":  # the long name's row, among the scheduled ones
            driver.find_element(By.CSS_SELECTOR, "#substatus option[value=scheduled]").click()
            driver.execute_script("document.activeElement.blur()")
        if wanted is not None:
            selector = f'#tbody button[data-action="{wanted}"]'
            until(driver, lambda d, s=selector: d.find_elements(By.CSS_SELECTOR, s), what=wanted)
        overflow, outside = driver.execute_script(OUT_OF_VIEW)
        assert overflow <= 0 and outside == [], (key, overflow, outside)
    call(service.remove_schedule("phone-tick"))


def test_the_table_and_a_running_jobs_progress_are_above_the_fold(
    phone: Any, dash_queue: Queue
) -> None:
    driver, call = phone, dash_queue.served.call
    job_id = call(dash_queue.service.submit_job("slow", [6]))
    press(driver, "2")
    until(driver, lambda d: rows(d, job_id), what="the running job")
    bar = rows(driver, job_id)[0].find_element(By.CSS_SELECTOR, ".bar")
    top = driver.execute_script("return arguments[0].getBoundingClientRect().bottom", bar)
    assert top < HEIGHT  # on the first screen, without scrolling
    assert not driver.find_element(By.ID, "chart").is_displayed()  # the chart is folded away
    driver.find_element(By.ID, "chart-toggle").click()
    until(driver, lambda d: d.find_element(By.ID, "chart").is_displayed(), what="the chart")
    driver.find_element(By.ID, "chart-toggle").click()
