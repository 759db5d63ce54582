"""What a resident reads when a person joins or leaves their conversation (B1, formal "u").

The router and the desk record these as the assistant's messages, marked as notices, so the
conversation's history, the web chat after a reload and the employee's transcript all show the
same words; every channel renders a notice in its own way.
"""

from __future__ import annotations


def joined(employee: str) -> str:
    return f"{employee} van de gemeente neemt het gesprek over. U kunt nu uw vraag stellen."


def handed_back(employee: str) -> str:
    return f"{employee} heeft het gesprek teruggegeven. U praat weer met de digitale assistent."


def ended(employee: str) -> str:
    return (
        f"{employee} heeft het gesprek afgesloten. "
        "Heeft u nog een vraag? Dan helpt de digitale assistent u verder."
    )


STOPPED_WAITING = (
    "U wacht niet meer op een medewerker. U praat weer met de digitale assistent. "
    "Waarmee kan ik u helpen?"
)
