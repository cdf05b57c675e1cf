"""Resolves a parsed recipe against a schema: names to variables, groups element-wise, types checked."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from aml_provider.local.data import Schema
from aml_provider.local.recipes.parser import Call, Name, Node as Syntax, Number
from aml_provider.local.recipes.processors import (
    BINARY,
    CATEGORICAL,
    NUMERIC,
    TEXT,
    Cartesian,
    Lowercase,
    Ngram,
    Node,
    NoPunct,
    Normalize,
    Osb,
    QuantileBin,
    Variable,
)
from aml_provider.local.recipes.recipe import Definition, Recipe
from aml_provider.local.recipes.source import RecipeError, Snippet

#: Most output variables a recipe may produce (Amazon ML's recipe complexity limit).
MAX_OUTPUT_VARIABLES = 10_000
BUILT_IN_TYPES = {
    "ALL_TEXT": TEXT,
    "ALL_NUMERIC": NUMERIC,
    "ALL_CATEGORICAL": CATEGORICAL,
    "ALL_BINARY": BINARY,
}
ACCEPTED_TYPES = {
    "lowercase": (TEXT, CATEGORICAL),
    "no_punct": (TEXT, CATEGORICAL),
    "ngram": (TEXT,),
    "osb": (TEXT,),
    "quantile_bin": (NUMERIC,),
    "normalize": (NUMERIC,),
    "cartesian": (CATEGORICAL, TEXT),
}


@dataclass(frozen=True)
class Resolved:
    """What an expression stands for: one variable, or the members of a group (`group` names it)."""

    nodes: tuple[Node, ...]
    group: str | None = None


@dataclass(frozen=True)
class Output:
    """An output variable: the name its features carry and the node computing it."""

    name: str
    node: Node


def compile_recipe(recipe: Recipe, schema: Schema) -> list[Output]:
    """The distinct output variables of `recipe` over `schema`, in recipe order."""
    return Compiler(schema).compile(recipe)


class Compiler:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        inputs = schema.feature_names
        self.variables = {name: Variable(name, schema.type_of(name)) for name in inputs}
        self.groups: dict[str, tuple[Node, ...]] = {
            group: tuple(v for v in self.variables.values() if v.type == kind)
            for group, kind in BUILT_IN_TYPES.items()
        }
        self.assignments: dict[str, Resolved] = {}
        self.nodes: dict[str, Node] = {}

    def compile(self, recipe: Recipe) -> list[Output]:
        for definition in recipe.groups:
            self.define_group(definition)
        for definition in recipe.assignments:
            self.check_free(definition)
            assert definition.name is not None
            self.assignments[definition.name] = self.resolve(definition.expression, definition.snippet, True)
        outputs: dict[int, Output] = {}
        for definition in recipe.outputs:
            resolved = self.resolve(definition.expression, definition.snippet, True)
            name = _assignment_name(definition.expression, resolved)
            for node in resolved.nodes:
                outputs.setdefault(id(node), Output(name or node.name, node))
            if len(outputs) > MAX_OUTPUT_VARIABLES:
                raise definition.snippet.whole_error(
                    f"the recipe makes {len(outputs)} output variables by here; "
                    f"at most {MAX_OUTPUT_VARIABLES} are allowed"
                )
        if not outputs:
            raise RecipeError(
                "Invalid recipe: its outputs hold no variable of the schema (built-in groups of types the "
                "schema lacks are empty); output at least one input variable.",
                0,
            )
        return list(outputs.values())

    def define_group(self, definition: Definition) -> None:
        self.check_free(definition)
        call = definition.expression
        assert isinstance(call, Call)
        assert definition.name is not None
        first, *rest = (self.member(arg, definition.snippet) for arg in call.args)
        members: dict[int, Node]
        if call.function == "group_remove":
            if first.group is None:
                arg = call.args[0]
                raise definition.snippet.error(
                    arg.start, arg.end, f"group_remove removes from a group, but {_quoted(arg)} is a variable"
                )
            removed = {id(node) for member in rest for node in member.nodes}
            members = {id(n): n for n in first.nodes if id(n) not in removed}
        else:
            members = {id(n): n for member in (first, *rest) for n in member.nodes}
        self.groups[definition.name] = tuple(members.values())

    def member(self, arg: Syntax, snippet: Snippet) -> Resolved:
        assert isinstance(arg, Name)
        if arg.name in self.assignments:
            raise snippet.error(
                arg.start, arg.end, f"{arg.name!r} is an assignment; groups hold variables and groups"
            )
        return self.resolve(arg, snippet, False)

    def check_free(self, definition: Definition) -> None:
        """A group or assignment name may not hide an input variable of the schema."""
        if definition.name in self.schema.names:
            raise definition.snippet.whole_error(
                f"{definition.name!r} is defined here but is also a variable of the schema; rename it"
            )

    def resolve(self, syntax: Syntax, snippet: Snippet, all_inputs: bool) -> Resolved:
        if isinstance(syntax, Name):
            return self.name(syntax, snippet, all_inputs)
        assert isinstance(syntax, Call)
        args = [self.resolve(arg, snippet, all_inputs) for arg in syntax.args if not isinstance(arg, Number)]
        for arg, resolved in zip(syntax.args, args, strict=False):
            self.check_types(syntax.function, arg, resolved, snippet)
        if syntax.function == "cartesian":
            left, right = args
            pairs = len(left.nodes) * len(right.nodes)
            if pairs > MAX_OUTPUT_VARIABLES:
                raise snippet.error(
                    syntax.start,
                    syntax.end,
                    f"cartesian makes {pairs} variables; at most {MAX_OUTPUT_VARIABLES} are allowed",
                )
            nodes = tuple(self.intern(Cartesian(a, b)) for a in left.nodes for b in right.nodes)
            return Resolved(nodes, left.group or right.group)
        number = syntax.args[-1].value if isinstance(syntax.args[-1], Number) else 0
        nodes = tuple(self.intern(_unary(syntax.function, node, number)) for node in args[0].nodes)
        return Resolved(nodes, args[0].group)

    def name(self, syntax: Name, snippet: Snippet, all_inputs: bool) -> Resolved:
        name = syntax.name
        if name == "ALL_INPUTS":
            if not all_inputs:
                raise snippet.error(syntax.start, syntax.end, "ALL_INPUTS cannot be used to build a group")
            return Resolved(tuple(self.variables.values()), name)
        if name in self.assignments:
            return self.assignments[name]
        if name in self.groups:
            return Resolved(self.groups[name], name)
        if name in self.variables:
            return Resolved((self.variables[name],))
        raise snippet.error(syntax.start, syntax.end, self.unknown(name))

    def unknown(self, name: str) -> str:
        roles: dict[str | None, str] = {
            self.schema.target: "the target",
            self.schema.row_id: "the rowId",
            self.schema.row_weight: "the rowWeight",
            **dict.fromkeys(self.schema.excluded, "an excluded attribute"),
        }
        if name in roles:
            return f"{name!r} is {roles[name]} of the schema and cannot be used as an input"
        known = [*self.variables, *self.groups, *self.assignments, "ALL_INPUTS"]
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"unknown variable, group or assignment {name!r}{hint}"

    def check_types(self, function: str, arg: Syntax, resolved: Resolved, snippet: Snippet) -> None:
        accepted = ACCEPTED_TYPES[function]
        for node in resolved.nodes:
            if node.type in accepted:
                continue
            wanted = " or ".join(accepted)
            if resolved.group is None:
                rule = f"{function} expects a {wanted} variable but {node.name!r} is {node.type}"
            else:
                rule = (
                    f"{function} expects {wanted} variables but group {resolved.group!r} holds "
                    f"{node.name!r}, which is {node.type}"
                )
            if node.type == NUMERIC and NUMERIC not in accepted:
                rule += "; bin it first with quantile_bin"
            raise snippet.error(arg.start, arg.end, rule)

    def intern(self, node: Node) -> Node:
        """One node per distinct expression, so shared sub-expressions are computed once."""
        return self.nodes.setdefault(node.name, node)


def _unary(function: str, node: Node, number: int) -> Node:
    if function == "lowercase":
        return Lowercase(node)
    if function == "no_punct":
        return NoPunct(node)
    if function == "normalize":
        return Normalize(node)
    if function == "ngram":
        return Ngram(node, number)
    if function == "osb":
        return Osb(node, number)
    return QuantileBin(node, number)


def _assignment_name(syntax: Syntax, resolved: Resolved) -> str | None:
    """An output naming an assignment of one variable takes the assignment's name."""
    if isinstance(syntax, Name) and resolved.group is None and len(resolved.nodes) == 1:
        node = resolved.nodes[0]
        return None if isinstance(node, Variable) else syntax.name
    return None


def _quoted(arg: Syntax) -> str:
    return repr(arg.name) if isinstance(arg, Name) else repr(arg)
