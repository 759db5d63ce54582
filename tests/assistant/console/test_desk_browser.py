"""The KCC desk in headless Chromium: login, the empty and the filled queue, a conversation;
keyboard only, and axe-core finds no WCAG problem in any state.

The console runs with a real desk (tests/assistant/console/desk_helpers.py) on an event loop in
a thread of its own, so Selenium's blocking calls never stop it; the test plays the residents
through that loop. Driver and axe-core as in tests/channels/test_webchat_browser.py. Every wait
is a WebDriverWait on a condition.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import WSCloseCode, web
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from assistant.console.accounts import AccountStore
from assistant.console.app import create_app
from assistant.console.config import ConsoleConfig
from assistant.console.desk_routes import DeskOptions, desk_routes
from assistant.console.live import SOCKETS, LiveOptions
from assistant.console.schema import ensure_schema
from assistant.handoff.desk import Employee
from assistant.handoff.store import Closed, Status
from assistant.ratelimit import MemoryRateLimiter
from assistant.transcript import Line, lines
from tests.assistant.console.desk_helpers import DeskParts, desk_parts, make_accounts
from tests.assistant.console.helpers import FAST_HASHER, PASSWORD, FakeClock
from tests.browser import (
    assert_no_violations,
    css,
    focused,
    press,
    tab_to,
    wait,
)

T = TypeVar("T")


class ServedDesk:
    """The console and its desk, served from an event loop in a thread."""

    def __init__(self, folder: Path) -> None:
        self.database_url = f"sqlite:///{folder / 'console.sqlite'}"
        self.clock = FakeClock()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.stack = AsyncExitStack()
        self.url = ""

    def __enter__(self) -> ServedDesk:
        self.thread.start()
        self.run(self._start())
        return self

    def __exit__(self, *_: object) -> None:
        self.run(self.stack.aclose())
        self.run(self._cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=30)

    def employee(self, username: str) -> Employee:
        account = self.accounts.by_username(username)
        assert account is not None
        return Employee(account.id, account.display_name, frozenset(account.municipalities))

    async def transcript(self, conversation: str) -> list[Line]:
        tracker = await self.parts.agent.tracker_store.retrieve(conversation)
        return lines(tracker.events)

    async def _cancel_the_rest(self) -> None:
        """Requests a browser still had open when the server stopped."""
        rest = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    async def drop_live_feeds(self) -> None:
        """What a restarting server or a broken network does to the pages' feeds."""
        for socket in list(self.app[SOCKETS]):
            await socket.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"test")

    async def _start(self) -> None:
        self.accounts = accounts = AccountStore(
            self.database_url, clock=self.clock, hasher=FAST_HASHER
        )
        ensure_schema(accounts.engine)
        self.stack.callback(accounts.engine.dispose)
        make_accounts(accounts)
        self.parts: DeskParts = await self.stack.enter_async_context(
            desk_parts(self.database_url, None)
        )
        options = DeskOptions(live=LiveOptions(block_ms=250, session_check_seconds=0))
        app = create_app(
            ConsoleConfig(database_url=self.database_url),
            extra_routes=desk_routes(self.parts.desk, limiter=MemoryRateLimiter(), options=options),
            clock=self.clock,
            password_hasher=FAST_HASHER,
        )
        self.app = app
        runner = web.AppRunner(app)
        await runner.setup()
        self.stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedDesk]:
    with ServedDesk(tmp_path) as desk:
        yield desk


def name_of(element: WebElement) -> str:
    """An element's accessible name, with Chromium's space before a comma of a block taken out."""
    return (element.accessible_name or "").replace(" ,", ",")


def text_of(element: WebElement) -> str:
    return (element.get_attribute("textContent") or "").strip()


def texts(driver: WebDriver, selector: str) -> list[str]:
    return [text_of(element) for element in css(driver, selector)]


def log_in_with_keyboard(driver: WebDriver, served: ServedDesk) -> None:
    driver.get(served.url + "/")
    wait(driver, lambda d: "/login" in d.current_url)
    assert_no_violations(driver, "on the login page")
    wait(driver, lambda d: focused(d).get_attribute("id") == "username")
    press(driver, "sanne", Keys.TAB, PASSWORD, Keys.ENTER)
    wait(driver, lambda d: css(d, "#desk[data-live='open']"), "the live feed did not open")


def shift_enter(driver: WebDriver) -> None:
    ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(Keys.SHIFT).perform()


