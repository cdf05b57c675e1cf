"""A parsed recipe: its groups, assignments and outputs, each an expression tree tied to its text."""

from __future__ import annotations

from dataclasses import dataclass

from aml_provider.local.recipes.parser import Call, ExpressionParser, Node
from aml_provider.local.recipes.source import (
    JsonArray,
    JsonObject,
    JsonReader,
    JsonString,
    JsonValue,
    RecipeError,
    Snippet,
    json_error,
)

MAX_RECIPE_CHARS = 131071
MAX_DEFINITION_NAME = 64
BUILT_IN_GROUPS = ("ALL_TEXT", "ALL_NUMERIC", "ALL_CATEGORICAL", "ALL_BINARY", "ALL_INPUTS")
SECTIONS = ("groups", "assignments", "outputs")


@dataclass(frozen=True)
class Definition:
    """A group, an assignment or an output: `name` is None for an output."""

    name: str | None
    expression: Node
    snippet: Snippet


@dataclass(frozen=True)
class Recipe:
    """A recipe whose syntax is valid; names and types are checked against a schema by FeaturePipeline."""

    text: str
    groups: tuple[Definition, ...]
    assignments: tuple[Definition, ...]
    outputs: tuple[Definition, ...]


def parse_recipe(text: str) -> Recipe:
    """Parse recipe text; raises InvalidInputException (a RecipeError) pointing at the offending text."""
    if not text.strip():
        raise RecipeError("Invalid recipe: the recipe is empty; it needs at least an outputs section.", 0)
    if len(text) > MAX_RECIPE_CHARS:
        raise RecipeError(
            f"Invalid recipe: it has {len(text)} characters; a recipe may have at most {MAX_RECIPE_CHARS}.",
            MAX_RECIPE_CHARS,
        )
    document = JsonReader(text).document()
    if not isinstance(document, JsonObject):
        raise json_error(text, document.start, "a recipe must be a JSON object with an outputs section")
    sections = _sections(text, document)
    groups = _definitions(text, sections.get("groups"), "groups", set())
    assignments = _definitions(text, sections.get("assignments"), "assignments", {d.name for d in groups})
    return Recipe(text, groups, assignments, _outputs(text, document, sections.get("outputs")))


def _sections(text: str, document: JsonObject) -> dict[str, JsonValue]:
    found: dict[str, JsonValue] = {}
    for key, value in document.value:
        if key.value not in SECTIONS:
            raise json_error(
                text, key.start, f"unknown section {key.value!r}; expected groups, assignments or outputs"
            )
        if key.value in found:
            raise json_error(text, key.start, f"section {key.value!r} appears twice")
        if any(SECTIONS.index(earlier) > SECTIONS.index(key.value) for earlier in found):
            raise json_error(
                text, key.start, "sections must appear in the order groups, assignments, outputs"
            )
        found[key.value] = value
    return found


def _definitions(
    text: str, section: JsonValue | None, name: str, taken: set[str | None]
) -> tuple[Definition, ...]:
    if section is None:
        return ()
    if not isinstance(section, JsonObject):
        raise json_error(text, section.start, f"{name} must be a JSON object of name: expression")
    definitions = []
    for key, value in section.value:
        where = f"{name}[{key.value!r}]"
        _check_definition_name(Snippet(f"the key of {where}", key, text), taken)
        taken.add(key.value)
        snippet = Snippet(where, _string(text, value, where), text)
        parser = ExpressionParser(snippet)
        expression: Call | Node = parser.parse_group() if name == "groups" else parser.parse_expression()
        definitions.append(Definition(key.value, expression, snippet))
    return tuple(definitions)


def _check_definition_name(key: Snippet, taken: set[str | None]) -> None:
    name = key.text
    if name in BUILT_IN_GROUPS:
        raise key.whole_error(f"{name} is a built-in group and cannot be redefined")
    if name in taken:
        raise key.whole_error(f"{name!r} is defined twice")
    if not 1 <= len(name) <= MAX_DEFINITION_NAME or not name[0].isalpha():
        raise key.whole_error(
            f"group and assignment names must start with a letter and have 1 to {MAX_DEFINITION_NAME} characters"
        )


def _outputs(text: str, document: JsonObject, section: JsonValue | None) -> tuple[Definition, ...]:
    if section is None:
        raise json_error(text, document.end - 1, "the outputs section is missing; list at least one output")
    if not isinstance(section, JsonArray):
        raise json_error(text, section.start, "outputs must be a JSON array of expression strings")
    if not section.value:
        raise json_error(text, section.start, "outputs is empty; list at least one output")
    outputs = []
    for index, value in enumerate(section.value):
        where = f"outputs[{index}]"
        snippet = Snippet(where, _string(text, value, where), text)
        outputs.append(Definition(None, ExpressionParser(snippet).parse_expression(), snippet))
    return tuple(outputs)


def _string(text: str, value: JsonValue, where: str) -> JsonString:
    if not isinstance(value, JsonString):
        raise json_error(text, value.start, f"{where} must be a string holding an expression")
    return value
