"""The web chat widget in headless Chromium on the demo page: keyboard only, checked by axe-core.

Uses Debian's chromium and chromedriver (`make system-deps`) and axe-core from node_modules
(`npm ci`). Every wait is an explicit WebDriverWait on a condition; an answer is complete when
the widget's root says `data-busy="false"` again (webchat/widget.js sets it to "true" when the
message is sent and back at the assistant's `typing active:false`).
"""

from __future__ import annotations

import asyncio
import threading
from urllib.parse import urlsplit

import aiohttp
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser import (
    assert_no_violations,
    css,
    focused,
    has_class,
    press,
    tab_to,
    wait,
)
from tests.channels.chat import Chat
from tests.channels.widget import (
    ask,
    bot_messages,
    busy,
    open_chat_with_keyboard,
    open_demo,
    rating_buttons,
    status_texts,
    user_texts,
    wait_for_answer,
)
from tests.residents import resident_headers


def test_keyboard_only_conversation_with_history_and_conversation_rating(
    browser, assistant_stack
) -> None:
    open_demo(browser, assistant_stack.demo_url)
    assert_no_violations(browser, "on the demo page with the chat closed")

    panel = open_chat_with_keyboard(browser)
    log = panel.find_element(By.CSS_SELECTOR, "[role='log']")
    assert log.get_attribute("aria-live") == "polite"
    assert panel.find_element(By.XPATH, "./ancestor::*[@lang][1]").get_attribute("lang") == "nl"
    assert_no_violations(browser, "with the chat open")

    greeting = ask(browser, "hallo")
    assert greeting.is_displayed()
    assert not rating_buttons(greeting), "a greeting is not an answer to rate"
    assert_no_violations(browser, "with messages in the chat")

    # A quick reply: reached with Shift+Tab from the input, chosen with Enter.
    tab_to(browser, has_class("ga-button--choice"), backwards=True)
    choice = focused(browser).text
    before = len(bot_messages(browser))
    press(browser, Keys.ENTER)
    wait(browser, lambda d: user_texts(d)[-1:] == [choice], "the quick reply's title is not shown")
    wait_for_answer(browser, before)
    wait(browser, lambda d: has_class("ga-input")(focused(d)))

    # Rate the conversation: the "Beoordeel dit gesprek" control, radio buttons 1-10.
    tab_to(browser, lambda e: e.text == "Beoordeel dit gesprek")
    press(browser, Keys.ENTER)
    wait(browser, lambda d: focused(d).get_attribute("type") == "radio")
    press(browser, Keys.SPACE, *([Keys.ARROW_RIGHT] * 7))  # 1, then on to 8
    assert focused(browser).get_attribute("value") == "8"
    tab_to(browser, lambda e: e.text == "Cijfer versturen")
    press(browser, Keys.ENTER)
    wait(browser, lambda d: "U gaf dit gesprek een 8." in panel.text)
    assert_no_violations(browser, "with the conversation rated")

    # Escape closes the chat and puts the focus back on the launcher.
    press(browser, Keys.ESCAPE)
    wait(browser, lambda d: not panel.is_displayed())
    assert has_class("ga-launcher")(focused(browser))

    # After a reload the conversation and the ratings are still there.
    shown_before = user_texts(browser)
    browser.refresh()
    wait(browser, lambda d: css(d, ".ga-launcher"))
    open_chat_with_keyboard(browser)
    wait(browser, lambda d: user_texts(d) == shown_before, "the history was not shown")
    assert shown_before == ["hallo", choice]
    assert css(browser, "input[type='radio'][value='8']")[0].is_selected()


def test_new_conversation_clears_the_chat(browser, assistant_stack) -> None:
    open_demo(browser, assistant_stack.demo_url)
    open_chat_with_keyboard(browser)
    ask(browser, "hallo")
    tab_to(browser, lambda e: e.text == "Nieuw gesprek", backwards=True)
    press(browser, Keys.ENTER)
    wait(browser, lambda d: not css(d, ".ga-message"), "the old messages are still shown")
    assert has_class("ga-input")(focused(browser))
    browser.refresh()
    wait(browser, lambda d: css(d, ".ga-launcher"))
    open_chat_with_keyboard(browser)
    assert not css(browser, ".ga-message")


