"""Driving the dashboard in the browser tests: waiting, keys, rows, signing in."""

from __future__ import annotations

from typing import Any

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def until(driver: Any, condition: Any, timeout: float = 10.0, what: str = "condition") -> Any:
    def probe(d: Any) -> Any:
        try:
            return condition(d)
        except StaleElementReferenceException:
            return False

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(probe, f"waiting for {what}")


def rows(driver: Any, job_id: str) -> list[Any]:
    return driver.find_elements(By.CSS_SELECTOR, f'#tbody tr[data-id="{job_id}"]')


def press(driver: Any, keys: str) -> None:
    ActionChains(driver).send_keys(keys).perform()


def sign_in(driver: Any, url: str, key: str) -> None:
    driver.get(url)
    until(driver, lambda d: d.find_element(By.ID, "login-key").is_displayed(), what="login form")
    field = driver.find_element(By.ID, "login-key")
    field.clear()
    field.send_keys(key)
    driver.find_element(By.ID, "login-submit").click()
    until(driver, lambda d: d.find_element(By.ID, "app").is_displayed(), what="the dashboard")
    until(
        driver,
        lambda d: d.find_element(By.ID, "conn").get_attribute("data-state") == "live",
        what="the live connection",
    )


def visible_action_buttons(driver: Any) -> list[Any]:
    return [b for b in driver.find_elements(By.CSS_SELECTOR, "button.op") if b.is_displayed()]
