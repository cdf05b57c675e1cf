"""Extra link "Family page" of the family operators: the local console's page, or the Airflow plugin's.

Computed from the operator itself (its ``family``, ``reports_uri`` and connection) when the task ends, so
the operators need no code for it: listing it in ``operator_extra_links`` is enough.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow.providers.common.compat.sdk import BaseOperatorLink, conf

from aml_provider.plugins.paths import URL_PREFIX

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class AmlFamilyPageLink(BaseOperatorLink):
    """Link to the page of the operator's model family."""

    name = "Family page"
    key = "aml_family_page"  # the provider's links are known by an aml_ key

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        family = getattr(operator, "family", None)
        if not family:
            return ""
        hook: Any = getattr(operator, "hook", None)
        local_url = hook.local_service_url if hook is not None else None
        return family_page_url(str(family), getattr(operator, "reports_uri", None), local_url)


def family_page_url(family: str, reports_uri: str | None, local_service_url: str | None) -> str:
    """The local service's family page when the connection points at one, else the plugin's page."""
    query = f"?reports_uri={quote(reports_uri, safe='')}" if reports_uri else ""
    path = f"/families/{quote(family, safe='')}{query}"
    if local_service_url:
        return f"{local_service_url.rstrip('/')}/console{path}"
    base_url = conf.get("api", "base_url", fallback="") or ""
    return f"{base_url.rstrip('/')}{URL_PREFIX}{path}"
