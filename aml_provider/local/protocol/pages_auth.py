"""Authentication of the pages (console, logs): HTTP basic auth with an access key pair, or a bearer token.

The API itself is authenticated by SigV4 (`auth.py`); this middleware guards everything else but /health,
so the pages, whatever they render, are never served to a caller without credentials.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/health"})
REALM = "aml-local"


class PageAuthMiddleware:
    """Answers 401 to page requests (anything but the POSTed API and /health) without valid credentials."""

    def __init__(self, app: ASGIApp, access_keys: Mapping[str, str], token: str | None = None) -> None:
        self.app = app
        self.access_keys = dict(access_keys)
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _is_page(scope) and not self._allowed(Headers(scope=scope)):
            response = PlainTextResponse(
                "The console and log pages need credentials: basic authentication with the service's "
                "access key id and secret access key"
                + (", or the console token as a bearer token." if self.token else "."),
                401,
                headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _allowed(self, headers: Headers) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token:
            return hmac.compare_digest(credentials.strip().encode(), self.token.encode())
        if scheme.lower() == "basic":
            key_id, secret = _basic_pair(credentials.strip())
            expected = self.access_keys.get(key_id)
            return expected is not None and hmac.compare_digest(secret.encode(), expected.encode())
        return False


def _is_page(scope: Scope) -> bool:
    """Everything but the API (POST, SigV4-signed) and the health check."""
    return bool(scope["method"] != "POST" and scope["path"] not in OPEN_PATHS)


def _basic_pair(credentials: str) -> tuple[str, str]:
    """(user, password) of a basic-auth value; empty strings when it is malformed."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password
