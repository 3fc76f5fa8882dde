"""The API's documentation pages in a real headless Chromium: behind the sign-in, rendered
from files the package ships (no request leaves the server's origin, so they work offline),
under a policy that the vendored scripts run within (no console errors), and Swagger UI's
writes carry the session's CSRF token."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By

from .conftest import OPERATE_KEY, Queue
from .test_browser import sign_in, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


def resources(driver: Any) -> list[str]:
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )


def errors(driver: Any) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def signed_in(driver: Any, url: str) -> None:
    driver.get(url)
    until(
        driver,
        lambda d: d.find_element(By.ID, "login-key").is_displayed()
        or d.find_element(By.ID, "app").is_displayed(),
        what="the page",
    )
    if driver.find_element(By.ID, "login-key").is_displayed():
        sign_in(driver, url, OPERATE_KEY)


def test_docs_need_the_sign_in(browser: Any, dash_queue: Queue) -> None:
    browser.get(dash_queue.served.url + "docs")
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "sign in on the dashboard" in body
    assert browser.find_elements(By.CSS_SELECTOR, ".opblock") == []
    browser.get(dash_queue.served.url + "openapi.json")
    assert "paths" not in browser.find_element(By.TAG_NAME, "body").text
    browser.get_log("browser")  # the 401s above are expected console lines


@pytest.mark.parametrize("page, rendered", [("docs", ".opblock"), ("redoc", ".api-content h2")])
def test_docs_render_from_the_package_alone(
    browser: Any, dash_queue: Queue, page: str, rendered: str
) -> None:
    url = dash_queue.served.url
    signed_in(browser, url)
    browser.get_log("browser")
    browser.get(url + page)
    until(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, rendered)) > 5, 20, page)
    origin = urlsplit(url)
    for name in resources(browser):
        parts = urlsplit(name)
        assert parts.scheme in ("data", "blob") or parts.netloc == origin.netloc, name
    assert errors(browser) == [], errors(browser)
    policy = browser.execute_script(
        "return fetch(location.href).then(r => r.headers.get('content-security-policy'))"
    )
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy


def test_swagger_writes_carry_the_csrf_token(browser: Any, dash_queue: Queue) -> None:
    url = dash_queue.served.url
    signed_in(browser, url)
    browser.get(url + "docs")
    until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".opblock"), 20, "swagger")
    sent, expected = browser.execute_async_script(
        """const done = arguments[arguments.length - 1];
        const intercept = window.ui.getConfigs().requestInterceptor;
        Promise.all([
          intercept({method: "POST", url: "api/v1/queue/pause", headers: {}}),
          fetch("api/v1/session").then(r => r.json()),
        ]).then(([request, session]) => done([request.headers["X-CSRF-Token"], session.csrf]));
        """
    )
    assert sent and sent == expected
