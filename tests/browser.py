"""Headless Chromium for the browser tests: the driver, waits on conditions, keyboard steps and
the axe-core audit (WCAG 2.1 AA). Debian's chromium and chromedriver (`make system-deps`),
axe-core from node_modules (`npm ci`)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

REPO_ROOT = Path(__file__).resolve().parents[1]
AXE_PATH = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WAIT_SECONDS = 60  # upper bound; a first answer on a cold 2-core machine can be slow
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
MAX_TABS = 40


@contextlib.contextmanager
def chromium() -> Iterator[WebDriver]:
    """A fresh headless Chromium with a profile of its own (a second one is a second person)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).exists():
            pytest.fail(f"{path} is missing: run `make system-deps`.", pytrace=False)
    with tempfile.TemporaryDirectory(prefix="webchat-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1280,900",
            "--lang=nl-NL",
        ):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_script_timeout(WAIT_SECONDS)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def wait(driver: WebDriver, condition: Callable[[WebDriver], object], message: str = "") -> object:
    return WebDriverWait(driver, WAIT_SECONDS).until(condition, message)


def css(driver: WebDriver, selector: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, selector)


def press(driver: WebDriver, *keys: str) -> None:
    ActionChains(driver).send_keys(*keys).perform()


def focused(driver: WebDriver) -> WebElement:
    return driver.switch_to.active_element


def tab_to(driver: WebDriver, matches: Callable[[WebElement], bool], backwards=False) -> None:
    """Press Tab (or Shift+Tab) until the focused element matches: what a keyboard user does."""
    for _ in range(MAX_TABS):
        if backwards:
            ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.TAB).key_up(
                Keys.SHIFT
            ).perform()
        else:
            press(driver, Keys.TAB)
        if matches(focused(driver)):
            return
    raise AssertionError("the element could not be reached with the Tab key")


def has_class(name: str) -> Callable[[WebElement], bool]:
    return lambda element: name in (element.get_attribute("class") or "").split()


def axe_violations(driver: WebDriver) -> list[str]:
    if not AXE_PATH.is_file():
        pytest.fail(f"{AXE_PATH} is missing: run `npm ci`.", pytrace=False)
    if not driver.execute_script("return !!window.axe"):
        driver.execute_script(AXE_PATH.read_text(encoding="utf-8"))
    # Colours are only final once the opening animation has ended.
    wait(
        driver,
        lambda d: d.execute_script(
            "return document.getAnimations().every("
            "a => a.playState !== 'running' || a.effect.getTiming().iterations === Infinity)"
        ),
    )
    result = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        const options = {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']};
        axe.run(document, options)
          .then(r => done(r.violations.map(v => v.id + ' (' + v.help + '): ' +
                v.nodes.map(n => n.target.join(' ') + ' ' + n.failureSummary).join(' | '))))
          .catch(e => done(['axe failed: ' + e]));
        """,
        WCAG_TAGS,
    )
    return list(result)


def assert_no_violations(driver: WebDriver, when: str) -> None:
    violations = axe_violations(driver)
    assert violations == [], f"axe-core found WCAG problems {when}:\n" + "\n".join(violations)
