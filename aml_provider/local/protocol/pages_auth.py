"""Guarding the pages (console, logs): credentials when required, and no form posted from another site.

The API itself is authenticated by SigV4 (`auth.py`); this middleware guards the pages whatever they
render: when `require_credentials` is set, every page (everything but the API and /health) needs HTTP
basic auth with an access key pair, or the console token as a bearer token. A page form posted from
another origin (a browser visiting another site while it holds the credentials, or while the service is
open on loopback) is refused either way.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

OPEN_PATHS = frozenset({"/health"})
PAGE_PREFIXES = ("/console/", "/logs/")
REALM = "aml-local"


class PageGuardMiddleware:
    """Answers 401 to page requests without valid credentials (when required) and 403 to cross-site posts."""

    def __init__(
        self,
        app: ASGIApp,
        access_keys: Mapping[str, str],
        token: str | None = None,
        require_credentials: bool = True,
        public_url: str | None = None,
    ) -> None:
        self.app = app
        self.access_keys = dict(access_keys)
        self.token = token
        self.require_credentials = require_credentials
        self.public_host = urlsplit(public_url).netloc.lower() if public_url else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_page(scope):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.require_credentials and not self._allowed(headers):
            response = PlainTextResponse(
                "The console and log pages need credentials: basic authentication with the service's "
                "access key id and secret access key"
                + (", or the console token as a bearer token." if self.token else "."),
                401,
                headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
            )
        elif scope["method"] == "POST" and self._cross_site(headers):
            response = PlainTextResponse("Console forms are accepted only from the console's own pages.", 403)
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)

    def _cross_site(self, headers: Headers) -> bool:
        """Whether a browser says the request comes from a page of another origin (Origin, else Referer)
        than this service (the Host it was sent to, or its public URL)."""
        source = headers.get("origin") or headers.get("referer")
        if not source or source == "null":
            return bool(source)
        return urlsplit(source).netloc.lower() not in (headers.get("host", "").lower(), self.public_host)

    def _allowed(self, headers: Headers) -> bool:
        scheme, _, credentials = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token:
            return hmac.compare_digest(credentials.strip().encode(), self.token.encode())
        if scheme.lower() == "basic":
            key_id, secret = _basic_pair(credentials.strip())
            expected = self.access_keys.get(key_id)
            return expected is not None and hmac.compare_digest(secret.encode(), expected.encode())
        return False


def is_page(scope: Scope) -> bool:
    """The console and logs (whatever the method), and anything else but the API (POSTed, SigV4-signed)
    and the health check."""
    path = scope["path"]
    if path in OPEN_PATHS:
        return False
    return bool(path == "/console" or path.startswith(PAGE_PREFIXES) or scope["method"] != "POST")


def _basic_pair(credentials: str) -> tuple[str, str]:
    """(user, password) of a basic-auth value; empty strings when it is malformed."""
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    user, _, password = decoded.partition(":")
    return user, password