@pytest.mark.parametrize(
    ("width", "height"),
    [(320, 640), (640, 360)],  # a small phone; a 1280x720 screen at 200% zoom
    ids=["320px", "200pct-zoom"],
)
def test_chat_reflows_on_small_screens(browser, assistant_stack, width, height) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    open_demo(browser, assistant_stack.demo_url)
    panel = open_chat_with_keyboard(browser)
    ask(browser, "hallo")
    size = browser.execute_script(
        "const p = document.querySelector('.ga-panel');"
        "return {vw: window.innerWidth, left: p.getBoundingClientRect().left,"
        " right: p.getBoundingClientRect().right, scroll: p.scrollWidth, client: p.clientWidth};"
    )
    assert size["left"] >= 0 and size["right"] <= size["vw"], size  # fits the screen
    assert size["scroll"] <= size["client"], size  # no sideways scrolling inside the chat
    assert panel.find_element(By.CSS_SELECTOR, ".ga-input").is_displayed()
    assert_no_violations(browser, f"at {width}x{height} CSS pixels")


def test_links_are_real_links_and_html_is_shown_as_text(browser, assistant_stack) -> None:
    open_demo(browser, assistant_stack.demo_url)
    open_chat_with_keyboard(browser)
    answer = ask(browser, "hoe maak ik bezwaar tegen een besluit")
    links = answer.find_elements(By.CSS_SELECTOR, ".ga-bubble a")
    assert links, f"no link in the answer: {answer.text!r}"
    assert all(link.get_attribute("href").startswith("https://") for link in links)
    assert "](" not in answer.text  # no Markdown left over

    attack = '<img src="x" onerror="document.title=\'hacked\'">'
    ask(browser, attack)
    assert attack in user_texts(browser)
    assert not css(browser, ".ga-panel img")
    assert browser.title != "hacked"


def test_nothing_is_loaded_from_other_servers(browser, assistant_stack) -> None:
    open_demo(browser, assistant_stack.demo_url)
    open_chat_with_keyboard(browser)
    ask(browser, "hallo")
    allowed = {
        urlsplit(assistant_stack.demo_url).netloc,
        urlsplit(assistant_stack.rasa_url).netloc,
    }
    used = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert used, "no resources recorded"
    assert {urlsplit(url).netloc for url in used} <= allowed, used
    assert not [
        entry
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"]
    ]


def test_zwolle_theme_and_reduced_motion(browser, assistant_stack) -> None:
    browser.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-reduced-motion", "value": "reduce"}]},
    )
    open_demo(browser, assistant_stack.demo_url + "zwolle/")
    root = css(browser, ".gemeente-assistent")[0]
    assert "zwolle-theme" in root.get_attribute("class")
    panel = open_chat_with_keyboard(browser)
    header = panel.find_element(By.CSS_SELECTOR, ".ga-header")
    assert header.value_of_css_property("background-color") == "rgba(0, 76, 135, 1)"
    assert panel.value_of_css_property("animation-name") == "none"
    assert "Zwolle" in ask(browser, "hallo").text
    assert_no_violations(browser, "on the Zwolle page with the chat open")


class TcpRelay:
    """A plain TCP relay to Rasa that the test can cut and restore: a real network outage
    between the browser and the assistant, without touching the shared stack."""

    def __init__(self, target: str) -> None:
        parts = urlsplit(target)
        self._target = (parts.hostname, parts.port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._dropping: str | None = None  # "up" (browser to server) or "down"
        self.port = 0

    def __enter__(self) -> TcpRelay:
        self._thread.start()
        self.resume()
        return self

    def __exit__(self, *_: object) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, coroutine):  # type: ignore[no-untyped-def]
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def resume(self) -> None:
        """Listen again, and forward everything both ways."""
        self._dropping = None
        self._run(self._listen())

    def drop(self, direction: str) -> None:
        """From now on lose what travels "up" (the browser's frames never reach the server) or
        "down" (the server's never reach the browser), the connections staying open: what a
        network or server failing mid-message does."""
        self._dropping = direction

    def cut(self) -> None:
        """Drop every open connection and refuse new ones."""
        self._run(self._close())

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update({writer, up_writer})

        async def pipe(
            source: asyncio.StreamReader, sink: asyncio.StreamWriter, direction: str
        ) -> None:
            try:
                while data := await source.read(65536):
                    if self._dropping != direction:
                        sink.write(data)
                        await sink.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer, "up"), pipe(up_reader, writer, "down"))
        self._writers.difference_update({writer, up_writer})


