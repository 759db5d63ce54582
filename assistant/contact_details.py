"""A resident's name, e-mail address and phone number, read from what they typed or said.

Transaction forms (a complaint, a report, an appointment) ask for contact details in plain
words, so the answer arrives as free text: "mijn mail is Jan.Jansen@Example.nl", "06-12 34 56
78", "+31 (0)30 123 4567", or a speech transcript ("nul zes een twee ..."). These readers pick
the value out of such text, or return None so the form can ask again. They never raise on what
a resident types, and they give one canonical form per value (the e-mail domain in lower case,
a Dutch phone number in national form "0612345678", as the appointment contract compares them),
so the same person is recognised however they typed it.

The checking is done by the libraries made for it: email-validator for the address syntax (no
DNS lookup: an answer must not wait on the network) and libphonenumber (`phonenumbers`, the
Netherlands as default region) for numbers. Only a resident's own number counts: mobile, fixed
line or VoIP, not a service number (0800, 0900) or the municipalities' "14 030". What is ours
is the reading of dictation: "apenstaartje" and "punt", and digits said as words.
"""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email

MAX_EMAIL = 254  # RFC 5321, and ZGW's `emailadres` maxLength
MAX_NAME = 100

# Where an address might be in a sentence; email-validator decides whether it is one.
_EMAIL_CANDIDATE = re.compile(r"[^\s<>(),;:\"'\[\]]+@[^\s<>(),;:\"'\[\]]+")
# Dictated addresses: "jan punt jansen apenstaartje example punt nl". Not "at": in a Dutch
# sentence it is as likely a verb ("hij at") as the sign.
_SPOKEN_AT = re.compile(r"\s+apenstaartje\s+", re.IGNORECASE)
_SPOKEN_DOT = re.compile(r"\s+punt\s+", re.IGNORECASE)

_PERSONAL_NUMBERS = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    phonenumbers.PhoneNumberType.VOIP,
}
_DIGIT_WORDS = {
    "nul": "0",
    "een": "1",
    "één": "1",
    "twee": "2",
    "drie": "3",
    "vier": "4",
    "vijf": "5",
    "zes": "6",
    "zeven": "7",
    "acht": "8",
    "negen": "9",
}
_SPOKEN_DIGITS = re.compile(
    r"\b(?:(?:" + "|".join(_DIGIT_WORDS) + r"|\d)\b[\s,-]*){8,}", re.IGNORECASE
)

# Words before a name ("ik ben Anna", "mijn naam is ..."), removed before reading it.
_NAME_INTRO = re.compile(
    r"^(?:(?:ja|nou|eh+m?|oké?|ok)\W+)*"
    r"(?:(?:mijn|de) naam is|ik ben|ik heet|dit is|u spreekt met|je spreekt met|met|naam:?)\s+",
    re.IGNORECASE,
)
_NAME_TOKEN = re.compile(r"(?:'[st]|[^\W\d_][\w'’.-]*)")
# Name particles (tussenvoegsels): lower case inside a name, and the family name's prefix.
PARTICLES = frozenset(
    {"van", "de", "der", "den", "het", "'t", "'s", "ter", "ten", "te", "in", "op", "von", "la"}
    | {"le", "du", "da", "di", "del", "dos", "das", "el", "al", "bin", "ibn", "aan", "uit"}
)
# Words that make a message an answer or a question rather than a name.
_NOT_NAMES = frozenset(
    {"ja", "nee", "ok", "oke", "oké", "stop", "hallo", "hoi", "goed", "prima", "geen", "niks"}
    | {"niet", "weet", "ik", "wil", "wilt", "een", "is", "wat", "hoe", "waar", "waarom", "mijn"}
    | {"u", "je", "jij", "graag", "kan", "kunt", "moet", "heb", "heeft", "ben", "bent", "dank"}
    | {"bedankt", "afspraak", "klacht", "melding", "gemeente", "maar", "en", "of", "voor"}
    | {"met", "over", "laat", "doe", "zeg", "dat", "dit", "die", "er", "hier", "daar", "anoniem"}
    | {"liever", "sorry", "help", "hulp", "vraag", "medewerker", "mens", "bellen", "bel"}
)


