"""Console script ``aml-local``: the local service's command line, or how to install it."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from aml_provider.extras import MissingExtraError


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``aml-local``; without the ``[local]`` extra, say how to install it (exit status 2)."""
    try:
        from aml_provider.local.cli import main as local_main
    except MissingExtraError as error:
        print(f"aml-local: {error}", file=sys.stderr)
        return 2
    return local_main(argv)
