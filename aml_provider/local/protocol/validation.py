"""Checks a request against botocore's model of the operation input, including what botocore's client skips.

botocore checks required members, types and minimums before sending, but not maximums, patterns or enums;
raw HTTP clients check nothing. Every violation becomes one AWS-style `InvalidInputException`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import botocore.session
import regex
from botocore.model import ListShape, MapShape, ServiceModel, Shape, StructureShape

from aml_provider.local.errors import InvalidInputException

#: VipURL (PredictEndpoint) only admits amazonaws.com hosts, but local endpoints are http://127.0.0.1:<port>.
UNENFORCED_PATTERNS = frozenset({"VipURL"})
#: IDs the pattern admits that would name the current or parent folder of the service's store.
RESERVED_IDS = frozenset({".", ".."})
#: S3 URIs used as given: Amazon ML refuses `//`, `/./` and `/../` in an OutputUri.
UNNORMALISED_URIS = frozenset({"OutputUri"})
#: Shape metadata that constrains a value.
CONSTRAINTS = frozenset({"min", "max", "pattern", "enum"})
#: Members where an empty string means "not given": an empty Recipe and RecipeUri ask for the suggested recipe.
EMPTY_MEANS_ABSENT = frozenset({("CreateMLModelInput", "RecipeUri")})
_LONGEST_SHOWN_VALUE = 200
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "blob": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
    "timestamp": (int, float),
    "structure": (dict,),
    "map": (dict,),
    "list": (list,),
}
_TYPE_NAMES = {
    "boolean": "a boolean",
    "integer": "an integer",
    "long": "an integer",
    "float": "a number",
    "double": "a number",
    "timestamp": "a timestamp (seconds since the epoch)",
    "structure": "a structure (JSON object)",
    "map": "a map (JSON object)",
    "list": "a list (JSON array)",
}


@cache
def service_model() -> ServiceModel:
    """botocore's model of the Amazon ML API, loaded once."""
    return botocore.session.get_session().get_service_model("machinelearning")


def validate_input(shape: StructureShape | None, params: dict[str, Any]) -> None:
    """Raise InvalidInputException listing every way `params` breaks the input shape (None: no input)."""
    if shape is None:
        shape = StructureShape("NoInput", {"type": "structure", "members": {}})
    if _plainly_valid(shape, params):
        return
    problems = list(_problems(shape, params, "", hidden=False))
    if problems:
        plural = "s" if len(problems) > 1 else ""
        raise InvalidInputException(
            f"{len(problems)} validation error{plural} detected: " + "; ".join(problems)
        )


def _plainly_valid(shape: StructureShape, params: dict[str, Any]) -> bool:
    """A quick yes for a request of an input with only flat members (strings, booleans, maps of plain
    strings, as Predict's): every member known, the required ones given, each within its constraints.
    Any doubt is a no, and `_problems` then walks the request to say what is wrong, so messages do not
    depend on this."""
    checks = _flat_checks(shape)
    if checks is None or not params.keys() <= checks.keys():
        return False
    if any(params.get(name) is None for name in shape.required_members):
        return False
    return all(value is None or checks[name](value) for name, value in params.items())


def _flat_checks(shape: StructureShape) -> dict[str, Callable[[Any], bool]] | None:
    """Member name -> whether a value is valid for it, when every member is flat (None otherwise)."""
    if shape.name not in _FLAT_CHECKS:
        checks = {name: check for name, member in shape.members.items() if (check := _flat_check(member))}
        _FLAT_CHECKS[shape.name] = checks if len(checks) == len(shape.members) else None
    return _FLAT_CHECKS[shape.name]


def _flat_check(shape: Shape) -> Callable[[Any], bool] | None:
    """What `_problems` accepts for a string, a boolean or a map of plain strings (None for other shapes)."""
    if shape.type_name == "boolean":
        return lambda value: type(value) is bool
    if isinstance(shape, MapShape) and not CONSTRAINTS & shape.metadata.keys():
        if _any_string(shape.key) and _any_string(shape.value):
            return lambda value: type(value) is dict and all(type(item) is str for item in value.values())
        return None
    if shape.type_name != "string" or shape.name == "S3Url":
        return None
    meta = shape.metadata
    shortest, longest = meta.get("min", 0), meta.get("max", math.inf)
    enum = frozenset(meta["enum"]) if "enum" in meta else None
    enforced = "pattern" in meta and shape.name not in UNENFORCED_PATTERNS
    pattern = _compiled(meta["pattern"]) if enforced else None
    reserved = RESERVED_IDS if shape.name == "EntityId" else frozenset()
    return lambda value: (
        type(value) is str
        and shortest <= len(value) <= longest
        and (enum is None or value in enum)
        and (pattern is None or pattern.fullmatch(value) is not None)
        and value not in reserved
    )


#: Input shape name -> its members' checks, or None when a member is not flat (`_flat_checks`).
_FLAT_CHECKS: dict[str, dict[str, Callable[[Any], bool]] | None] = {}


def _problems(shape: Shape, value: Any, path: str, hidden: bool) -> Iterator[str]:
    hidden = hidden or bool(shape.metadata.get("sensitive"))
    if not _has_type(shape, value):
        hide = hidden or shape.type_name in ("structure", "map", "list")
        yield _violation(value, path, f"Member must be {_TYPE_NAMES.get(shape.type_name, 'a string')}", hide)
        return
    if isinstance(shape, StructureShape):
        yield from _structure_problems(shape, value, path, hidden)
        return
    problem = _constraint_problem(shape, value)
    if problem:
        yield _violation(value, path, problem, hidden or isinstance(value, (list, dict)))
    if isinstance(shape, ListShape):
        for number, item in enumerate(value, start=1):
            yield from _problems(shape.member, item, f"{path}.{number}.member", hidden)
    elif isinstance(shape, MapShape):
        any_key, any_value = _any_string(shape.key), _any_string(shape.value)
        for key, item in value.items():
            if not (any_key and type(key) is str):
                yield from _problems(shape.key, key, path, hidden)
            if item is None:
                yield f"Value null at '{path}.{key}' failed to satisfy constraint: Member must not be null"
            elif not (any_value and type(item) is str):
                yield from _problems(shape.value, item, f"{path}.{key}", hidden)