def test_reconnects_after_the_connection_drops(browser, assistant_stack) -> None:
    with TcpRelay(assistant_stack.rasa_url) as relay:
        open_demo(browser, f"{assistant_stack.demo_url}?rasa={relay.url}")
        open_chat_with_keyboard(browser)
        ask(browser, "hallo")
        shown = len(css(browser, ".ga-message"))

        relay.cut()
        status = wait(browser, lambda d: [s for s in css(d, ".ga-connection") if s.is_displayed()])
        assert "Geen verbinding" in status[0].text
        assert status[0].find_element(By.CSS_SELECTOR, "[role='status']")
        assert "Nu opnieuw verbinden" in status[0].text

        relay.resume()
        wait(
            browser,
            lambda d: not status[0].is_displayed() or "hersteld" in status[0].text,
            "the widget did not reconnect",
        )
        assert len(css(browser, ".ga-message")) == shown  # the history was not shown twice
        ask(browser, "dank je wel")  # the focus stayed in the input all along


# Records the frames the widget sends (WebSocket.send), so a test can tell what it sent again.
RECORD_SENT_FRAMES = """
window.sentFrames = [];
var send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  window.sentFrames.push(JSON.parse(data));
  return send.call(this, data);
};
"""


def sent_frames(driver) -> list[dict]:
    return driver.execute_script("return window.sentFrames;")


def messages_sent(driver, text: str) -> list[dict]:
    return [f for f in sent_frames(driver) if f["type"] == "message" and f.get("text") == text]


def history_on_the_server(stack, session_id: str) -> list[dict]:
    """The conversation's history as a second connection reads it."""

    async def read() -> list[dict]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            ws = await http.ws_connect(
                stack.rasa_url.replace("http://", "ws://") + "/webhooks/webchat/ws",
                headers={"Origin": stack.demo_url.rstrip("/"), **resident_headers()},
            )
            history = await Chat(ws).hello(session_id)
            await ws.close()
            return history["messages"]

    return asyncio.run(read())


def test_a_message_lost_with_the_connection_is_sent_again_and_answered_once(
    browser, assistant_stack
) -> None:
    with TcpRelay(assistant_stack.rasa_url) as relay:
        open_demo(browser, f"{assistant_stack.demo_url}?rasa={relay.url}")
        browser.execute_script(RECORD_SENT_FRAMES)
        open_chat_with_keyboard(browser)
        ask(browser, "hallo")
        before = len(bot_messages(browser))

        relay.drop("up")  # the question leaves the browser and never arrives
        press(browser, "wat kost een paspoort", Keys.ENTER)
        wait(browser, lambda d: messages_sent(d, "wat kost een paspoort"))
        relay.cut()
        relay.resume()

        wait_for_answer(browser, before)
        (first, again) = messages_sent(browser, "wat kost een paspoort")
        assert first["id"] == again["id"], "sent again with the same id"
        assert user_texts(browser) == ["hallo", "wat kost een paspoort"]  # its bubble once
        shown = [message.text for message in bot_messages(browser)]

        browser.refresh()  # the stored conversation: the question once, answered once
        wait(browser, lambda d: css(d, ".ga-launcher"))
        open_chat_with_keyboard(browser)
        wait(browser, lambda d: [m.text for m in bot_messages(d)] == shown, "not as shown live")
        assert user_texts(browser) == ["hallo", "wat kost een paspoort"]


