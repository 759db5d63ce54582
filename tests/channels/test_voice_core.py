"""The voice core's turn-taking, with a scripted dialogue in place of Rasa.

The dialogue here answers like the domain does (text, buttons, custom payloads), so these tests
pin down what the channel itself does with silence, keys, menus, doubtful transcripts and the
text-message offer. The text messages go to the Twilio stand-in over real HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from cryptography.fernet import Fernet

from assistant.sandbox import twilio_messages
from channels.voice import prompts
from channels.voice.caller import CallerCipher
from channels.voice.config import SmsSettings, VoiceConfig
from channels.voice.core import VoiceCore
from channels.voice.dialogue import DialogueUnavailable, Reply
from channels.voice.sms import TwilioLinkTexter
from channels.voice.state import MemoryCallStore
from channels.voice.turns import (
    Call,
    CallEnded,
    CallStarted,
    Digits,
    HangUp,
    Listen,
    Say,
    Silence,
    Speech,
    Step,
    Transfer,
)
from tests.sandbox.serving import closed_port_url, serving, sqlite_url

ACCOUNT, TOKEN = "AC" + "1" * 32, "twilio-test-token"
MOBILE, LANDLINE = "+31612345678", "+31302860000"
CALL = Call("voice-CA" + "a" * 32, "voice", caller=MOBILE)
HINTS = ("paspoort", "rijbewijs")
GREETING = {
    "text": "Welkom bij de gemeente Utrecht. Zeg waarvoor u belt. Toets 0 voor een medewerker."
}
DOCUMENTS = {
    "text": "Over welk document gaat het?",
    "buttons": [
        {"title": "Paspoort", "payload": '/inform{"document":"paspoort"}'},
        {"title": "ID-kaart", "payload": '/inform{"document":"id_kaart"}'},
        {"title": "Rijbewijs", "payload": '/inform{"document":"rijbewijs"}'},
    ],
}
PASSPORT = {
    "text": "U vraagt een paspoort aan in het stadskantoor. Lees eerst [wat u meeneemt]"
    "(https://www.utrecht.nl/paspoort)."
}


class ScriptedDialogue:
    """Stands in for Rasa: answers each text with the messages `answer(text)` returns."""

    def __init__(self, answer: Callable[[str], list[dict[str, Any]]]) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    async def ask(self, conversation_id: str, text: str, municipality: str) -> Reply:
        self.asked.append((text, municipality))
        return Reply(self.answer(text))

    async def unanswered(self, conversation_id: str) -> Reply:
        return Reply(self.answer("/unanswered"))


def script(text: str) -> list[dict[str, Any]]:
    if text == "/greet":
        return [GREETING]
    if text in ("welk document", "ik wil een document"):
        return [DOCUMENTS]
    if text.startswith("/inform") or text == "paspoort aanvragen":
        return [PASSPORT]
    if text == "paspoort kosten":
        return [{**PASSPORT, "buttons": DOCUMENTS["buttons"][:2]}]
    if text == "/human_handoff":
        return [
            {
                "text": "Ik verbind u door met een medewerker.",
                "custom": {"transfer": {"number": "+31302860000", "topic": None}},
            }
        ]
    if text == "tot ziens":
        return [{"text": "Fijn dat u belde. Tot ziens!", "custom": {"hangup": True}}]
    return [{"text": f"U zei {text}. Wat wilt u nog meer weten?"}]


@pytest.fixture
def dialogue() -> ScriptedDialogue:
    return ScriptedDialogue(script)


def voice_core(dialogue: Any, **extra: Any) -> VoiceCore:
    config = VoiceConfig(
        default_municipality="utrecht",
        lines={"+31382000000": "zwolle"},
        min_confidence=0.5,
    )
    return VoiceCore(
        store=extra.pop("store", MemoryCallStore()),
        dialogue=dialogue,
        config=config,
        hints=HINTS,
        **extra,
    )


def said(steps: list[Step]) -> str:
    return " ".join(step.text for step in steps if isinstance(step, Say))


def listen(steps: list[Step]) -> Listen:
    assert isinstance(steps[-1], Listen), steps
    return steps[-1]


async def test_a_call_starts_with_the_greeting_of_the_called_line(dialogue) -> None:
    core = voice_core(dialogue)
    steps = await core.handle(CALL, CallStarted(called="+31382000000", caller=MOBILE))
    assert dialogue.asked == [("/greet", "zwolle")]
    assert said(steps) == GREETING["text"]
    assert listen(steps).hints == HINTS and not listen(steps).single_key


async def test_an_unknown_line_gets_the_default_municipality(dialogue) -> None:
    await voice_core(dialogue).handle(CALL, CallStarted(called="+31201234567"))
    assert dialogue.asked == [("/greet", "utrecht")]


async def test_silence_repeats_the_question_and_a_second_silence_hangs_up(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    first = await core.handle(CALL, Silence())
    assert said(first) == f"{prompts.NOTHING_HEARD} {GREETING['text']}"
    assert isinstance(first[-1], Listen)
    second = await core.handle(CALL, Silence())
    assert said(second) == prompts.NOTHING_HEARD_TWICE
    assert isinstance(second[-1], HangUp)
    assert await core.handle(CALL, Speech("hallo?", 0.9)) == [], "the call is over"
    assert [text for text, _ in dialogue.asked] == ["/greet"], "silence never reaches Rasa"


async def test_speaking_between_silences_starts_the_count_again(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Silence())
    await core.handle(CALL, Speech("ik heb een vraag", 0.9))
    again = await core.handle(CALL, Silence())
    assert isinstance(again[-1], Listen), "one silence after speech is not the end"


async def test_a_menu_is_read_as_keys_and_a_key_sends_the_buttons_payload(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    menu = await core.handle(CALL, Speech("welk document", 0.9))
    assert said(menu) == (
        "Over welk document gaat het? Zeg Paspoort of toets 1. Zeg ID-kaart of toets 2. "
        "Zeg Rijbewijs of toets 3."
    )
    assert listen(menu).single_key
    await core.handle(CALL, Digits("2"))
    assert dialogue.asked[-1][0] == '/inform{"document":"id_kaart"}'


async def test_a_menu_choice_can_be_said_by_title_or_number(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Speech("welk document", 0.9))
    await core.handle(CALL, Speech("Rijbewijs.", 0.9))
    assert dialogue.asked[-1][0] == '/inform{"document":"rijbewijs"}'
    await core.handle(CALL, Speech("welk document", 0.9))
    await core.handle(CALL, Speech("optie twee", 0.9))
    assert dialogue.asked[-1][0] == '/inform{"document":"id_kaart"}'


async def test_a_key_that_is_not_on_the_menu_repeats_the_menu(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Speech("welk document", 0.9))
    asked = len(dialogue.asked)
    steps = await core.handle(CALL, Digits("7"))
    assert len(dialogue.asked) == asked, "Rasa is not asked"
    assert said(steps).startswith(prompts.UNKNOWN_KEY) and "toets 3" in said(steps)


async def test_key_0_always_asks_for_a_person(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Speech("welk document", 0.9))
    steps = await core.handle(CALL, Digits("0"))
    assert dialogue.asked[-1][0] == "/human_handoff"
    assert steps == [Say("Ik verbind u door met een medewerker."), Transfer("+31302860000")]


async def test_other_keys_are_passed_as_text(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Digits("0612345678#"))
    assert dialogue.asked[-1][0] == "0612345678"


async def test_a_doubtful_transcript_is_confirmed_before_it_reaches_the_assistant(
    dialogue,
) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    confirm = await core.handle(CALL, Speech("paspoort aanvragen", 0.3))
    assert said(confirm) == (
        "Ik verstond: 'paspoort aanvragen'. Klopt dat? Zeg ja of toets 1. Zeg nee of toets 2."
    )
    assert listen(confirm).hints == (), "no hints on a yes/no question"
    assert listen(confirm).single_key
    assert [text for text, _ in dialogue.asked] == ["/greet"]
    answered = await core.handle(CALL, Speech("ja", 0.4))
    assert dialogue.asked[-1][0] == "paspoort aanvragen"
    assert "stadskantoor" in said(answered)


async def test_a_doubtful_transcript_can_be_confirmed_with_key_1(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Speech("paspoort aanvragen", 0.2))
    await core.handle(CALL, Digits("1"))
    assert dialogue.asked[-1][0] == "paspoort aanvragen"


async def test_a_wrong_transcript_is_asked_again(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    await core.handle(CALL, Speech("pas port aan vragen", 0.2))
    again = await core.handle(CALL, Speech("nee", 0.9))
    assert said(again) == prompts.SAY_IT_AGAIN
    assert listen(again).hints == HINTS
    await core.handle(CALL, Speech("pas port", 0.1))
    assert said(await core.handle(CALL, Digits("2"))) == prompts.SAY_IT_AGAIN
    assert [text for text, _ in dialogue.asked] == ["/greet"], "nothing misheard went on"


async def test_when_the_assistant_fails_the_caller_hears_so_and_the_call_ends() -> None:
    class Broken:
        async def ask(self, conversation_id: str, text: str, municipality: str) -> Reply:
            raise DialogueUnavailable("down")

    steps = await voice_core(Broken()).handle(CALL, CallStarted())
    assert steps == [Say(prompts.UNAVAILABLE), HangUp()]


async def test_the_dialogue_hangs_up(dialogue) -> None:
    core = voice_core(dialogue)
    await core.handle(CALL, CallStarted())
    assert await core.handle(CALL, Speech("tot ziens", 0.9)) == [
        Say("Fijn dat u belde. Tot ziens!"),
        HangUp(),
    ]


async def test_the_end_of_a_call_removes_its_state(dialogue) -> None:
    store = MemoryCallStore()
    core = voice_core(dialogue, store=store)
    await core.handle(CALL, CallStarted())
    assert await store.load(CALL.conversation_id) is not None
    assert await core.handle(CALL, CallEnded()) == []
    assert await store.load(CALL.conversation_id) is None


# --- links by text message -------------------------------------------------------------------


@pytest.fixture
async def twilio(tmp_path: Path) -> AsyncIterator[str]:
    app = twilio_messages.create_app(sqlite_url(tmp_path), accounts={ACCOUNT: TOKEN})
    async with serving(app, "/twilio") as base:
        yield base


async def sent_to(twilio: str, number: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession(auth=aiohttp.BasicAuth(ACCOUNT, TOKEN)) as session,
        session.get(
            f"{twilio}2010-04-01/Accounts/{ACCOUNT}/Messages.json", params={"To": number}
        ) as response,
    ):
        response.raise_for_status()
        return (await response.json())["messages"]


def texter(api_url: str) -> TwilioLinkTexter:
    return TwilioLinkTexter(SmsSettings(api_url, ACCOUNT, TOKEN, "Gemeente"))


async def test_an_answer_with_a_link_offers_it_by_text_message_and_sends_it(
    dialogue, twilio: str
) -> None:
    sms = texter(twilio)
    core = voice_core(dialogue, texter=sms)
    try:
        await core.handle(CALL, CallStarted())
        answer = await core.handle(CALL, Speech("paspoort aanvragen", 0.9))
        assert "https" not in said(answer)
        assert said(answer).endswith(prompts.SMS_OFFER)
        assert listen(answer).hints == () and listen(answer).single_key
        done = await core.handle(CALL, Digits("1"))
    finally:
        await sms.close()
    assert said(done) == f"{prompts.SMS_SENT} {prompts.ANYTHING_ELSE}"
    (message,) = await sent_to(twilio, MOBILE)
    assert "https://www.utrecht.nl/paspoort" in message["body"]
    assert message["from"] == "Gemeente"
    assert [text for text, _ in dialogue.asked] == ["/greet", "paspoort aanvragen"]


async def test_anything_but_yes_drops_the_offer_and_goes_to_the_assistant(
    dialogue, twilio: str
) -> None:
    sms = texter(twilio)
    core = voice_core(dialogue, texter=sms)
    try:
        await core.handle(CALL, CallStarted())
        await core.handle(CALL, Speech("paspoort aanvragen", 0.9))
        steps = await core.handle(CALL, Speech("wat kost een rijbewijs", 0.9))
    finally:
        await sms.close()
    assert dialogue.asked[-1][0] == "wat kost een rijbewijs"
    assert "U zei wat kost een rijbewijs" in said(steps)
    assert await sent_to(twilio, MOBILE) == []


async def test_a_failed_text_message_says_where_to_find_the_information(dialogue) -> None:
    sms = texter(closed_port_url())
    core = voice_core(dialogue, texter=sms)
    try:
        await core.handle(CALL, CallStarted())
        await core.handle(CALL, Speech("paspoort aanvragen", 0.9))
        steps = await core.handle(CALL, Speech("ja graag", 0.9))
    finally:
        await sms.close()
    assert said(steps).startswith("Het versturen van de sms is niet gelukt.")
    assert "utrecht.nl" in said(steps)


async def test_a_landline_gets_no_offer_but_the_website(dialogue, twilio: str) -> None:
    sms = texter(twilio)
    core = voice_core(dialogue, texter=sms)
    landline = Call(CALL.conversation_id, "voice", caller=LANDLINE)
    try:
        await core.handle(landline, CallStarted())
        steps = await core.handle(landline, Speech("paspoort aanvragen", 0.9))
    finally:
        await sms.close()
    assert prompts.SMS_OFFER not in said(steps)
    assert said(steps).endswith("Meer informatie staat op utrecht.nl.")


async def test_a_number_sent_only_at_the_start_is_kept_encrypted_for_the_offer(
    dialogue, twilio: str
) -> None:
    store = MemoryCallStore()
    sms = texter(twilio)
    core = voice_core(
        dialogue, texter=sms, store=store, cipher=CallerCipher(Fernet.generate_key().decode())
    )
    call = Call("audiocodes-abc", "audiocodes")  # no number with later turns
    try:
        await core.handle(call, CallStarted(caller="0612345678"))
        state = await store.load(call.conversation_id)
        assert state is not None and state.caller and "612345678" not in state.to_json()
        await core.handle(call, Speech("paspoort aanvragen", 0.9))
        await core.handle(call, Digits("1"))
    finally:
        await sms.close()
    assert len(await sent_to(twilio, MOBILE)) == 1


async def test_an_answer_with_a_link_and_a_menu_offers_the_link_first(
    dialogue, twilio: str
) -> None:
    sms = texter(twilio)
    core = voice_core(dialogue, texter=sms)
    try:
        await core.handle(CALL, CallStarted())
        answer = await core.handle(CALL, Speech("paspoort kosten", 0.9))
        assert said(answer).endswith(prompts.SMS_OFFER) and "toets 2" not in said(answer)
        done = await core.handle(CALL, Digits("1"))
        assert said(done) == (
            f"{prompts.SMS_SENT} Zeg Paspoort of toets 1. Zeg ID-kaart of toets 2."
        )
        await core.handle(CALL, Digits("2"))
        assert dialogue.asked[-1][0] == '/inform{"document":"id_kaart"}'
        # Offered again; a menu key instead of an answer drops the offer and chooses.
        await core.handle(CALL, Speech("paspoort kosten", 0.9))
        await core.handle(CALL, Digits("2"))
        assert dialogue.asked[-1][0] == '/inform{"document":"id_kaart"}'
    finally:
        await sms.close()
    assert len(await sent_to(twilio, MOBILE)) == 1
