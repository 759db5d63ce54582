"""A small reader of nginx configuration files, for the proxy tests (tests/test_proxy.py).

It follows what the tests depend on: blocks and directives, and nginx's inheritance (a
directive set in a location replaces, not extends, the same directive of the server and http
blocks). Whether each directive takes the right arguments is `nginx -t`'s to say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass
class Directive:
    """One nginx directive: `name args...;` or `name args... { block }`."""

    name: str
    args: list[str]
    block: list[Directive] | None = field(default=None, repr=False)

    def all(self, name: str) -> list[Directive]:
        return [d for d in self.block or [] if d.name == name]

    def one(self, name: str) -> Directive:
        found = self.all(name)
        assert len(found) == 1, f"expected one {name!r} in {self.name} {self.args}, got {found}"
        return found[0]


# A word, a quoted string, a brace or a semicolon; `#` starts a comment where a word could.
_TOKEN = re.compile(
    r"""\s+|\#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#][^\s{};]*)"""
)


def parse(text: str) -> Directive:
    """The configuration as a tree. Unbalanced braces fail here; whether each directive has
    the right arguments is `nginx -t`'s to say (below, where nginx is installed)."""
    tokens: list[tuple[str, str]] = []  # (kind, value): kind is "word" or the punctuation
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match, f"nginx.conf: cannot read {text[position : position + 40]!r}"
        position = match.end()
        double, single, punctuation, word = match.groups()
        if punctuation:
            tokens.append((punctuation, punctuation))
        elif word is not None or double is not None or single is not None:
            tokens.append(("word", next(v for v in (word, double, single) if v is not None)))

    def block(at: int, closing: bool) -> tuple[list[Directive], int]:
        directives: list[Directive] = []
        words: list[str] = []
        while at < len(tokens):
            kind, value = tokens[at]
            at += 1
            if kind == "word":
                words.append(value)
            elif kind == ";":
                assert words, "nginx.conf: an empty directive"
                directives.append(Directive(words[0], words[1:]))
                words = []
            elif kind == "{":
                assert words, "nginx.conf: a block without a name"
                inner, at = block(at, closing=True)
                directives.append(Directive(words[0], words[1:], inner))
                words = []
            else:  # "}"
                assert closing and not words, "nginx.conf: unbalanced } or a missing ;"
                return directives, at
        assert not closing and not words, "nginx.conf: a block is not closed or a ; is missing"
        return directives, at

    directives, _ = block(0, closing=False)
    return Directive("main", [], directives)


def effective(chain: list[Directive], name: str) -> list[Directive]:
    """What nginx applies for `name` in the innermost level of `chain` (http, server,
    location): a level inherits the directive only when it sets none of its own, and for
    array directives such as proxy_set_header that is all or nothing."""
    for level in reversed(chain):
        found = level.all(name)
        if found:
            return found
    return []


def seconds(value: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|s|m|h|d)?", value):
        total += int(number) * units[unit or "s"]
    return total


def size_in_bytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)([kKmMgG]?)", value).groups()
    return int(number) * {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit.lower()]
