"""Every sentence the voice channel itself says to a caller (B1 Dutch, formal "u").

What to answer is the dialogue's job; these are only the channel's own turn-taking lines:
silence, confirming a doubtful transcript, the text-message offer, a key that is not on the
menu, and what to say when something fails.
"""

from __future__ import annotations

# Sent to the dialogue when a call starts: the domain's voice variant of the greeting.
GREET_PAYLOAD = "/greet"
# Key 0 always asks for a person.
HANDOFF_PAYLOAD = "/human_handoff"

NOTHING_HEARD = "Ik hoorde niets."
NOTHING_HEARD_TWICE = (
    "Ik hoor u nog steeds niet. Bel gerust opnieuw als u een vraag heeft. Tot ziens."
)
CONFIRM_TRANSCRIPT = (
    "Ik verstond: '{transcript}'. Klopt dat? Zeg ja of toets 1. Zeg nee of toets 2."
)
SAY_IT_AGAIN = "Sorry. Wilt u het nog een keer zeggen, in een paar woorden?"
SMS_OFFER = "Wilt u de link per sms ontvangen? Zeg ja of toets 1."
SMS_SENT = "Ik heb u een sms gestuurd met de link."
SMS_SENT_MANY = "Ik heb u een sms gestuurd met de links."
SMS_FAILED = "Het versturen van de sms is niet gelukt. U vindt de informatie ook op {website}."
SMS_DECLINED = "Goed, dan stuur ik geen sms."
WEBSITE_FALLBACK = "de website van de gemeente {name}"
MORE_ON_WEBSITE = "Meer informatie staat op {website}."
ANYTHING_ELSE = "Heeft u nog een vraag? Zeg het maar."
UNKNOWN_KEY = "Die toets hoort niet bij de keuzes."
WITH_EMPLOYEE = "Uw bericht is doorgegeven aan de medewerker die uw vraag behandelt."
TRANSFER_FAILED = "Het doorverbinden lukt nu niet. Probeer het later opnieuw."
NO_ANSWER = "Sorry, daar heb ik geen antwoord op. Kunt u uw vraag anders zeggen?"
UNAVAILABLE = "Het lukt nu niet om uw vraag te beantwoorden. Probeer het later opnieuw. Tot ziens."

# The text of the link message (sent, not spoken).
SMS_BODY = "Gemeente {name}: de informatie waar u om vroeg.\n{links}"
