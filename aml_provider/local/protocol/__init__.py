"""The HTTP protocol of the local service: the Starlette app, SigV4 authentication and input validation."""

from __future__ import annotations

from aml_provider.local.protocol.app import ServiceBackend, create_app
from aml_provider.local.protocol.auth import Authenticator
from aml_provider.local.protocol.validation import service_model, validate_input

__all__ = ["Authenticator", "ServiceBackend", "create_app", "service_model", "validate_input"]