def test_an_employee_takes_over_and_answers_with_the_keyboard_only(
    browser: WebDriver,
    served: ServedDesk,
) -> None:
    log_in_with_keyboard(browser, served)
    assert css(browser, "#wachtrij-leeg")[0].is_displayed()
    assert browser.title == "Wachtrij – KCC-console"
    assert_no_violations(browser, "with an empty queue")

    # A resident starts waiting: highlighted, counted in the title, announced.
    handoff_id, conversation = served.run(served.parts.waiting())
    wait(browser, lambda d: css(d, f"#wachtrij li[data-handoff-id='{handoff_id}']"))
    card = css(browser, f"#wachtrij li[data-handoff-id='{handoff_id}']")[0]
    assert "kcc-card--new" in card.get_attribute("class")
    assert browser.title == "(1) Wachtrij – KCC-console"
    wait(browser, lambda d: text_of(css(d, "#aankondiging")[0]) == "Nieuw gesprek in de wachtrij")
    assert "Paspoort kwijt" in card.text and "Webchat · Utrecht" in card.text
    assert "wacht minder dan 1 min" in card.text
    assert "ik ben mijn paspoort kwijt" in card.text
    assert_no_violations(browser, "with a resident waiting")

    # "Overnemen" with Tab and Enter; the focus goes to the message box.
    tab_to(browser, lambda e: e.text == "Overnemen")
    press(browser, Keys.ENTER)
    wait(browser, lambda d: "kcc-composer__input" in (focused(d).get_attribute("class") or ""))
    panel = css(browser, f"article[data-handoff-id='{handoff_id}']")[0]
    wait(browser, lambda d: len(panel.find_elements(By.CSS_SELECTOR, ".kcc-line")) >= 3)
    assert [
        line.get_attribute("class").split("--")[-1]
        for line in panel.find_elements(By.CSS_SELECTOR, ".kcc-line")
    ] == ["resident", "assistant", "notice"], "the history in order, the live notice once"
    assert texts(browser, ".kcc-line__name") == ["Inwoner", "Digitale assistent"]
    assert texts(browser, ".kcc-line--notice")[-1].startswith("Sanne van de gemeente neemt")
    assert browser.title == "Wachtrij – KCC-console"
    assert [tab.accessible_name for tab in css(browser, "#mijn-gesprekken button")] == [
        "Paspoort kwijt – Utrecht"
    ]

    # The resident types and writes; script in a message is shown as text.
    served.run(served.parts.resident_types(conversation))
    wait(browser, lambda d: "Inwoner typt…" in panel.text)
    attack = '<img src="x" onerror="document.title=\'hacked\'">'
    served.run(served.parts.resident_says(conversation, attack))
    wait(browser, lambda d: attack in texts(d, ".kcc-line--resident .kcc-line__text"))
    assert "Inwoner typt…" not in panel.text
    assert not panel.find_elements(By.CSS_SELECTOR, "img")
    assert browser.title != "hacked"

    # Enter sends, Shift+Enter starts a new line.
    press(browser, "Regel een")
    shift_enter(browser)
    press(browser, "regel twee", Keys.ENTER)
    wait(
        browser,
        lambda d: "Regel een\nregel twee" in texts(d, ".kcc-line--employee .kcc-line__text"),
    )
    assert focused(browser).get_attribute("value") == ""
    assert texts(browser, ".kcc-line--employee .kcc-line__name") == ["Sanne"]
    assert_no_violations(browser, "in a conversation with messages")

    # A standard answer goes into the box, to be edited and sent.
    tab_to(browser, lambda e: e.text == "Standaardantwoorden")
    press(browser, Keys.ENTER)
    tab_to(browser, lambda e: e.text == "Begroeting")
    press(browser, Keys.ENTER)
    box = focused(browser)
    assert box.get_attribute("value").startswith("Goedendag, u spreekt met een medewerker")
    press(browser, Keys.ENTER)
    wait(browser, lambda d: len(css(d, ".kcc-line--employee")) == 2)
    said = served.run(served.transcript(conversation))
    assert [line.text for line in said if line.role == "employee"][-1].startswith("Goedendag")

    # "Terug naar de assistent", confirmed in a dialog.
    tab_to(browser, lambda e: e.text == "Terug naar de assistent")
    press(browser, Keys.ENTER)
    dialog = css(browser, "#bevestigen")[0]
    wait(browser, lambda d: dialog.is_displayed())
    assert focused(browser).text == "Annuleren"
    assert_no_violations(browser, "with the confirmation open")
    press(browser, Keys.ESCAPE)
    wait(browser, lambda d: not dialog.is_displayed())
    assert focused(browser).text == "Terug naar de assistent", "cancelled: back where it was"
    press(browser, Keys.ENTER)
    wait(browser, lambda d: dialog.is_displayed())
    tab_to(browser, lambda e: e.text == "Ja, teruggeven", backwards=True)
    press(browser, Keys.ENTER)
    wait(browser, lambda d: not css(d, f"article[data-handoff-id='{handoff_id}']"))
    assert focused(browser).get_attribute("id") == "wachtend-titel"
    handoff = served.parts.store.get(handoff_id)
    assert (handoff.status, handoff.closed_how) == (Status.CLOSED, Closed.TO_ASSISTANT)
    assert_no_violations(browser, "after handing the conversation back")


