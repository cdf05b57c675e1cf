"""The local console: server-rendered pages with inline SVG charts, one module per page kind.

`/console` lists the most recent entities, `/console/<Kind>` pages through one kind, and
`/console/<Kind>/<Id>` draws one entity from its document and the files its job wrote.
"""

from __future__ import annotations

from aml_provider.local.protocol.console.index import not_found_page
from aml_provider.local.protocol.console.views import Console, ConsoleBackend, Page
from aml_provider.pages.layout import KINDS, PLURALS

__all__ = ["KINDS", "PLURALS", "Console", "ConsoleBackend", "Page", "not_found_page"]
