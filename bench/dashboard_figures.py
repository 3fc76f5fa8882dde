"""The dashboard's two figures, measured in headless Chromium over real HTTP and Redis.

    python bench/dashboard_figures.py [--jobs 80] [--minutes 10] [--rate 200]

1. Completion-to-row-move latency: jobs run in a real worker process; the page sits on the
   Running tab; a MutationObserver notes when each job's row leaves it. Latency is that
   moment minus the job's `finished_at` (written by Redis' clock in the completing script:
   one machine, one clock). Reported: p50, p95, max.
2. Page memory under load: a producer submits quick jobs so that the queue emits about
   `--rate` events per second (submitted, started, completed) for `--minutes`; the page
   stays open on the Running tab. Every 30 s: JS heap used, DOM nodes and event listeners
   (Chrome's Performance.getMetrics, after a forced garbage collection).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from jobdeck.core import JobService  # noqa: E402
from jobdeck.web import create_app  # noqa: E402
from tests.browser import chromium  # noqa: E402
from tests.dashboard.conftest import OPERATE_KEY, QUEUE, keyed_auth  # noqa: E402
from tests.dashboard.served import ServedApp  # noqa: E402
from tests.redis_server import RedisServer  # noqa: E402
from tests.worker_process import WorkerProcess  # noqa: E402

OBSERVE = """
window.__gone = {};
window.__observer = new MutationObserver((records) => {
  const now = performance.timeOrigin + performance.now();
  for (const r of records) for (const n of r.removedNodes)
    // A row moved within the table is removed and added back: only one that left counts.
    if (n.dataset && n.dataset.id && !n.isConnected && !(n.dataset.id in window.__gone))
      window.__gone[n.dataset.id] = now;
});
window.__observer.observe(document.getElementById("tbody"), {childList: true});
"""


def metrics(driver) -> dict[str, float]:  # type: ignore[no-untyped-def]
    driver.execute_cdp_cmd("HeapProfiler.collectGarbage", {})
    raw = driver.execute_cdp_cmd("Performance.getMetrics", {})["metrics"]
    return {m["name"]: m["value"] for m in raw}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def pending_phase(driver, served, service, count: int) -> None:  # type: ignore[no-untyped-def]
    """With `count` jobs pending (the queue paused), how long the Pending tab takes to show
    its first and its last page, and how many DOM nodes the page holds."""
    driver.execute_cdp_cmd("Performance.enable", {})
    served.call(service.pause_queue())
    for start in range(0, count, 10_000):
        jobs = [{"name": "quick", "args": [n]} for n in range(start, min(count, start + 10_000))]
        served.call(service.submit_jobs(jobs), timeout=120)
    wait = WebDriverWait(driver, 60, poll_frequency=0.02)
    info = lambda d: d.find_element(By.ID, "page-info").text  # noqa: E731
    began = time.monotonic()
    ActionChains(driver).send_keys("1").perform()
    wait.until(
        lambda d: f"of {count:,}" in info(d) and d.find_elements(By.CSS_SELECTOR, "#tbody tr")
    )
    first = time.monotonic() - began
    m = metrics(driver)
    last_page = (count - 1) // 50
    began = time.monotonic()
    driver.execute_script(
        "for (let i = 0; i < arguments[0]; i++) window.dispatchEvent("
        "new KeyboardEvent('keydown', {key: ']'}))",
        last_page,
    )
    wait.until(lambda d: info(d).startswith(f"{last_page * 50 + 1:,}"))
    last = time.monotonic() - began
    print(
        f"{count:,} pending: first page shown in {first * 1000:.0f} ms, last page (offset "
        f"{last_page * 50:,}) in {last * 1000:.0f} ms; DOM nodes {m['Nodes']:.0f}, "
        f"JS heap {m['JSHeapUsedSize'] / 1e6:.2f} MB"
    )
    served.call(service.resume_queue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=80)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=200, help="events per second")
    parser.add_argument("--pending", type=int, default=0, help="then: this many pending jobs")
    options = parser.parse_args()

    redis = RedisServer().start()
    prefix = f"fig{uuid.uuid4().hex[:8]}"
    served = ServedApp(
        lambda: JobService(redis.url, queue=QUEUE, prefix=prefix),
        lambda s: create_app(s, auth=keyed_auth()),
    ).start()
    worker = WorkerProcess(
        "tests.apps.dashboard_tasks:service",
        redis.url,
        queue=QUEUE,
        prefix=prefix,
        concurrency=16,
        env={"JOBDECK_TEST_URL": redis.url},
    ).start()
    service = served.service
    assert service is not None
    try:
        with chromium(1280, 800) as driver:
            driver.get(served.url)
            wait = WebDriverWait(driver, 20, poll_frequency=0.05)
            wait.until(lambda d: d.find_element(By.ID, "login-key").is_displayed())
            driver.find_element(By.ID, "login-key").send_keys(OPERATE_KEY)
            driver.find_element(By.ID, "login-submit").click()
            wait.until(
                lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "live"
            )
            ActionChains(driver).send_keys("2").perform()
            driver.execute_script(OBSERVE)

            if options.jobs:
                # 1. latency: jobs of 1-3 s, a few at a time, so completions are spread out
                ids: list[str] = []
                for n in range(options.jobs):
                    ids.append(served.call(service.submit_job("slow", [1.0 + (n % 9) / 4])))
                    time.sleep(0.15)
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    gone = driver.execute_script("return window.__gone")
                    if all(i in gone for i in ids):
                        break
                    time.sleep(0.5)
                gone = driver.execute_script("return window.__gone")
                latencies = []
                for job_id in ids:
                    job = served.call(service.get_job(job_id))
                    if job_id in gone and job.finished_at:
                        latencies.append(gone[job_id] - job.finished_at * 1000)
                print(
                    f"row-move latency over {len(latencies)} of {len(ids)} jobs: "
                    f"p50 {statistics.median(latencies):.0f} ms, "
                    f"p95 {percentile(latencies, 0.95):.0f} ms, max {max(latencies):.0f} ms"
                )

            if options.minutes:
                # 2. memory at ~rate events/s (3 events per quick job); the latency probe's own
                # records go first, so what is measured is the page alone
                driver.execute_script("window.__observer.disconnect(); delete window.__gone")
                driver.execute_cdp_cmd("Performance.enable", {})
                stop = threading.Event()
                per_second = max(1, options.rate // 3)

                async def produce() -> None:
                    while not stop.is_set():
                        started = time.monotonic()
                        await service.submit_jobs(
                            [{"name": "quick", "args": [i]} for i in range(per_second // 5)]
                        )
                        await asyncio.sleep(max(0.0, 0.2 - (time.monotonic() - started)))

                producer = asyncio.run_coroutine_threadsafe(produce(), served.loop)  # type: ignore[arg-type]
                first = served.call(service.get_metrics())
                began = time.monotonic()
                samples = []
                while time.monotonic() - began < options.minutes * 60:
                    time.sleep(30)
                    m = metrics(driver)
                    elapsed = time.monotonic() - began
                    samples.append(
                        (elapsed, m["JSHeapUsedSize"], m["Nodes"], m["JSEventListeners"])
                    )
                    print(
                        f"{elapsed:5.0f} s  heap {m['JSHeapUsedSize'] / 1e6:6.2f} MB  "
                        f"nodes {m['Nodes']:6.0f}  listeners {m['JSEventListeners']:5.0f}",
                        flush=True,
                    )
                stop.set()
                producer.result(10)
                last = served.call(service.get_metrics())
                done = last.totals.get("completed", 0) - first.totals.get("completed", 0)
                seconds = time.monotonic() - began
                print(
                    f"{done} jobs completed in {seconds:.0f} s: "
                    f"about {3 * done / seconds:.0f} events/s"
                )
                heaps = [s[1] for s in samples]
                print(
                    f"JS heap: first {heaps[0] / 1e6:.2f} MB, last {heaps[-1] / 1e6:.2f} MB, "
                    f"max {max(heaps) / 1e6:.2f} MB"
                )
            if options.pending:
                pending_phase(driver, served, service, options.pending)
            errors = [
                e
                for e in driver.get_log("browser")
                if e["level"] == "SEVERE" and e.get("source") != "network"
            ]
            print(f"console errors: {len(errors)}")
    finally:
        worker.stop()
        served.stop()
        redis.stop()


if __name__ == "__main__":
    main()