def test_colleagues_callbacks_and_a_taken_conversation_are_shown(
    browser: WebDriver,
    served: ServedDesk,
) -> None:
    callback = served.parts.callback()
    handoff_id, _ = served.run(served.parts.waiting(topic="Afval"))
    log_in_with_keyboard(browser, served)
    wait(browser, lambda d: css(d, f"#terugbelverzoeken li[data-callback-id='{callback.id}']"))
    item = css(browser, "#terugbelverzoeken li")[0]
    assert "Fatima de Vries – Vraag over de afvalpas" in item.text
    assert item.find_element(By.CSS_SELECTOR, "a").get_attribute("href") == "tel:0612345678"
    assert "Terugbellen vanaf" in item.text

    served.run(served.parts.desk.take(handoff_id, served.employee("joost")))
    holder = "Joost heeft dit gesprek"
    wait(browser, lambda d: texts(d, "#collega-gesprekken .kcc-card__holder") == [holder])
    assert not css(browser, "#wachtrij li")
    assert_no_violations(browser, "with a colleague's conversation and a callback request")

    tab_to(browser, lambda e: e.text == "Afgehandeld")
    press(browser, Keys.ENTER)
    wait(browser, lambda d: not css(d, "#terugbelverzoeken li"))
    assert focused(browser).get_attribute("id") == "terugbel-titel"
    assert served.parts.callbacks.get(callback.id).done_at is not None


def test_the_page_goes_to_the_login_when_the_session_ended(
    browser: WebDriver,
    served: ServedDesk,
) -> None:
    log_in_with_keyboard(browser, served)
    served.clock.advance(minutes=31)
    wait(browser, lambda d: "/login?verlopen=1" in d.current_url)
    wait(browser, lambda d: "niet actief" in d.find_element(By.CSS_SELECTOR, "main").text)


def test_the_page_reconnects_and_shows_what_came_meanwhile_once(
    browser: WebDriver,
    served: ServedDesk,
) -> None:
    handoff_id, conversation = served.run(served.parts.waiting())
    served.run(served.parts.desk.take(handoff_id, served.employee("sanne")))
    log_in_with_keyboard(browser, served)
    panel = f"article[data-handoff-id='{handoff_id}']"
    wait(browser, lambda d: css(d, f"{panel} .kcc-line--notice"), "the conversation is shown")

    served.run(served.drop_live_feeds())
    wait(browser, lambda d: css(d, "#desk[data-live='weg']"), "the page saw the feed go")
    assert "Geen verbinding met de wachtrij" in text_of(css(browser, "#verbinding")[0])
    served.run(served.parts.resident_says(conversation, "Bent u er nog?"))
    wait(browser, lambda d: css(d, "#desk[data-live='open']"), "the page did not reconnect")
    wait(browser, lambda d: "Bent u er nog?" in texts(d, f"{panel} .kcc-line__text"))
    served.run(served.parts.resident_says(conversation, "Hallo?"))
    wait(browser, lambda d: "Hallo?" in texts(d, f"{panel} .kcc-line__text"))
    said = texts(browser, f"{panel} .kcc-line--resident .kcc-line__text")
    assert said == ["ik ben mijn paspoort kwijt", "Bent u er nog?", "Hallo?"]


def test_an_employee_holds_two_conversations_and_sees_where_a_resident_wrote(
    browser: WebDriver,
    served: ServedDesk,
) -> None:
    first, first_conversation = served.run(served.parts.waiting(topic="Paspoort kwijt"))
    second, _ = served.run(served.parts.waiting(topic="Afval", summary="container vol"))
    log_in_with_keyboard(browser, served)
    tab_to(browser, lambda e: e.text == "Geluid bij nieuw gesprek")
    press(browser, Keys.ENTER)
    assert focused(browser).get_attribute("aria-pressed") == "true"

    for handoff_id in (first, second):
        tab_to(browser, lambda e: e.text == "Overnemen")
        press(browser, Keys.ENTER)
        wait(browser, lambda d, h=handoff_id: css(d, f"article[data-handoff-id='{h}']"))
        wait(browser, lambda d: focused(d).tag_name == "textarea")
    tabs = "#mijn-gesprekken button"
    assert texts(browser, f"{tabs} .kcc-tab__title") == [
        "Paspoort kwijt – Utrecht",
        "Afval – Utrecht",
    ]
    current = css(browser, f"{tabs}[aria-current='true']")
    assert [tab.accessible_name for tab in current] == ["Afval – Utrecht"]
    assert not css(browser, f"article[data-handoff-id='{first}']")[0].is_displayed()

    # The resident of the conversation in the background writes: counted on its tab.
    served.run(served.parts.resident_says(first_conversation, "Hallo, bent u daar?"))
    wait(
        browser,
        lambda d: name_of(css(d, tabs)[0]) == "Paspoort kwijt – Utrecht, 1 nieuw bericht",
    )
    tab_to(browser, lambda e: "Paspoort kwijt – Utrecht" in e.text, backwards=True)
    press(browser, Keys.ENTER)
    wait(browser, lambda d: focused(d).tag_name == "textarea")
    article = css(browser, f"article[data-handoff-id='{first}']")[0]
    assert article.is_displayed() and "Hallo, bent u daar?" in article.text
    assert name_of(css(browser, tabs)[0]) == "Paspoort kwijt – Utrecht", "read now"
    assert_no_violations(browser, "with two conversations")
