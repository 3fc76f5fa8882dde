"""Regenerate the dashboard pictures in screenshots/ (PNG, 1280x800 and phone width).

    python screenshots/make_dashboard_screenshots.py [--out screenshots] [--warmup 90]

It serves `create_app` over the demo queue of `jobdeck demo` (memory engine, two worker
processes' worth of concurrency, a producer of quick, slow, flaky and failing jobs), lets it run
for `--warmup` seconds so the chart and the history have something in them, then signs in
with headless Chromium and saves each tab (the overview of every queue too: two more queues of
the prefix are filled for it), a search, a selection for an action on many, a job page with
its timeline, the chart over a day, the help, a confirmation, the login form, a dark-mode view
and the phone-width views. The pictures are never asserted on.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from jobdeck.console.demo import demo_service, start_demo  # noqa: E402
from jobdeck.web import create_app  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.dashboard.conftest import OPERATE_KEY, keyed_auth  # noqa: E402
from tests.dashboard.served import ServedApp  # noqa: E402

# A burst of low-priority mail and a few delayed reminders: the demo's workers keep up with
# its own producer, so without this the Pending tab would be empty when shot.
BURST = [
    {"name": "send_email", "args": [f"user{n}@example.com"], "priority": "low"} for n in range(120)
] + [{"name": "send_reminder", "args": [n], "delay": 30 + n, "priority": "high"} for n in range(8)]


def wait(driver, condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def sign_in(driver, url: str) -> None:  # type: ignore[no-untyped-def]
    driver.get(url)
    wait(driver, lambda d: d.find_element(By.ID, "login-key").is_displayed())
    driver.find_element(By.ID, "login-key").send_keys(OPERATE_KEY)
    driver.find_element(By.ID, "login-submit").click()
    wait(driver, lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "live")


def tab(driver, key: str, settle: float = 1.2) -> None:  # type: ignore[no-untyped-def]
    driver.execute_script("document.activeElement.blur()")
    ActionChains(driver).send_keys(key).perform()
    time.sleep(settle)


def search(driver, text: str) -> None:  # type: ignore[no-untyped-def]
    field = driver.find_element(By.ID, "filter")
    field.clear()
    field.send_keys(text or "\ue00c")  # Escape empties it
    driver.execute_script("document.activeElement.blur()")


def shoot(driver, out: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    path = out / f"dashboard-{name}.png"
    driver.save_screenshot(str(path))
    print(f"wrote {path}")


def other_queues(served: ServedApp) -> list[Any]:
    """Two more queues of the demo's prefix for the overview: mail (busy, paused) and
    reports (a few delayed jobs); no worker serves them, so their jobs stay."""
    assert served.service is not None
    mail = served.service.for_queue("mail")
    reports = served.service.for_queue("reports")
    served.call(
        mail.submit_jobs([{"name": "send_email", "args": [f"u{n}@example.com"]} for n in range(42)])
    )
    served.call(mail.pause_queue())
    served.call(
        reports.submit_jobs(
            [{"name": "build_report", "args": [m], "delay": 3600} for m in range(5)]
        )
    )
    return [mail, reports]


def desktop(driver: Any, served: ServedApp, out: Path) -> None:
    assert served.service is not None
    service = served.service
    driver.get(served.url)
    wait(driver, lambda d: d.find_element(By.ID, "login-key").is_displayed())
    shoot(driver, out, "login")
    sign_in(driver, served.url)
    # Paused with a burst queued, so Pending has rows (the demo's workers keep up).
    served.call(service.pause_queue())
    served.call(service.submit_jobs(BURST))
    tab(driver, "1", 2.0)
    shoot(driver, out, "pending")
    for box in driver.find_elements(By.CSS_SELECTOR, "#tbody input.select")[:3]:
        box.click()
    time.sleep(0.3)
    shoot(driver, out, "bulk")
    driver.find_element(By.ID, "bulk-clear").click()
    search(driver, "user1")
    time.sleep(1.5)
    shoot(driver, out, "search")
    search(driver, "")
    served.call(service.resume_queue())
    for key, name in (
        ("0", "queues"),
        ("2", "running"),
        ("3", "dead-letter"),
        ("4", "workers"),
        ("6", "schedules"),
    ):
        tab(driver, key)
        shoot(driver, out, name)
    # Limits: a paused key holding a few exports (throttled), a rate and a template.
    served.call(service.set_limit("warehouse", concurrency=0))
    served.call(service.set_limit("payments", concurrency=5, rate=100, per=1.0))
    served.call(service.set_limit("user:*", concurrency=1))
    served.call(
        service.submit_jobs(
            [
                {"name": "sync_inventory", "args": [f"store-{n}"], "limit": "warehouse"}
                for n in range(4)
            ]
        )
    )
    tab(driver, "7", 2.0)
    shoot(driver, out, "limits")
    for key in ("warehouse", "payments", "user:*"):
        served.call(service.remove_limit(key))
    tab(driver, "5")
    driver.find_element(By.CSS_SELECTOR, "#by-name-box summary").click()
    time.sleep(1.0)
    shoot(driver, out, "history")
    driver.find_element(By.CSS_SELECTOR, '.ranges [data-range="day"]').click()
    time.sleep(1.0)
    shoot(driver, out, "chart-day")
    driver.find_element(By.CSS_SELECTOR, '.ranges [data-range="hour"]').click()
    tab(driver, "3")
    driver.find_element(By.CSS_SELECTOR, "#tbody tr td.id a").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#job-timeline li"))
    time.sleep(0.5)
    shoot(driver, out, "job")
    tab(driver, "2")
    cancel = '#tbody button[data-action="cancel"]'
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, cancel))
    driver.find_element(By.CSS_SELECTOR, cancel).click()
    time.sleep(0.5)
    shoot(driver, out, "confirm-cancel")
    ActionChains(driver).send_keys("\ue00c").perform()  # Escape
    tab(driver, "?", 0.5)
    shoot(driver, out, "help")


def phone(driver: Any, served: ServedApp, out: Path) -> None:
    assert served.service is not None
    sign_in(driver, served.url)
    served.call(served.service.pause_queue())
    served.call(served.service.submit_jobs(BURST))
    time.sleep(1.5)
    shoot(driver, out, "phone-pending")
    served.call(served.service.resume_queue())
    tab(driver, "2", 2.0)
    shoot(driver, out, "phone-running")
    tab(driver, "3")
    shoot(driver, out, "phone-dead-letter")
    driver.find_element(By.CSS_SELECTOR, "#tbody tr td.id a").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#job-timeline li"))
    time.sleep(0.5)
    shoot(driver, out, "phone-job")
    tab(driver, "0")
    shoot(driver, out, "phone-queues")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--warmup", type=float, default=90.0)
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)

    served = ServedApp(demo_service, lambda s: create_app(s, auth=keyed_auth())).start()
    assert served.service is not None
    stop_demo = served.call(start_demo(served.service))
    served.call(served.service.start_workers(3, worker_id="web-host-1"))
    for name, job, timing in (
        (
            "nightly-report",
            "build_report",
            {"cron": "0 3 * * *", "timezone": "Europe/Berlin", "args": ["2026-11"]},
        ),
        ("inventory-sync", "sync_inventory", {"every": 60, "args": ["store-1"]}),
        ("reminders", "send_reminder", {"every": 300, "args": [1]}),
    ):
        served.call(served.service.add_schedule(name, job, **timing))
    served.call(served.service.trigger_schedule("inventory-sync"))
    served.call(served.service.pause_schedule("reminders"))
    queues = other_queues(served)
    try:
        time.sleep(options.warmup)
        with chromium(1280, 800) as driver:
            desktop(driver, served, options.out)
        with chromium(1280, 800, dark=True) as driver:
            sign_in(driver, served.url)
            tab(driver, "2", 2.0)
            shoot(driver, options.out, "running-dark")
        with chromium(390, 844) as driver:
            phone(driver, served, options.out)
    finally:
        served.call(stop_demo())
        for queue in queues:
            served.call(queue.close())
        served.stop()


if __name__ == "__main__":
    main()
