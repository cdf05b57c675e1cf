"""Recipe text as JSON values that remember where they stand, and errors that point into that text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, NoReturn

from aml_provider.local.errors import InvalidInputException

_WHITESPACE = " \t\n\r"
_EXCERPT_WIDTH = 70
_DECODER = json.JSONDecoder()


class RecipeError(InvalidInputException):
    """A recipe broke a rule; `position` is the 0-based character offset in the recipe text."""

    def __init__(self, message: str, position: int, where: str = "") -> None:
        super().__init__(message)
        self.position = position
        self.where = where


def line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = text.count("\n", 0, position) + 1
    return line, position - text.rfind("\n", 0, position)


def caret_excerpt(text: str, start: int, end: int) -> str:
    """The line of `text` holding `start`, shortened around it, with carets under start..end."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    column = start - line_start
    width = max(1, min(end, line_start + len(line)) - start)
    left = max(0, column - _EXCERPT_WIDTH // 2)
    shown = line[left : left + _EXCERPT_WIDTH]
    prefix = "..." if left else ""
    suffix = "..." if left + _EXCERPT_WIDTH < len(line) else ""
    caret_at = len(prefix) + column - left
    carets = max(1, min(width, len(shown) - column + left))
    return f"    {prefix}{shown}{suffix}\n    {' ' * caret_at}{'^' * carets}"


@dataclass(frozen=True)
class JsonValue:
    """A JSON value with the offsets [start, end) of its spelling in the recipe text."""

    value: Any
    start: int
    end: int


@dataclass(frozen=True)
class JsonString(JsonValue):
    value: str

    def recipe_position(self, text: str, index: int) -> int:
        """Offset in the recipe text of character `index` of the decoded string (escapes counted)."""
        position = self.start + 1
        for _ in range(index):
            if text[position] != "\\":
                position += 1
            elif text[position + 1] != "u":
                position += 2
            elif _is_surrogate_pair(text, position):
                position += 12
            else:
                position += 6
        return position


@dataclass(frozen=True)
class JsonObject(JsonValue):
    value: list[tuple[JsonString, JsonValue]]


@dataclass(frozen=True)
class JsonArray(JsonValue):
    value: list[JsonValue]


def _is_surrogate_pair(text: str, position: int) -> bool:
    high = text[position + 2 : position + 6]
    return (
        len(high) == 4
        and high[0] in "dD"
        and high[1] in "89abAB"
        and text[position + 6 : position + 8] == "\\u"
    )


class JsonReader:
    """Reads a JSON document keeping key order and every value's position (`json` keeps neither)."""

    #: A recipe is an object of sections holding objects or arrays of strings: 2 levels; allow some slack.
    MAX_DEPTH = 16

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0
        self.depth = 0

    def document(self) -> JsonValue:
        value = self.value()
        self.skip_whitespace()
        if self.position < len(self.text):
            self.fail("unexpected text after the end of the recipe object")
        return value

    def value(self) -> JsonValue:
        self.skip_whitespace()
        char = self.text[self.position : self.position + 1]
        if char in ("{", "["):
            return self.nested(char)
        if char == '"':
            return self.string()
        return self.scalar()

    def nested(self, char: str) -> JsonValue:
        """An object or array, at most MAX_DEPTH levels deep."""
        if self.depth >= self.MAX_DEPTH:
            self.fail(f"the recipe nests objects and arrays deeper than {self.MAX_DEPTH} levels")
        self.depth += 1
        try:
            return self.object() if char == "{" else self.array()
        finally:
            self.depth -= 1

    def object(self) -> JsonObject:
        start = self.position
        self.position += 1
        pairs: list[tuple[JsonString, JsonValue]] = []
        if self.next_is("}"):
            return JsonObject(pairs, start, self.position)
        while True:
            self.skip_whitespace()
            if self.text[self.position : self.position + 1] != '"':
                self.fail("expected a double-quoted key")
            key = self.string()
            self.skip_whitespace()
            if not self.next_is(":"):
                self.fail("expected ':' after the key")
            pairs.append((key, self.value()))
            if self.next_is("}"):
                return JsonObject(pairs, start, self.position)
            if not self.next_is(","):
                self.fail("expected ',' or '}'")

    def array(self) -> JsonArray:
        start = self.position
        self.position += 1
        items: list[JsonValue] = []
        if self.next_is("]"):
            return JsonArray(items, start, self.position)
        while True:
            items.append(self.value())
            if self.next_is("]"):
                return JsonArray(items, start, self.position)
            if not self.next_is(","):
                self.fail("expected ',' or ']'")

    def string(self) -> JsonString:
        start = self.position
        try:
            value, self.position = _DECODER.raw_decode(self.text, start)
        except json.JSONDecodeError as err:
            self.position = err.pos
            self.fail(err.msg.lower())
        return JsonString(value, start, self.position)

    def scalar(self) -> JsonValue:
        start = self.position
        try:
            value, self.position = _DECODER.raw_decode(self.text, start)
        except json.JSONDecodeError:
            self.fail("expected a JSON value (object, array or string)")
        return JsonValue(value, start, self.position)

    def next_is(self, char: str) -> bool:
        self.skip_whitespace()
        if self.text[self.position : self.position + 1] == char:
            self.position += 1
            return True
        return False

    def skip_whitespace(self) -> None:
        while self.position < len(self.text) and self.text[self.position] in _WHITESPACE:
            self.position += 1

    def fail(self, rule: str) -> NoReturn:
        raise json_error(self.text, self.position, rule)


def json_error(text: str, position: int, rule: str) -> RecipeError:
    """The error for a recipe that is not the JSON object it must be."""
    line, column = line_and_column(text, position)
    message = (
        f"Invalid recipe at character {position + 1} (line {line}, column {column}): {rule}.\n"
        f"{caret_excerpt(text, position, position + 1)}"
    )
    return RecipeError(message, position)


@dataclass(frozen=True)
class Snippet:
    """One string of the recipe (an expression or a name), labelled with where it stands (`outputs[2]`)."""

    where: str
    string: JsonString
    recipe: str

    @property
    def text(self) -> str:
        return self.string.value

    def error(self, start: int, end: int, rule: str) -> RecipeError:
        """An error about characters start..end of this string, pointing at them in it and in the recipe."""
        position = self.string.recipe_position(self.recipe, min(start, len(self.text)))
        line, column = line_and_column(self.recipe, position)
        message = (
            f"Invalid recipe at {self.where}, character {start + 1} "
            f"(recipe character {position + 1}, line {line}, column {column}): {rule}.\n"
            f"{caret_excerpt(self.text, start, max(end, start + 1))}"
        )
        return RecipeError(message, position, self.where)

    def whole_error(self, rule: str) -> RecipeError:
        """An error about the whole string."""
        return self.error(0, len(self.text), rule)
