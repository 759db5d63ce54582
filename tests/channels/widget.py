"""The chat widget on the demo page, as a resident uses it in a browser (keyboard only)."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.browser import css, focused, has_class, press, tab_to, wait


def open_demo(driver: WebDriver, url: str) -> None:
    driver.get(url)
    wait(driver, lambda d: css(d, ".ga-launcher"), "the chat launcher did not appear")


def open_chat_with_keyboard(driver: WebDriver) -> WebElement:
    tab_to(driver, has_class("ga-launcher"))
    launcher = focused(driver)
    assert launcher.accessible_name == "Stel uw vraag"
    assert launcher.get_attribute("aria-expanded") == "false"
    press(driver, Keys.ENTER)
    panel = wait(driver, lambda d: [p for p in css(d, ".ga-panel") if p.is_displayed()])[0]
    assert panel.get_attribute("role") == "dialog"
    assert panel.accessible_name  # labelled by the title
    wait(driver, lambda d: has_class("ga-input")(focused(d)), "focus did not move into the input")
    return panel


def bot_messages(driver: WebDriver) -> list[WebElement]:
    return css(driver, ".ga-message--bot")


def ask(driver: WebDriver, text: str) -> WebElement:
    """Type into the focused input and press Enter; wait for the whole answer. Returns its last
    bot message."""
    before = len(bot_messages(driver))
    assert has_class("ga-input")(focused(driver))
    press(driver, text, Keys.ENTER)
    return wait_for_answer(driver, before)


def busy(driver: WebDriver) -> bool:
    """Whether the widget waits for the assistant to finish answering."""
    return css(driver, ".gemeente-assistent")[0].get_attribute("data-busy") == "true"


def wait_for_answer(driver: WebDriver, before: int) -> WebElement:
    """Wait until the assistant answered the message just sent (more bot messages than `before`
    and the widget no longer busy); returns the answer's last bot message."""
    wait(
        driver,
        lambda d: len(bot_messages(d)) > before and not busy(d),
        "no complete answer appeared",
    )
    return bot_messages(driver)[-1]


def rating_buttons(message: WebElement) -> list[WebElement]:
    return message.find_elements(By.CSS_SELECTOR, ".ga-feedback button")


def status_texts(driver: WebDriver) -> list[str]:
    """What the panel's status regions (polite live regions) currently say."""
    return [
        (e.get_attribute("textContent") or "").strip()
        for e in css(driver, ".ga-panel [role='status']")
    ]


def user_texts(driver: WebDriver) -> list[str]:
    return [
        (e.get_attribute("textContent") or "").strip()
        for e in css(driver, ".ga-message--user .ga-text")
    ]
