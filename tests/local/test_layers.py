"""The local service's rooms import only rooms below them, and no module imports itself in a circle."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import aml_provider.local

ROOT = Path(aml_provider.local.__file__).parent
#: Rooms from the bottom up; a room may import only rooms of a lower rank (or its own modules).
RANK = {
    "errors": 0,
    "faults": 0,
    "logs": 0,
    "config": 1,
    "data": 2,
    "recipes": 3,
    "learners": 3,
    "writers": 3,
    "store": 3,
    "jobs": 4,
    "backend": 5,
    "protocol": 5,
    "server": 6,
    "cli": 8,
    "__init__": 7,
}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def room(module: str) -> str:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 else "__init__"


def local_imports(path: Path) -> Iterator[str]:
    """The aml_provider.local modules ``path`` imports (``from package import module`` included)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aml_provider.local"):
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            found = [name for name in submodules if name in MODULES]
            yield from found
            if len(found) < len(submodules):  # names defined in the package or module itself
                yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("aml_provider.local"))


MODULES = {module_name(path) for path in ROOT.rglob("*.py")}
GRAPH = {module_name(path): set(local_imports(path)) for path in ROOT.rglob("*.py")}


def test_every_room_has_a_rank() -> None:
    assert {room(module) for module in GRAPH} == set(RANK)


def test_rooms_import_only_rooms_below_them() -> None:
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if room(target) != room(module) and RANK[room(target)] >= RANK[room(module)]
    )
    assert upward == []


def test_no_module_imports_itself_through_others() -> None:
    def reaches(start: str) -> set[str]:
        seen: set[str] = set()
        todo = [start]
        while todo:
            for target in GRAPH.get(todo.pop(), set()):
                if target not in seen and target in GRAPH:
                    seen.add(target)
                    todo.append(target)
        return seen

    circles = sorted(module for module in GRAPH if module in reaches(module))
    assert circles == []
