"""Optional parts of the package: which extra installs them, and a clear message when one is missing."""

from __future__ import annotations

import importlib.util

#: Modules the local Amazon ML service imports, all installed by ``aml-provider[local]``.
LOCAL_MODULES = (
    "moto",
    "flask",
    "scipy",
    "sqlalchemy",
    "starlette",
    "uvicorn",
    "regex",
)


class MissingExtraError(ImportError):
    """An optional part of the package was used without the extra that installs it."""


def require_extra(extra: str, modules: tuple[str, ...], purpose: str) -> None:
    """Raise `MissingExtraError` naming `extra` when any of `modules` is not installed."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise MissingExtraError(
            f"install aml-provider[{extra}] to {purpose} (missing: {', '.join(missing)}), "
            f"e.g. pip install 'aml-provider[{extra}]'"
        )


def require_local() -> None:
    """Fail clearly unless the local service's extra (``aml-provider[local]``) is installed."""
    require_extra("local", LOCAL_MODULES, "run the local service")
