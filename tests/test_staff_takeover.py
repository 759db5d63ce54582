"""The whole loop in two browsers against the running assistant: a resident asks for a person in
the web chat, a KCC employee logs in to the console, takes the conversation with its history,
they write to each other, the employee hands back, and the assistant answers again.

Two headless Chromiums, each with a profile of its own; every wait is on a condition.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from assistant.stack import Stack
from tests.browser import assert_no_violations, chromium, css, wait
from tests.channels.widget import ask, bot_messages, open_chat_with_keyboard, open_demo

pytestmark = pytest.mark.timeout(600)


def texts(driver: WebDriver, selector: str) -> list[str]:
    return [(e.get_attribute("textContent") or "").strip() for e in css(driver, selector)]


def test_a_resident_and_an_employee_in_two_browsers(
    browser: WebDriver, assistant_stack: Stack, employee: tuple[str, str]
) -> None:
    resident = browser
    open_demo(resident, assistant_stack.demo_url)
    open_chat_with_keyboard(resident)
    ask(resident, "Mijn paspoort is gestolen, wat moet ik doen?")
    offer = ask(resident, "ik wil een medewerker spreken")
    assert "De medewerker leest dan wat u hier heeft geschreven" in offer.text
    offer.find_element(By.XPATH, ".//button[normalize-space()='Ja, graag']").click()
    wait(
        resident,
        lambda d: "U wacht op een medewerker" in " ".join(texts(d, ".ga-handoff-text")),
        "the resident does not see that they wait",
    )

    with chromium() as console:
        username, password = employee
        console.get(assistant_stack.console_url)
        wait(console, lambda d: "/login" in d.current_url)
        css(console, "#username")[0].send_keys(username)
        css(console, "#password")[0].send_keys(password, Keys.ENTER)
        wait(console, lambda d: css(d, "#desk[data-live='open']"), "the console did not go live")
        # Other tests may have left residents waiting: this resident's card shows their question.
        card = wait(
            console,
            lambda d: [
                c
                for c in css(d, "#wachtrij li[data-handoff-id]")
                if "Mijn paspoort is gestolen" in c.text
            ],
            "the resident is not in the queue with their question",
        )[0]  # type: ignore[index]
        assert_no_violations(console, "with a resident waiting")
        card.find_element(By.CSS_SELECTOR, "button.kcc-take").click()

        # The employee sees the history; the resident sees who joined.
        wait(
            console,
            lambda d: (
                "Mijn paspoort is gestolen, wat moet ik doen?"
                in texts(d, "article.kcc-conversation .kcc-line--resident .kcc-line__text")
            ),
            "the history is not shown to the employee",
        )
        wait(
            resident,
            lambda d: (
                "U praat met Sanne van de gemeente." in texts(d, ".ga-handoff-text")
                and any("Sanne van de gemeente neemt" in t for t in texts(d, ".ga-system-note"))
            ),
            "the resident is not told who joined",
        )

        # Both ways.
        input_box = resident.find_element(By.CSS_SELECTOR, ".ga-input")
        input_box.send_keys("Moet ik eerst naar de politie?", Keys.ENTER)
        wait(
            console,
            lambda d: (
                "Moet ik eerst naar de politie?"
                in texts(d, "article.kcc-conversation .kcc-line--resident .kcc-line__text")
            ),
            "the resident's message did not reach the employee",
        )
        composer = css(console, "textarea.kcc-composer__input")[0]
        composer.send_keys("Ja, doe eerst aangifte bij de politie.", Keys.ENTER)
        wait(
            resident,
            lambda d: any(
                "Ja, doe eerst aangifte bij de politie." in m.text
                and "Sanne van de gemeente" in m.text
                for m in css(d, ".ga-message--employee")
            ),
            "the employee's message did not reach the resident",
        )
        assert_no_violations(console, "in a conversation")

        # Back to the assistant.
        actions = css(console, ".kcc-conversation__actions")[0]
        back = ".//button[normalize-space()='Terug naar de assistent']"
        actions.find_element(By.XPATH, back).click()
        confirm = wait(console, lambda d: [e for e in css(d, "#bevestigen-ja") if e.is_displayed()])
        confirm[0].click()  # type: ignore[index]
        wait(
            resident,
            lambda d: any(
                "U praat weer met de digitale assistent" in t for t in texts(d, ".ga-system-note")
            ),
            "the resident is not told the assistant is back",
        )
        wait(resident, lambda d: texts(d, ".ga-handoff-text") == [""], "still shown as handed over")
        # The resident is asked to rate the help, and the score is kept for that handoff.
        form = wait(
            resident,
            lambda d: [
                e
                for e in css(d, ".ga-rating")
                if e.is_displayed()
                and "Hoe tevreden bent u over de hulp van de medewerker?" in e.text
            ],
            "the resident is not asked to rate the help",
        )[0]  # type: ignore[index]
        form.find_element(By.CSS_SELECTOR, "input[value='9']").click()
        form.find_element(By.CSS_SELECTOR, "button[type='submit']").click()
        wait(
            resident,
            lambda d: any("9" in t for t in texts(d, ".ga-rating-status")),
            "the score was not confirmed",
        )

    before = len(bot_messages(resident))
    resident.find_element(By.CSS_SELECTOR, ".ga-input").click()
    answer = ask(resident, "wat kost een rijbewijs")
    assert len(bot_messages(resident)) > before
    assert "€" in answer.text, answer.text
