"""Recursive-descent parser of recipe expressions: names, processor calls and group definitions."""

from __future__ import annotations

from dataclasses import dataclass

from aml_provider.local.recipes.lexer import Lexer, Token, quote_name, quoted
from aml_provider.local.recipes.source import RecipeError, Snippet


@dataclass(frozen=True)
class Processor:
    """A recipe processor's signature: what its second argument is and, for a number, its range."""

    name: str
    second: str | None = None  # None (one argument) | "int" | "expression"
    low: int = 0
    high: int = 0

    def usage(self) -> str:
        if self.second is None:
            return f"{self.name}(expression)"
        if self.second == "int":
            return f"{self.name}(expression, n) with n from {self.low} to {self.high}"
        return f"{self.name}(expression, expression)"


PROCESSORS = {
    p.name: p
    for p in (
        Processor("lowercase"),
        Processor("no_punct"),
        Processor("normalize"),
        Processor("ngram", "int", 1, 10),
        Processor("osb", "int", 2, 10),
        Processor("quantile_bin", "int", 2, 1000),
        Processor("cartesian", "expression"),
    )
}
GROUP_FUNCTIONS = ("group", "group_remove")
#: Processor calls nested deeper than this are refused (real recipes nest two or three).
MAX_NESTING = 32


@dataclass(frozen=True)
class Name:
    """A reference to a variable, group or assignment; start/end are offsets in its expression string."""

    name: str
    start: int
    end: int


@dataclass(frozen=True)
class Number:
    value: int
    start: int
    end: int


@dataclass(frozen=True)
class Call:
    """`function(args...)`; start/end span the function name, name_end ends it."""

    function: str
    args: tuple[Node, ...]
    start: int
    end: int
    name_end: int


Node = Name | Number | Call


def spell(node: Node) -> str:
    """The canonical spelling of an expression: quoted names where needed, no spaces."""
    if isinstance(node, Name):
        return quote_name(node.name)
    if isinstance(node, Number):
        return str(node.value)
    return f"{node.function}({','.join(spell(arg) for arg in node.args)})"


class ExpressionParser:
    """Parses one expression string of a recipe section, checking processor names and arguments."""

    def __init__(self, snippet: Snippet) -> None:
        self.snippet = snippet
        self.tokens = list(Lexer(snippet).tokens())
        self.index = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.token
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def parse_expression(self) -> Node:
        """An output or assignment expression: a name or a (nested) processor call."""
        node = self.expression()
        self.expect_end()
        return node

    def parse_group(self) -> Call:
        """A group definition: group(member, ...) or group_remove(group, member, ...)."""
        token = self.token
        if token.kind != "name" or token.quoted or token.value not in GROUP_FUNCTIONS:
            raise self.fail(
                token, "a group is defined by group(member, ...) or group_remove(group, member, ...)"
            )
        self.advance()
        self.expect("lparen", f"'(' after {token.value}")
        members = [self.member()]
        while self.token.kind == "comma":
            self.advance()
            members.append(self.member())
        close = self.expect("rparen", "',' or ')'")
        if token.value == "group_remove" and len(members) < 2:
            raise self.snippet.error(
                token.start, close.end, "group_remove needs a group and at least one member to remove"
            )
        self.expect_end()
        return Call(token.value, tuple(members), token.start, close.end, token.end)

    def member(self) -> Name:
        token = self.token
        if token.kind != "name":
            raise self.fail(token, "expected the name of a variable or group")
        if token.value == "ALL_INPUTS":
            raise self.fail(token, "ALL_INPUTS cannot be used to build a group")
        self.advance()
        if self.token.kind == "lparen":
            raise self.fail(
                self.token, "group members are names; processors cannot be applied inside a group"
            )
        return Name(token.value, token.start, token.end)

    def expression(self) -> Node:
        token = self.token
        if token.kind != "name":
            raise self.fail(token, "expected a variable, group or assignment name, or a processor call")
        self.advance()
        if self.token.kind != "lparen" or token.quoted:
            return Name(token.value, token.start, token.end)
        return self.call(token)

    def call(self, function: Token) -> Call:
        processor = PROCESSORS.get(function.value)
        if processor is None:
            raise self.fail(function, self.unknown_processor(function.value))
        if self.depth >= MAX_NESTING:
            raise self.fail(function, f"processor calls nest deeper than {MAX_NESTING} levels")
        self.advance()
        self.depth += 1
        args: list[Node] = [self.expression()]
        self.depth -= 1
        if processor.second is not None:
            self.expect("comma", f"',' and a second argument: {processor.usage()}")
            args.append(self.integer(processor) if processor.second == "int" else self.expression())
        if self.token.kind == "comma":
            raise self.fail(self.token, f"too many arguments; use {processor.usage()}")
        close = self.expect("rparen", f"')' closing {function.value}(")
        return Call(function.value, tuple(args), function.start, close.end, function.end)

    def integer(self, processor: Processor) -> Number:
        token = self.token
        if token.kind != "int":
            raise self.fail(token, f"expected a whole number as the second argument of {processor.usage()}")
        self.advance()
        value = int(token.value)
        if not processor.low <= value <= processor.high:
            raise self.fail(
                token, f"{processor.name} n must be from {processor.low} to {processor.high}, got {value}"
            )
        return Number(value, token.start, token.end)

    @staticmethod
    def unknown_processor(name: str) -> str:
        if name in GROUP_FUNCTIONS:
            return f"{name}(...) defines a group and may only be used in the groups section"
        known = ", ".join(sorted(PROCESSORS))
        hint = "; processor names are lower case" if name.lower() in PROCESSORS else ""
        return f"unknown processor {name!r}; expected one of {known}{hint}"

    def expect(self, kind: str, what: str) -> Token:
        if self.token.kind != kind:
            raise self.fail(self.token, f"expected {what}")
        return self.advance()

    def expect_end(self) -> None:
        if self.token.kind != "eof":
            raise self.fail(self.token, "unexpected text after the end of the expression")

    def fail(self, token: Token, rule: str) -> RecipeError:
        if token.kind == "eof":
            rule += " but the expression ends here"
        elif spaced := self.spaced_name(token):
            rule += f"; a name with spaces must be quoted: {quoted(spaced)}"
        return self.snippet.error(token.start, token.end, rule)

    def spaced_name(self, token: Token) -> str | None:
        """`a b` when `token` is the bare word `b` right after the bare word `a` (an unquoted spaced name)."""
        tokens, text = self.tokens, self.snippet.text
        at = next(i for i, t in enumerate(tokens) if t is token)
        if at == 0 or not _is_word_after(text, tokens[at - 1], token):
            return None
        last = at
        while last + 1 < len(tokens) and _is_word_after(text, tokens[last], tokens[last + 1]):
            last += 1
        return text[tokens[at - 1].start : tokens[last].end]


def _is_word_after(text: str, word: Token, token: Token) -> bool:
    """Whether `token` is a bare word that follows the bare `word` after nothing but spaces."""
    bare = all(t.kind == "name" and not t.quoted for t in (word, token))
    return bare and token.start > word.end and not text[word.end : token.start].strip(" ")
