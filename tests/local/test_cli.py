"""`aml-local serve` as a real process, and LocalAml reached by a plain boto3 program through its env."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aml_provider.local import LocalAml, ServiceConfig
from aml_provider.local.cli import main
from aml_provider.local.server import with_access_keys
from tests.helpers import free_port, schema_text, service_unavailable, wait_for

REPOSITORY = Path(__file__).resolve().parents[2]


def start_server(data_dir: Path, port: int, *flags: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aml_provider.local.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            *flags,
        ],
        cwd=REPOSITORY,
        env={k: v for k, v in os.environ.items() if not k.startswith("AML_LOCAL_")},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5):
                return process
        except urllib.error.HTTPError:
            return process  # serving, not ready (503): without --s3-endpoint S3 is AWS's, unreachable here
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise AssertionError(f"aml-local serve did not start:\n{process.communicate()[0]}")


def stop_server(process: subprocess.Popen[str], signum: int) -> str:
    process.send_signal(signum)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    return output


def describe_with(port: int, key: str, secret: str) -> Any:
    client = boto3.session.Session().client(
        "machinelearning",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )
    return client.describe_ml_models()


def test_serve_creates_credentials_once_answers_boto3_and_stops_on_signals(tmp_path: Path) -> None:
    port = free_port()
    first = start_server(tmp_path, port)
    credentials_file = tmp_path / "credentials.json"
    pair = json.loads(credentials_file.read_text())
    assert credentials_file.stat().st_mode & 0o777 == 0o600
    assert describe_with(port, pair["access_key_id"], pair["secret_access_key"])["Results"] == []
    output = stop_server(first, signal.SIGTERM)
    assert str(credentials_file) in output
    assert f"export AWS_ACCESS_KEY_ID={pair['access_key_id']}" in output
    assert f"export AWS_ENDPOINT_URL_MACHINE_LEARNING=http://127.0.0.1:{port}" in output

    second = start_server(tmp_path, port)
    assert json.loads(credentials_file.read_text()) == pair
    assert describe_with(port, pair["access_key_id"], pair["secret_access_key"])["Results"] == []
    stop_server(second, signal.SIGINT)


def test_configured_keys_are_used_and_no_credentials_file_is_written(tmp_path: Path) -> None:
    config, credentials_file = with_access_keys(
        ServiceConfig(data_dir=tmp_path, access_keys={"KEY": "SECRET"})
    )
    assert config.access_keys == {"KEY": "SECRET"}
    assert credentials_file is None
    assert not (tmp_path / "credentials.json").exists()


def test_serve_needs_both_halves_of_a_key_pair(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["serve", "--data-dir", str(tmp_path), "--access-key-id", "KEY", "--secret-access-key", ""]) == 2
    )
    assert "--secret-access-key" in capsys.readouterr().err


def test_plain_boto3_program_reaches_local_aml_through_env_alone(
    aml: LocalAml, bucket: str, tmp_path: Path
) -> None:
    program = (
        "import boto3\n"
        "print(boto3.client('machinelearning').describe_data_sources(Limit=1)['ResponseMetadata']['HTTPStatusCode'])\n"
        "print(' '.join(b['Name'] for b in boto3.client('s3').list_buckets()['Buckets']))\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), **aml.env}
    result = subprocess.run(
        [sys.executable, "-c", program], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    status, buckets = result.stdout.splitlines()
    assert status == "200"
    assert bucket in buckets.split()


def test_redshift_clusters_map_to_the_configured_servers(tmp_path: Path, s3: Any, bucket: str) -> None:
    """`--redshift-server ID=URL` picks the server per cluster; '*' is every other cluster."""
    port = free_port()
    postgres = os.environ.get("AML_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/test").rsplit("/", 1)[0]
    process = start_server(
        tmp_path,
        port,
        "--s3-endpoint",
        s3.meta.endpoint_url,
        "--redshift-server",
        f"warehouse={postgres}",
        "--redshift-server",
        "*=postgresql://127.0.0.1:9",  # nothing listens there
    )
    try:
        pair = json.loads((tmp_path / "credentials.json").read_text())
        ml = boto3.session.Session().client(
            "machinelearning",
            endpoint_url=f"http://127.0.0.1:{port}",
            region_name="us-east-1",
            aws_access_key_id=pair["access_key_id"],
            aws_secret_access_key=pair["secret_access_key"],
        )
        for cluster in ("warehouse", "elsewhere"):
            ml.create_data_source_from_redshift(
                DataSourceId=f"ds-{cluster}",
                DataSpec={
                    "DatabaseInformation": {"DatabaseName": "test", "ClusterIdentifier": cluster},
                    "SelectSqlQuery": "SELECT 1 AS one, 'a' AS letter",
                    "DatabaseCredentials": {"Username": "postgres", "Password": "any-password"},
                    "S3StagingLocation": f"s3://{bucket}/cli-staging/{cluster}/",
                },
                RoleARN="arn:aws:iam::123456789012:role/aml",
            )
        warehouse = wait_for(ml, "DataSource", "ds-warehouse")
        elsewhere = wait_for(ml, "DataSource", "ds-elsewhere")
    finally:
        stop_server(process, signal.SIGTERM)
    if warehouse["Status"] == "FAILED" and "connect" in warehouse.get("Message", "").lower():
        service_unavailable(f"PostgreSQL not reachable at {postgres}")
    assert warehouse["Status"] == "COMPLETED", warehouse.get("Message")
    assert elsewhere["Status"] == "FAILED"
    assert "127.0.0.1" in elsewhere["Message"]
    assert "any-password" not in elsewhere["Message"]


def test_serve_with_a_local_s3_reads_data_from_it(tmp_path: Path) -> None:
    port, s3_port = free_port(), free_port()
    process = start_server(tmp_path, port, "--local-s3", str(s3_port))
    try:
        pair = json.loads((tmp_path / "credentials.json").read_text())
        session = boto3.session.Session(
            aws_access_key_id=pair["access_key_id"],
            aws_secret_access_key=pair["secret_access_key"],
            region_name="us-east-1",
        )
        s3 = session.client("s3", endpoint_url=f"http://127.0.0.1:{s3_port}")
        s3.create_bucket(Bucket="local-data")
        s3.put_object(Bucket="local-data", Key="rows.csv", Body=b"x,y\n1,0\n2,1\n3,0\n")
        ml = session.client("machinelearning", endpoint_url=f"http://127.0.0.1:{port}")
        ml.create_data_source_from_s3(
            DataSourceId="ds-local-s3",
            DataSpec={
                "DataLocationS3": "s3://local-data/rows.csv",
                "DataSchema": schema_text(x="NUMERIC", y="BINARY"),
            },
        )
        source = wait_for(ml, "DataSource", "ds-local-s3")
    finally:
        output = stop_server(process, signal.SIGTERM)
    assert source["Status"] == "COMPLETED", source.get("Message")
    assert source["DataSizeInBytes"] == len(b"x,y\n1,0\n2,1\n3,0\n")
    assert f"S3 data at http://127.0.0.1:{s3_port}" in output
    assert f"export AWS_ENDPOINT_URL_S3=http://127.0.0.1:{s3_port}" in output  # a shell reaches both


def test_serve_flags_for_page_credentials_and_the_body_limit(tmp_path: Path) -> None:
    port = free_port()
    process = start_server(tmp_path, port, "--console-auth", "on", "--max-body-bytes", "100")
    try:
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/console")
        assert caught.value.code == 401
        pair = json.loads((tmp_path / "credentials.json").read_text())
        signed = AWSRequest(
            method="POST",
            url=f"http://127.0.0.1:{port}/",
            data=b" " * 200,
            headers={
                "X-Amz-Target": "AmazonML_20141212.DescribeMLModels",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        credentials = Credentials(pair["access_key_id"], pair["secret_access_key"])
        SigV4Auth(credentials, "machinelearning", "us-east-1").add_auth(signed)
        request = urllib.request.Request(
            str(signed.url), data=signed.data, headers=dict(signed.headers.items()), method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request)
        assert caught.value.code == 413
        assert "at most 100 bytes" in json.loads(caught.value.read())["message"]
    finally:
        stop_server(process, signal.SIGTERM)


def test_serve_rejects_a_families_uri_that_is_not_an_s3_prefix(tmp_path: Path) -> None:
    with pytest.raises(
        SystemExit, match=r"--families-uri must list S3 prefixes like s3://bucket/families/, not 'bucket/x'"
    ):
        main(["serve", "--data-dir", str(tmp_path), "--port", "0", "--families-uri", "bucket/x"])


def test_an_unknown_job_scheduling_is_refused_naming_the_valid_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValueError, match=r"AML_LOCAL_JOB_SCHEDULING\) must be one of nice, idle; got 'fast'"):
        ServiceConfig(data_dir=tmp_path, job_scheduling="fast")
    monkeypatch.setenv("AML_LOCAL_JOB_SCHEDULING", "IDLE")
    with pytest.raises(SystemExit, match=r"^aml-local: .*must be one of nice, idle; got 'IDLE'\.$"):
        main(["serve", "--data-dir", str(tmp_path), "--port", "0"])
    monkeypatch.setenv("AML_LOCAL_JOB_SCHEDULING", "nice")
    assert ServiceConfig(data_dir=tmp_path).job_scheduling == "nice"
    monkeypatch.delenv("AML_LOCAL_JOB_SCHEDULING")
    assert ServiceConfig(data_dir=tmp_path).job_scheduling == "idle"  # the default