def test_a_message_answered_while_the_connection_was_down_is_not_sent_again(
    browser, assistant_stack
) -> None:
    with TcpRelay(assistant_stack.rasa_url) as relay:
        open_demo(browser, f"{assistant_stack.demo_url}?rasa={relay.url}")
        browser.execute_script(RECORD_SENT_FRAMES)
        open_chat_with_keyboard(browser)
        ask(browser, "hallo")
        before = len(bot_messages(browser))
        (hello,) = [f for f in sent_frames(browser) if f["type"] == "hello"]

        relay.drop("down")  # the question arrives; its answer and ack never come back
        press(browser, "wat kost een paspoort", Keys.ENTER)
        wait(
            browser,
            lambda d: any(
                item.get("text") == "wat kost een paspoort"
                for item in history_on_the_server(assistant_stack, hello["session_id"])
            ),
            "the question was not answered on the server",
        )
        relay.cut()
        relay.resume()

        # The history after reconnecting shows the answer; the widget does not ask again.
        wait(browser, lambda d: len(bot_messages(d)) > before and not busy(d))
        frames = sent_frames(browser)
        assert [f["type"] for f in frames].count("hello") == 2, "it reconnected"
        (question,) = messages_sent(browser, "wat kost een paspoort")
        history = history_on_the_server(assistant_stack, hello["session_id"])
        assert [item.get("id") for item in history if item["role"] == "user"][-1] == question["id"]
        assert user_texts(browser) == ["hallo", "wat kost een paspoort"]


def test_informative_answers_get_a_compact_rating_greetings_none(browser, assistant_stack) -> None:
    """Needs `rateable` in the server's bot frames (channels/webchat.py)."""
    open_demo(browser, assistant_stack.demo_url)
    open_chat_with_keyboard(browser)
    greeting = ask(browser, "hallo")
    assert not rating_buttons(greeting), "a greeting is not an answer to rate"

    answer = ask(browser, "Wat kost een paspoort?")
    assert "paspoort" in answer.text.lower(), answer.text
    buttons = rating_buttons(answer)
    assert [b.accessible_name for b in buttons] == [
        "Dit antwoord was nuttig",
        "Dit antwoord was niet nuttig",
    ], f"no rating under the answer {answer.text!r} (does the server send rateable?)"
    for button in buttons:
        assert button.get_attribute("aria-pressed") == "false"
        assert not button.text.strip()  # an icon, named for screen readers
        icons = button.find_elements(By.CSS_SELECTOR, "svg")
        assert [i.get_attribute("aria-hidden") for i in icons] == ["true"]
    assert len(css(browser, ".ga-feedback")) == 1  # only the answer, not the greeting
    assert_no_violations(browser, "with an answer to rate")

    # Shift+Tab from the input to the thumbs up, Space.
    rated_id = answer.get_attribute("data-message-id")
    tab_to(browser, lambda e: e.accessible_name == "Dit antwoord was nuttig", backwards=True)
    assert (
        focused(browser)
        .find_element(By.XPATH, "./ancestor::div[contains(@class,'ga-message--bot')]")
        .get_attribute("data-message-id")
        == rated_id
    )
    press(browser, Keys.SPACE)
    wait(browser, lambda d: focused(d).get_attribute("aria-pressed") == "true")
    assert buttons[1].get_attribute("aria-pressed") == "false"
    wait(
        browser,
        lambda d: "Bedankt voor uw beoordeling." in status_texts(d),
        "the thanks was not announced",
    )
    assert "Bedankt voor uw beoordeling." in answer.text
    assert_no_violations(browser, "with the answer rated")

    # After a reload the rating is still there.
    browser.refresh()
    wait(browser, lambda d: css(d, ".ga-launcher"))
    open_chat_with_keyboard(browser)
    pressed = wait(
        browser, lambda d: css(d, f"[data-message-id='{rated_id}'] [aria-pressed='true']")
    )
    assert [b.accessible_name for b in pressed] == ["Dit antwoord was nuttig"]
    assert len(css(browser, ".ga-feedback")) == 1
