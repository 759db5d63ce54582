"""What the dialogue said in one turn, read for a phone call (pure, no I/O).

Rasa sends a turn as a list of messages (text, buttons, custom). The voice channel acts on two
custom payloads the dialogue sends in its `channel: voice` responses:

- ``{"transfer": {"number": "+31302860000", "topic": "Paspoort"}}``: say the text, then connect
  the caller to that number (the topic, which may be null, is told to the employee);
- ``{"hangup": true}``: say the text, then end the call.

The buttons of the last message that has any are the menu the caller can answer by voice or key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from channels.buttons import buttons_of
from channels.voice.config import E164
from channels.voice.speech import MAX_MENU_CHOICES, menu, shorten, speakable
from channels.voice.turns import Transfer

logger = logging.getLogger(__name__)

TRANSFER_KEY = "transfer"
HANGUP_KEY = "hangup"
MAX_TOPIC_LENGTH = 80
# A topic is said to the employee and sent as a SIP header: words and a little punctuation.
TOPIC = re.compile(rf"[\w .,'()/-]{{1,{MAX_TOPIC_LENGTH}}}")


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Answer:
    """One turn of the dialogue, ready to be spoken.

    `text` is everything to say but the menu; `question` the last message alone (repeated
    when the caller stays silent); `menu` the spoken choices of `buttons`. `links` were taken
    out of the text; `shortened` tells that something was left out.
    """

    text: str = ""
    question: str = ""
    buttons: tuple[Button, ...] = ()
    links: tuple[str, ...] = ()
    shortened: bool = False
    transfer: Transfer | None = None
    hangup: bool = False
    invalid_transfer: bool = False

    @property
    def menu(self) -> str:
        return menu([button.title for button in self.buttons])


def read_answer(messages: Sequence[Mapping[str, Any]]) -> Answer:
    """The dialogue's messages of one turn as an `Answer`."""
    texts: list[str] = []
    links: list[str] = []
    buttons: tuple[Button, ...] = ()
    shortened = False
    transfer: Transfer | None = None
    hangup = invalid_transfer = False
    for message in messages:
        raw = message.get("text")
        if isinstance(raw, str) and raw.strip():
            spoken = speakable(raw)
            short, cut = shorten(spoken.text)
            shortened = shortened or cut
            if short:
                texts.append(short)
            links.extend(link for link in spoken.links if link not in links)
        offered = tuple(Button(*b) for b in buttons_of(message)[:MAX_MENU_CHOICES])
        if offered:
            buttons = offered
        custom = message.get("custom")
        if isinstance(custom, Mapping):
            if TRANSFER_KEY in custom:
                transfer = _transfer(custom[TRANSFER_KEY])
                invalid_transfer = transfer is None
            if custom.get(HANGUP_KEY) is True:
                hangup = True
    return Answer(
        text=" ".join(texts),
        question=texts[-1] if texts else "",
        buttons=buttons,
        links=tuple(links),
        shortened=shortened,
        transfer=transfer,
        hangup=hangup and transfer is None,
        invalid_transfer=invalid_transfer,
    )


def _transfer(value: object) -> Transfer | None:
    """The transfer the dialogue asked for, or None when it is not one we can carry out."""
    if not isinstance(value, Mapping):
        logger.error("voice: a transfer without a number and topic was ignored")
        return None
    number, topic = value.get("number"), value.get("topic")
    if not isinstance(number, str) or not E164.fullmatch(number):
        logger.error("voice: a transfer to a number that is not E.164 was ignored")
        return None
    if not isinstance(topic, str) or not topic.strip():
        return Transfer(number, None)
    topic = " ".join(topic.split())[:MAX_TOPIC_LENGTH]
    return Transfer(number, topic if TOPIC.fullmatch(topic) else None)
