"""A phone call through the TwiML connector, as Twilio makes it: signed form posts, TwiML back.

Each webhook is signed with Twilio's own `RequestValidator` (not our check) over the URL it
posts to, and each answer is parsed as XML, so tests look at elements and attributes, never at
strings of XML.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

from tests.conftest import CHANNEL_SECRETS

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def a_mobile_number() -> str:
    """A Dutch mobile number of this test's own (so the text messages sent to it are its own)."""
    return "+316" + str(secrets.randbelow(50_000_000) + 10_000_000)


async def texts_sent_to(
    http: aiohttp.ClientSession, sandbox_url: str, number: str
) -> list[dict[str, Any]]:
    """The text messages the Twilio stand-in of the running stack holds for `number`."""
    account = CHANNEL_SECRETS["TWILIO_ACCOUNT_SID"]
    async with http.get(
        f"{sandbox_url}/twilio/2010-04-01/Accounts/{account}/Messages.json",
        params={"To": number},
        auth=aiohttp.BasicAuth(account, CHANNEL_SECRETS["TWILIO_AUTH_TOKEN"]),
    ) as response:
        assert response.status == 200, await response.text()
        return (await response.json())["messages"]


def new_call_sid() -> str:
    return "CA" + secrets.token_hex(16)


def signed(url: str, fields: dict[str, str], token: str) -> dict[str, str]:
    """Headers of a form post to `url` signed as Twilio signs it."""
    return {**FORM, "X-Twilio-Signature": RequestValidator(token).compute_signature(url, fields)}


@dataclass(frozen=True)
class Reply:
    """One TwiML answer."""

    root: ET.Element

    @property
    def says(self) -> list[ET.Element]:
        return list(self.root.iter("Say"))

    @property
    def said(self) -> str:
        return " ".join((say.text or "") for say in self.says)

    @property
    def gather(self) -> ET.Element | None:
        return self.root.find("Gather")

    @property
    def hangs_up(self) -> bool:
        return self.root.find("Hangup") is not None

    @property
    def dial(self) -> ET.Element | None:
        return self.root.find("Dial")


class VoiceCall:
    """One caller's call: `await call.start()`, `await call.say("...")`, `await call.press("1")`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        webhook_url: str,
        token: str,
        *,
        caller: str = "+31612345678",
        called: str = "+31302860000",
    ) -> None:
        self.http = http
        self.url = webhook_url
        self.token = token
        self.caller = caller
        self.called = called
        self.sid = new_call_sid()
        self.replies: list[Reply] = []

    def fields(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": "AC" + "0" * 32,
            "From": self.caller,
            "To": self.called,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    async def post(self, fields: dict[str, str]) -> Reply:
        async with self.http.post(
            self.url, data=urlencode(fields), headers=signed(self.url, fields, self.token)
        ) as response:
            body = await response.text()
            assert response.status == 200, (response.status, body)
            assert response.content_type == "text/xml", response.content_type
        reply = Reply(ET.fromstring(body))
        self.replies.append(reply)
        return reply

    async def start(self) -> Reply:
        return await self.post(self.fields(CallStatus="ringing"))

    async def say(self, transcript: str, confidence: float = 0.92) -> Reply:
        return await self.post(self.fields(SpeechResult=transcript, Confidence=f"{confidence:.2f}"))

    async def press(self, digits: str) -> Reply:
        return await self.post(self.fields(Digits=digits))

    async def silence(self) -> Reply:
        # With actionOnEmptyResult Twilio posts the call's fields and nothing heard.
        return await self.post(self.fields())

    async def end(self) -> Reply:
        return await self.post(self.fields(CallStatus="completed"))
