"""The console's family pages over HTTP: every string from S3 escaped, reports served only from the family."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

import pytest

from aml_provider.local import LocalAml
from tests.helpers import unique_id

HOSTILE = '<script>alert("x")</script>'
FAMILY = "churn<b>"


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[LocalAml, str]]:
    """A service reading families under a prefix whose record and log hold hostile text."""
    bucket = unique_id("aml-families")
    reports_uri = f"s3://{bucket}/families/"
    with LocalAml(families_uris=(reports_uri,)) as aml:
        s3 = aml.client("s3")
        s3.create_bucket(Bucket=bucket)
        record = {"family": FAMILY, "champion": HOSTILE, "previous": None, "threshold": 0.5,
                  "members": {HOSTILE: {"logical_date": "2026-01-01", "training": [HOSTILE], "decision": HOSTILE}},
                  "pending": None, "draining": [], "history": [{"ml_model_id": HOSTILE, "op": HOSTILE}], "version": 1}  # fmt: skip
        event = {"event": "decision", "run_id": HOSTILE, "at": "2026-01-01T00:00:00+00:00", "action": HOSTILE,
                 "reason": HOSTILE, "metric_name": HOSTILE, "challenger": {"ml_model_id": HOSTILE, "value": 0.8},
                 "report_uri": f"{reports_uri}{FAMILY}/2026-01-01/decision.html"}  # fmt: skip
        s3.put_object(Bucket=bucket, Key=f"families/{FAMILY}/family.json", Body=json.dumps(record).encode())
        s3.put_object(
            Bucket=bucket, Key=f"families/{FAMILY}/log/1-a-decision.json", Body=json.dumps(event).encode()
        )
        s3.put_object(Bucket=bucket, Key=f"families/{FAMILY}/log/2-b-cleanup.json",
                      Body=json.dumps({"event": "cleanup", "run_id": "r", HOSTILE: HOSTILE}).encode())  # fmt: skip
        s3.put_object(
            Bucket=bucket, Key=f"families/{FAMILY}/2026-01-01/decision.html", Body=b"<h1>report</h1>"
        )
        s3.put_object(Bucket=bucket, Key="families/not-a-family/notes.txt", Body=b"")
        yield aml, reports_uri


def _get(url: str) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers)


def test_family_pages_escape_everything_read_from_s3(service: tuple[LocalAml, str]) -> None:
    aml, _ = service
    family_path = f"/console/families/{urllib.parse.quote(FAMILY, safe='')}"
    for path in ("/console/families", family_path):
        status, html, _ = _get(aml.endpoint_url + path)
        assert status == 200, path
        assert "<script>" not in html, path
        assert "&lt;script&gt;" in html, path
        assert FAMILY not in html, path
        assert "churn&lt;b&gt;" in html, path
    _, index, _ = _get(aml.endpoint_url + "/console/families")
    assert "not-a-family" not in index


def test_reports_are_served_from_the_family_folder_only(service: tuple[LocalAml, str]) -> None:
    aml, reports_uri = service
    base = f"{aml.endpoint_url}/console/families/{urllib.parse.quote(FAMILY, safe='')}"
    status, body, headers = _get(f"{base}/reports/2026-01-01/decision.html")
    assert (status, body) == (200, "<h1>report</h1>")
    assert headers["content-security-policy"].startswith("default-src 'none'")
    assert _get(f"{base}/reports/2026-01-01/notes.txt")[0] == 404
    assert _get(f"{base}/reports/..%2F..%2Fnot-a-family%2Fnotes.txt")[0] == 404
    status, body, _ = _get(f"{base}?reports_uri={urllib.parse.quote('s3://other/families/')}")
    assert status == 404
    assert "not one of the reports URIs configured in --families-uri" in body
    assert _get(f"{aml.endpoint_url}/console/families/no-such-family")[0] == 404
    assert _get(f"{base}?reports_uri={urllib.parse.quote(reports_uri)}")[0] == 200
