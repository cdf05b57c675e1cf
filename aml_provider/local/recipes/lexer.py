"""Splits one recipe expression string into tokens: names, 'quoted names', integers and punctuation."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from aml_provider.local.recipes.source import RecipeError, Snippet

#: Characters a bare (unquoted) name may hold after its first letter.
NAME_PUNCTUATION = "_-./"
_SINGLE = {"(": "lparen", ")": "rparen", ",": "comma"}


@dataclass(frozen=True)
class Token:
    kind: str  # "name" | "int" | "lparen" | "rparen" | "comma" | "eof"
    value: str
    start: int
    end: int
    quoted: bool = False


def is_bare_name(name: str) -> bool:
    """Whether `name` can be written without quotes."""
    return (
        bool(name)
        and name[0].isalpha()
        and "//" not in name
        and all(c.isalnum() or c in NAME_PUNCTUATION for c in name)
    )


def quote_name(name: str) -> str:
    """`name` as it must be spelled in an expression."""
    return name if is_bare_name(name) else quoted(name)


def quoted(name: str) -> str:
    """`name` in single quotes, with `\\` and `'` escaped by a backslash."""
    return "'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Lexer:
    """Tokens of one expression; `//` starts a comment that runs to the end of the string."""

    def __init__(self, snippet: Snippet) -> None:
        self.snippet = snippet
        self.text = snippet.text
        self.position = 0

    def tokens(self) -> Iterator[Token]:
        text = self.text
        while True:
            while self.position < len(text) and text[self.position].isspace():
                self.position += 1
            start = self.position
            if start >= len(text) or text.startswith("//", start):
                yield Token("eof", "", start, start)
                return
            char = text[start]
            if char in _SINGLE:
                self.position += 1
                yield Token(_SINGLE[char], char, start, start + 1)
            elif char == "'":
                yield self.quoted_name()
            elif char.isalpha():
                yield Token("name", self.word(), start, self.position)
            elif char.isdigit() or (char == "-" and text[start + 1 : start + 2].isdigit()):
                yield self.integer()
            else:
                raise self.fail(start, start + 1, f"unexpected character {char!r}")

    def word(self) -> str:
        """A run of name characters, stopping before a `//` comment."""
        start = self.position
        text = self.text
        while self.position < len(text) and (
            text[self.position].isalnum() or text[self.position] in NAME_PUNCTUATION
        ):
            if text.startswith("//", self.position):
                break
            self.position += 1
        return text[start : self.position]

    def integer(self) -> Token:
        start = self.position
        self.position += 1
        digits = self.word()
        spelled = self.text[start : self.position]
        if digits.isdigit() or not digits:
            return Token("int", spelled, start, self.position)
        if any(c.isalpha() for c in spelled):
            raise self.fail(
                start, self.position, f"name {spelled!r} does not start with a letter; quote it: '{spelled}'"
            )
        raise self.fail(start, self.position, f"{spelled!r} is not a whole number")

    def quoted_name(self) -> Token:
        start = self.position
        chars: list[str] = []
        position = start + 1
        text = self.text
        while position < len(text) and text[position] != "'":
            if text[position] == "\\" and position + 1 < len(text):
                position += 1
            chars.append(text[position])
            position += 1
        if position >= len(text):
            raise self.fail(start, len(text), "quoted name is missing its closing quote (')")
        self.position = position + 1
        if not chars:
            raise self.fail(start, self.position, "empty quoted name ''")
        return Token("name", "".join(chars), start, self.position, quoted=True)

    def fail(self, start: int, end: int, rule: str) -> RecipeError:
        return self.snippet.error(start, end, rule)
