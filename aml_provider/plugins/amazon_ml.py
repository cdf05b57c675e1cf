"""The plugin: a FastAPI app in Airflow's API server and its entry in the UI's navigation."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from aml_provider.plugins.app import URL_PREFIX, create_app

NAME = "Amazon ML"


class AmazonMlPlugin(AirflowPlugin):
    """Model families (champion, decisions, reports, rollback choices) read from S3 and Amazon ML."""

    name = "amazon_ml"
    fastapi_apps = [{"app": create_app(), "url_prefix": URL_PREFIX, "name": NAME}]
    external_views = [
        {
            "name": NAME,
            "href": URL_PREFIX.lstrip("/") + "/",
            "url_route": "amazon-ml",
            "destination": "nav",
            "category": "browse",
        }
    ]
