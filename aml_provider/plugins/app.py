"""The plugin's pages, server-rendered: ``/`` lists the families, ``/families/<family>`` draws one, and
``/families/<family>/reports/<ds>/decision.html`` serves its decision reports from S3."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response

from aml_provider.pages.families import FamilyNotFound
from aml_provider.pages.family import FamilyData, Site, families_page, family_page
from aml_provider.pages.layout import page
from aml_provider.plugins.paths import URL_PREFIX

__all__ = ["URL_PREFIX", "create_app"]
#: Decision reports are served as stored; they may style themselves but never run scripts or fetch.
REPORT_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}


def create_app() -> FastAPI:
    """The FastAPI app Airflow mounts at ``/amazon-ml``; every page needs the right to view plugins."""
    from airflow.api_fastapi.auth.managers.models.resource_details import AccessView
    from airflow.api_fastapi.core_api.security import requires_access_view

    app = FastAPI(
        title="Amazon ML",
        description="Model families of the Amazon ML provider",
        dependencies=[Depends(requires_access_view(AccessView.PLUGINS))],
    )
    app.get("/", response_class=HTMLResponse)(index)
    app.get("/families/{family}", response_class=HTMLResponse)(family)
    app.get("/families/{family}/reports/{path:path}")(report)
    return app


def index(request: Request) -> HTMLResponse:
    """Every family under the configured reports URIs."""
    from aml_provider.plugins.sources import AirflowFamilies

    try:
        families = AirflowFamilies()
    except ValueError as error:
        return HTMLResponse(_error(request, str(error)), 400)
    found, problems = families.summaries()
    return HTMLResponse(families_page(found, _site(request, len(families.reports_uris)), problems))


def family(request: Request, family: str, reports_uri: str = "") -> HTMLResponse:
    """One family: champion, endpoint, trend, timeline, reports and rollback choices."""
    from aml_provider.plugins.sources import AirflowFamilies

    try:
        families = AirflowFamilies()
        data = families.family(family, reports_uri or None)
    except (ValueError, FamilyNotFound) as error:
        return HTMLResponse(_error(request, str(error)), 404 if isinstance(error, FamilyNotFound) else 400)
    return HTMLResponse(family_page(data, _site(request, len(families.reports_uris))))


def report(request: Request, family: str, path: str, reports_uri: str = "") -> Response:
    """A decision report, read from S3 through the connection, so the browser needs no S3 access."""
    from aml_provider.plugins.sources import AirflowFamilies

    try:
        found = AirflowFamilies().report(family, path, reports_uri or None)
    except (ValueError, FamilyNotFound):
        found = None
    if found is None:
        return Response(f"No decision report {path!r} of family {family!r}", 404, media_type="text/plain")
    return Response(found.body, media_type=found.content_type, headers=REPORT_HEADERS)


def _site(request: Request, uris: int) -> Site:
    """Links under the app's own mount point (whatever prefix the API server is served at)."""
    root = request.scope.get("root_path", "").rstrip("/")
    from aml_provider.plugins.sources import model_href

    def query(data: FamilyData) -> str:
        return f"?reports_uri={quote(data.reports_uri, safe='')}" if uris > 1 else ""

    def base(data: FamilyData) -> str:
        return f"{root}/families/{quote(data.family, safe='')}"

    return Site(
        frame=lambda title, body, crumbs: _frame(root, title, body, crumbs),
        index_href=f"{root}/",
        family_href=lambda data: base(data) + query(data),
        report_href=lambda data, path: f"{base(data)}/reports/{quote(path)}{query(data)}",
        model_href=model_href,
    )


def _frame(root: str, title: str, body: Iterable[str], crumbs: Sequence[tuple[str, str]]) -> str:
    header = f'<a href="{escape(root)}/"><b>Amazon ML</b> model families</a>'
    return page(title, body, crumbs, header=header)


def _error(request: Request, message: str) -> str:
    root = request.scope.get("root_path", "").rstrip("/")
    return _frame(root, "Amazon ML", [f'<p class="alert">{escape(message)}</p>'], [("Families", f"{root}/")])
