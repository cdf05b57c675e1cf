"""Where the plugin's pages are served in Airflow's API server (shared with the operators' extra link)."""

from __future__ import annotations

URL_PREFIX = "/amazon-ml"
