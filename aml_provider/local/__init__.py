"""The local Amazon ML service; `LocalAml` runs it (with a local S3) inside this process."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from aml_provider.extras import require_local
from aml_provider.local.config import ServiceConfig
from aml_provider.local.faults import FaultPlan

require_local()  # a clear "install aml-provider[local]" instead of an ImportError deep inside the service

__all__ = ["AdminCallError", "FaultPlan", "LocalAml", "ServiceConfig", "admin_call"]


class AdminCallError(Exception):
    """The service refused an admin call: `code` is the error's type, as in an API error."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class LocalAml:
    """The service on a free 127.0.0.1 port, with moto's S3 unless an S3 endpoint is given.

    Use as a context manager; everything it started, and a temporary data directory, ends with it.
    """

    region_name = "us-east-1"

    def __init__(
        self, data_dir: Path | None = None, s3_endpoint_url: str | None = None, **config_overrides: Any
    ) -> None:
        self.data_dir = data_dir
        self.s3_endpoint_url = s3_endpoint_url
        self.config_overrides = config_overrides
        self._resources = ExitStack()

    def __enter__(self) -> LocalAml:
        with ExitStack() as resources:
            self._start(resources)
            self._resources = resources.pop_all()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._resources.close()

    def _start(self, resources: ExitStack) -> None:
        # Imported here so that importing the package (e.g. for ServiceConfig) stays light.
        from moto.server import ThreadedMotoServer

        from aml_provider.local.server import BackgroundServer, bind_socket, build_app, with_access_keys

        data_dir = self.data_dir or Path(
            resources.enter_context(
                tempfile.TemporaryDirectory(prefix="aml-local-", ignore_cleanup_errors=True)
            )
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        if self.s3_endpoint_url is None:
            _quiet_logger("werkzeug")  # moto's server logs every S3 request
            s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            s3_server.start()
            resources.callback(s3_server.stop)
            host, port = s3_server.get_host_and_port()
            self.s3_endpoint_url = f"http://{host}:{port}"
            resources.callback(setattr, self, "s3_endpoint_url", None)
        _quiet_logger("aml_provider.local.requests")  # a line per request is for `aml-local serve`
        overrides = dict(self.config_overrides)
        sock = bind_socket(overrides.pop("host", "127.0.0.1"), overrides.pop("port", 0))
        host, port = sock.getsockname()[:2]
        self.config, _ = with_access_keys(
            ServiceConfig(
                data_dir=data_dir, host=host, port=port, s3_endpoint_url=self.s3_endpoint_url, **overrides
            )
        )
        self.endpoint_url = f"http://{host}:{port}"
        self.access_key_id, self.secret_access_key = next(iter(self.config.access_keys.items()))
        self._provide_default_credentials(resources)
        server = BackgroundServer(build_app(self.config), sock)
        server.start()
        resources.callback(server.stop)

    def _provide_default_credentials(self, resources: ExitStack) -> None:
        """The service reads S3 through the default credential chain; give it our pair when it has none."""
        if "AWS_ACCESS_KEY_ID" in os.environ:
            return
        os.environ["AWS_ACCESS_KEY_ID"] = self.access_key_id
        os.environ["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            resources.callback(os.environ.pop, name, None)

    @property
    def env(self) -> dict[str, str]:
        """Environment that points any boto3 program at this service and its S3, without code changes."""
        return {
            "AWS_ENDPOINT_URL_MACHINE_LEARNING": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.s3_endpoint_url or "",
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region_name,
        }

    @property
    def airflow_connection(self) -> dict[str, Any]:
        """An Airflow ``aws`` connection (as JSON for ``AIRFLOW_CONN_<ID>``) for this service and its S3."""
        return {
            "conn_type": "aws",
            "login": self.access_key_id,
            "password": self.secret_access_key,
            "extra": {
                "region_name": self.region_name,
                "service_config": {
                    "machinelearning": {"endpoint_url": self.endpoint_url},
                    "s3": {"endpoint_url": self.s3_endpoint_url},
                },
            },
        }

    def set_faults(self, plan: dict[str, Any] | FaultPlan) -> dict[str, Any]:
        """Put a fault plan in force (`{}` turns faults off) through the signed admin call; answers it."""
        document = plan.to_json() if isinstance(plan, FaultPlan) else plan
        return self.admin("PutFaultPlan", document)

    def faults(self) -> dict[str, Any]:
        """The fault plan in force."""
        return self.admin("GetFaultPlan")

    def admin(self, call: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send the admin call `AmlLocal.<call>`, signed with this service's key pair like any API call."""
        return admin_call(self.endpoint_url, self.access_key_id, self.secret_access_key, call, body)

    def client(self, service: str = "machinelearning") -> Any:
        """A boto3 client for `service` ("machinelearning" or "s3") configured for this service."""
        endpoints = {"machinelearning": self.endpoint_url, "s3": self.s3_endpoint_url}
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=endpoints[service],
            region_name=self.region_name,
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=self.secret_access_key,
        )


def admin_call(
    endpoint_url: str,
    access_key_id: str,
    secret_access_key: str,
    call: str,
    body: dict[str, Any] | None = None,
    region_name: str = LocalAml.region_name,
) -> dict[str, Any]:
    """Send the admin call `AmlLocal.<call>` to the service at `endpoint_url`, SigV4-signed with the key pair.

    Raises AdminCallError when the service refuses it (bad signature, bad fault plan).
    """
    data = json.dumps(body or {}).encode()
    request = AWSRequest(
        method="POST",
        url=f"{endpoint_url.rstrip('/')}/",
        data=data,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"AmlLocal.{call}"},
    )
    SigV4Auth(Credentials(access_key_id, secret_access_key), "machinelearning", region_name).add_auth(request)
    prepared = request.prepare()
    sent = urllib.request.Request(prepared.url, data, dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as refused:
        error = json.loads(refused.read() or b"{}")
        raise AdminCallError(error.get("__type", str(refused.code)), error.get("message", "")) from None


def _quiet_logger(name: str) -> None:
    """Only warnings from `name`, unless logging was configured for it already."""
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)