def email_in(text: str) -> str | None:
    """The e-mail address in `text`, its domain in lower case (the part before the @ may be
    case-sensitive); None when there is none. Dictated addresses are read too ("naam
    apenstaartje example punt nl")."""
    if not isinstance(text, str):
        return None
    candidates = [text]
    if "@" not in text:
        candidates.append(_SPOKEN_DOT.sub(".", _SPOKEN_AT.sub("@", f" {text} ")))
    for candidate in candidates:
        for found in _EMAIL_CANDIDATE.findall(candidate):
            try:
                checked = validate_email(found.strip("."), check_deliverability=False)
            except EmailNotValidError:
                continue
            if len(checked.normalized) <= MAX_EMAIL:
                return checked.normalized
    return None


def phone_in(text: str) -> str | None:
    """The phone number in `text`: a Dutch one in national form ("0612345678"), another
    country's with its code ("+32470123456"); None when there is none.

    Reads "06-12345678", "06 1234 5678", "+31 6 12345678", "0031 30 123 45 67",
    "+31 (0)30 1234567", "(030) 123 45 67" and spoken digits ("nul zes een twee ...").
    """
    if not isinstance(text, str):
        return None
    for candidate in (text, _spoken_digits(text)):
        for match in phonenumbers.PhoneNumberMatcher(candidate, "NL"):
            number = match.number
            if phonenumbers.number_type(number) not in _PERSONAL_NUMBERS:
                continue
            if number.country_code == 31:
                return "0" + str(number.national_number)
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def contact_in(text: str) -> str | None:
    """The e-mail address and/or phone number in `text`, as a form keeps and shows them
    ("naam@example.nl en 0612345678"); `email_in` and `phone_in` read them back apart."""
    found = [value for value in (email_in(text), phone_in(text)) if value]
    return " en ".join(found) if found else None


def _spoken_digits(text: str) -> str:
    """`text` with runs of eight or more spoken digits ("nul zes een ...") written as digits."""

    def digits(match: re.Match[str]) -> str:
        words = re.findall(r"\w+", match.group(0).lower())
        return "".join(_DIGIT_WORDS.get(word, word) for word in words) + " "

    return _SPOKEN_DIGITS.sub(digits, text)


def name_in(text: str) -> str | None:
    """The person's name in `text` ("ik ben anna de vries" -> "Anna de Vries"); None when the
    text is not a name (a yes or no, a question, digits, an e-mail address).

    A name typed all in lower case gets capitals, particles ("de", "van der") excepted; one
    typed with capitals is kept as typed.
    """
    if not isinstance(text, str):
        return None
    cleaned = _NAME_INTRO.sub("", text.strip()).strip(' \t.,!?;:"')
    if not cleaned or len(cleaned) > MAX_NAME or re.search(r"[\d@/\\]", cleaned):
        return None
    tokens = cleaned.replace(",", " ").split()
    if not 1 <= len(tokens) <= 6 or not all(_NAME_TOKEN.fullmatch(token) for token in tokens):
        return None
    lowered = [token.lower() for token in tokens]
    if any(token in _NOT_NAMES for token in lowered):
        return None
    if lowered[-1] in PARTICLES or sum(ch.isalpha() for ch in cleaned) < 2:
        return None
    if cleaned == cleaned.lower():
        tokens = [
            token if index and token in PARTICLES else _capitalised(token)
            for index, token in enumerate(lowered)
        ]
    return " ".join(tokens)


def _capitalised(token: str) -> str:
    return "-".join(part[:1].upper() + part[1:] for part in token.split("-"))


def split_name(name: str) -> tuple[str, str, str]:
    """Given names, prefix and family name as Dutch registers keep them apart:
    "Jan van der Berg" -> ("Jan", "van der", "Berg"), "de Vries" -> ("", "de", "Vries"),
    "Anna Jansen" -> ("Anna", "", "Jansen"), "Jansen" -> ("", "", "Jansen").

    The first particle starts the prefix; a prefix longer than ZGW's 10 characters stays part
    of the family name.
    """
    tokens = name.split()
    if not tokens:
        return "", "", ""
    start = next(
        (i for i, token in enumerate(tokens[:-1]) if token.lower() in PARTICLES),
        None,
    )
    if start is None:
        return " ".join(tokens[:-1]), "", tokens[-1]
    end = start
    while end < len(tokens) - 1 and tokens[end].lower() in PARTICLES:
        end += 1
    prefix = " ".join(token.lower() for token in tokens[start:end])
    given, family = " ".join(tokens[:start]), " ".join(tokens[end:])
    if len(prefix) > 10:
        return given, "", " ".join(tokens[start:])
    return given, prefix, family