def _any_string(shape: Shape) -> bool:
    """Whether every string is valid for `shape` (a Predict Record's names and values): then a map's
    entries need no walk each (the walk costs more than the rest of a Predict call's validation)."""
    return (
        shape.type_name == "string"
        and not CONSTRAINTS & shape.metadata.keys()
        and shape.name not in ("EntityId", "S3Url")
    )


def _structure_problems(
    shape: StructureShape, value: dict[str, Any], path: str, hidden: bool
) -> Iterator[str]:
    prefix = f"{path}." if path else ""
    for name in sorted(value.keys() - shape.members.keys()):
        where = f"'{path}'" if path else "the request"
        yield f"Unknown member '{name}' in {where}: expected only [{', '.join(shape.members)}]"
    for name, member in shape.members.items():
        member_path = prefix + _camel(name)
        if value.get(name) == "" and (shape.name, name) in EMPTY_MEANS_ABSENT:
            continue
        if value.get(name) is not None:
            yield from _problems(member, value[name], member_path, hidden)
        elif name in shape.required_members:
            yield f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null"


def _has_type(shape: Shape, value: Any) -> bool:
    expected = _JSON_TYPES[shape.type_name]
    return isinstance(value, expected) and not (isinstance(value, bool) and bool not in expected)


def _constraint_problem(shape: Shape, value: Any) -> str | None:
    """The first constraint of `shape` that `value` breaks, as AWS words it."""
    meta = shape.metadata
    if shape.name == "EntityId" and value in RESERVED_IDS:
        return "Member must not be '.' or '..': an ID must also be usable as a folder name"
    if shape.name == "S3Url" and isinstance(value, str) and ".." in _key_segments(value):
        return (
            "Member must not have '..' path segments: S3 does not resolve them, so name the object or "
            "prefix itself"
        )
    if isinstance(value, (str, list, dict)):
        if "enum" in meta and value not in meta["enum"]:
            return f"Member must satisfy enum value set: [{', '.join(meta['enum'])}]"
        if "min" in meta and len(value) < meta["min"]:
            return f"Member must have length greater than or equal to {meta['min']}"
        if "max" in meta and len(value) > meta["max"]:
            return f"Member must have length less than or equal to {meta['max']}"
        if (
            isinstance(value, str)
            and "pattern" in meta
            and shape.name not in UNENFORCED_PATTERNS
            and not _compiled(meta["pattern"]).fullmatch(value)
        ):
            return f"Member must satisfy regular expression pattern: {meta['pattern']}"
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            return f"Member must have value greater than or equal to {meta['min']}"
        if "max" in meta and value > meta["max"]:
            return f"Member must have value less than or equal to {meta['max']}"
    return None


def _key_segments(uri: str) -> list[str]:
    return uri.partition("://")[2].partition("/")[2].split("/")


def normalise_s3_uris(shape: StructureShape | None, params: dict[str, Any]) -> None:
    """Normalise in place every S3 URI of a valid request but OutputUri (which Amazon ML refuses with such
    segments, see batch predictions): `.` and empty key segments are dropped, so `s3://b/a//./c/` names
    `s3://b/a/c/`; a trailing `/` (a prefix) stays."""
    for name, member in shape.members.items() if shape else ():
        value = params.get(name)
        if isinstance(member, StructureShape) and isinstance(value, dict):
            normalise_s3_uris(member, value)
        elif (
            member.name == "S3Url"
            and isinstance(value, str)
            and value.startswith("s3://")
            and name not in UNNORMALISED_URIS
        ):
            params[name] = normalise_s3_uri(value)


def normalise_s3_uri(uri: str) -> str:
    """`s3://bucket/key` without `.` or empty key segments (`..` is refused before)."""
    bucket, slash, key = uri.removeprefix("s3://").partition("/")
    segments = [segment for segment in key.split("/") if segment not in ("", ".")]
    prefix = bool(segments) and key.split("/")[-1] in ("", ".")
    return f"s3://{bucket}{slash}" + "/".join(segments) + ("/" if prefix else "")


def _violation(value: Any, path: str, constraint: str, hidden: bool) -> str:
    where = f"at '{path}'" if path else "of the request body"
    if hidden:
        return f"Value {where} failed to satisfy constraint: {constraint}"
    return f"Value {_shown(value)} {where} failed to satisfy constraint: {constraint}"


def _shown(value: Any) -> str:
    """Strings in quotes as AWS shows them; other JSON values in their JSON spelling, so types stand out."""
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > _LONGEST_SHOWN_VALUE:
        text = text[:_LONGEST_SHOWN_VALUE] + "..."
    return f"'{text}'" if isinstance(value, str) else text


@cache
def _camel(name: str) -> str:
    """AWS names members in messages with a lower-case first letter: MLModelId -> mLModelId."""
    return name[:1].lower() + name[1:]


@cache
def _compiled(pattern: str) -> regex.Pattern[str]:
    """The model's patterns use Unicode classes such as \\p{L}, which `regex` knows and `re` does not."""
    return regex.compile(pattern)
