"""What every operation works with: settings, the entity store, the job runner and the endpoints."""

from __future__ import annotations

from dataclasses import dataclass

from aml_provider.local.backend.endpoints import Endpoints
from aml_provider.local.config import ServiceConfig
from aml_provider.local.jobs.runner import JobRunner
from aml_provider.local.store import EntityStore


@dataclass
class Services:
    config: ServiceConfig
    store: EntityStore
    runner: JobRunner
    endpoints: Endpoints
