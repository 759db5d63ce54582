"""What the WhatsApp channel itself says to a resident (B1 Dutch, formal "u").

Everything else a resident reads comes from the assistant (domain/) or from an employee.
"""

from __future__ import annotations

from channels.text import MAX_TEXT_LENGTH

# Media, voice notes, contact cards, stickers: the assistant cannot read them.
UNSUPPORTED = (
    "Dit soort bericht kan ik niet lezen. Ik begrijp tekst, een keuze uit de knoppen en een "
    "gedeelde locatie. Typ uw vraag in een bericht."
)
TOO_FAST = "U stuurt veel berichten kort na elkaar. Wacht een minuut en probeer het opnieuw."
NOT_READY = "De assistent is nog niet klaar. Probeer het over een paar minuten opnieuw."
UNAVAILABLE = "Het lukt nu niet om uw vraag te beantwoorden. Probeer het later opnieuw."
# While the resident waits for or talks with an employee.
WITH_PERSON = (
    "Uw gesprek is doorgezet naar een medewerker. Typ uw bericht; knoppen en locaties werken nu "
    "niet."
)
UNKNOWN_CHOICE = "Deze keuze is niet (meer) mogelijk. Typ uw vraag."
NOT_WAITING = "U staat niet (meer) in de wachtrij. Typ uw vraag of uw bericht."

# channels.text.InvalidText reasons.
INVALID_TEXT = {
    "surrogate": "Uw bericht bevat tekens die ik niet kan lezen. Typ uw vraag opnieuw.",
    "empty": "Uw bericht is leeg. Typ eerst uw vraag.",
    "too_long": f"Uw bericht is te lang. Gebruik maximaal {MAX_TEXT_LENGTH} tekens.",
}
