"""Keyless mode in a real headless Chromium: a page of another origin (another port of the
same host: same-site, so SameSite cookies would not help) cannot pause the queue or retry
the dead letters with body-less POSTs, a form or no-cors fetches; a page reached through a
DNS-rebinding name (mapped to 127.0.0.1 by the browser's resolver) is refused for its Host;
the dashboard itself, on its own origin, pauses the queue with its button."""

from __future__ import annotations

import contextlib
import http.server
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from jobdeck.core import JobService
from jobdeck.core.backend.memory import MemoryBackend
from jobdeck.web import create_app

from ..browser import CHROMEDRIVER, CHROMIUM, FLAGS, browser_available
from ..redis_server import free_port
from .served import ServedApp
from .test_browser import until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]
LOOPBACK = ["127.0.0.1", "localhost", "::1"]

ATTACK = """<!doctype html><html><body>
<form id="form" method="post" action="{target}/api/v1/jobs/dead-letters/retry-all"></form>
<script>
const target = "{target}";
const shots = [
  fetch(target + "/api/v1/queue/pause", {{method: "POST", mode: "no-cors"}}),
  fetch(target + "/api/v1/queue/pause", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "text/plain"}}, body: "{{}}"}}),
  fetch(target + "/api/v1/queue/pause", {{method: "POST", mode: "no-cors",
    headers: {{"Content-Type": "application/x-www-form-urlencoded"}}, body: "a=1"}}),
  fetch(target + "/api/v1/queue/pause", {{method: "POST",
    headers: {{"Content-Type": "application/json", "X-CSRF-Token": ""}}}}),
];
Promise.allSettled(shots).then(() => {{
  document.title = "fired";
  document.getElementById("form").submit();
}});
</script></body></html>"""


@pytest.fixture
def keyless() -> Iterator[ServedApp]:
    name = f"keyless-{time.monotonic_ns()}"
    served = ServedApp(
        lambda: JobService(f"memory://{name}"),
        lambda service: create_app(service, allowed_hosts=LOOPBACK),
    ).start()
    try:
        yield served
    finally:
        served.stop()
        MemoryBackend.forget(f"{name}/jobdeck/default")


@pytest.fixture
def driver() -> Iterator[Any]:
    """Chromium whose resolver maps rebind.test to 127.0.0.1, as a rebinding DNS would."""
    if not browser_available():
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="jobdeck-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        *FLAGS,
        f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP rebind.test 127.0.0.1",
    ):
        options.add_argument(flag)
    chrome = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def attacker_site(target: str) -> Iterator[str]:
    """Another origin (a different port) serving a page that fires writes at `target`."""
    page = ATTACK.format(target=target).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()


def paused(served: ServedApp) -> bool:
    assert served.service is not None
    return bool(served.call(served.service.get_metrics(1)).paused)


def test_another_origins_page_changes_nothing(driver: Any, keyless: ServedApp) -> None:
    with attacker_site(keyless.url.rstrip("/")) as page:
        driver.get(page)
        until(driver, lambda d: "fired" in d.title or "pause" in d.current_url or d.title == "", 10)
        time.sleep(0.5)  # the form's navigation lands
    assert not paused(keyless)


def test_a_rebinding_name_is_refused_for_its_host(driver: Any, keyless: ServedApp) -> None:
    port = keyless.url.rstrip("/").rsplit(":", 1)[1]
    driver.get(f"http://rebind.test:{port}/")  # the attacker's name, resolved to 127.0.0.1
    assert "does not answer for that Host" in driver.find_element(By.TAG_NAME, "body").text
    status = driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch("/api/v1/queue/pause", {method: "POST", headers: {"X-CSRF-Token": ""}})
          .then(r => done(r.status), e => done(String(e)));"""
    )
    assert status == 400 and not paused(keyless)


def test_the_dashboard_itself_pauses_the_queue(driver: Any, keyless: ServedApp) -> None:
    driver.get(keyless.url)
    button = until(driver, lambda d: d.find_element(By.ID, "pause-btn"), what="the page")
    until(driver, lambda d: button.is_displayed(), what="the Pause button")
    button.click()
    until(driver, lambda _: paused(keyless), what="the queue to pause")
