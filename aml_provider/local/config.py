"""Settings of the local Amazon ML service, from command-line flags or environment variables."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from aml_provider.local.faults import FaultPlan
from aml_provider.pages.families import parse_uris

DEFAULT_MAX_BODY_BYTES = 32 * 2**20


def is_loopback(host: str) -> bool:
    """Whether `host` (a name or address) only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _flag(text: str | None) -> bool | None:
    if text is None or not text.strip():
        return None
    return text.strip().lower() in ("1", "true", "yes", "on")


#: Transformed training rows a training job keeps in memory between passes (bytes); beyond, each pass
#: streams them from its scratch files, so a model can train on more data than memory holds.
DEFAULT_TRAINING_MEMORY_BYTES = 384 << 20


#: How job worker processes are scheduled besides their niceness: "nice" (the niceness alone) or "idle"
#: (also Linux's SCHED_IDLE).
JOB_SCHEDULING = ("nice", "idle")
DEFAULT_JOB_SCHEDULING = "idle"


@dataclass(frozen=True)
class ServiceConfig:
    """Everything the service needs to run; every room reads its settings from here."""

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8086
    #: URL clients use to reach this service (EndpointUrl, LogUri, console pages); defaults to host:port.
    public_url: str | None = None
    #: S3 endpoint the service reads and writes data at; None means real S3.
    s3_endpoint_url: str | None = field(default_factory=lambda: os.environ.get("AWS_ENDPOINT_URL_S3"))
    region_name: str = "us-east-1"
    #: Access keys accepted from clients (access key id -> secret); empty means "create one in data_dir".
    access_keys: dict[str, str] = field(default_factory=dict)
    #: Jobs that run at once; more wait in PENDING.
    max_concurrent_jobs: int = 2
    #: How much lower the CPU priority of job worker processes is than the service's (`nice` increment).
    job_niceness: int = field(default_factory=lambda: int(os.environ.get("AML_LOCAL_JOB_NICENESS", "10")))
    #: "idle": job workers also run under Linux's SCHED_IDLE policy, so any request path thread that wakes
    #: preempts them at once, and they get only CPU time nothing else wants; "nice": the niceness alone.
    job_scheduling: str = field(
        default_factory=lambda: os.environ.get("AML_LOCAL_JOB_SCHEDULING", DEFAULT_JOB_SCHEDULING)
    )
    #: Bytes of transformed training rows kept in memory between passes (see DEFAULT_TRAINING_MEMORY_BYTES).
    training_memory_bytes: int = field(
        default_factory=lambda: int(
            os.environ.get("AML_LOCAL_TRAINING_MEMORY_BYTES", str(DEFAULT_TRAINING_MEMORY_BYTES))
        )
    )
    #: Real-time Predict requests per second allowed per endpoint.
    predict_requests_per_second: int = 200
    #: Seconds an endpoint stays UPDATING before it is READY.
    endpoint_mount_seconds: float = 0.0
    #: Server URL templates for CreateDataSourceFromRedshift / FromRDS, by cluster or instance identifier;
    #: the key "*" matches any identifier. "{database}" in a template is replaced by the request's database.
    redshift_servers: dict[str, str] = field(default_factory=lambda: ServiceConfig.default_redshift_servers())
    rds_servers: dict[str, str] = field(default_factory=lambda: ServiceConfig.default_rds_servers())
    #: Largest request body accepted (bytes); larger ones are refused before they are read. The default
    #: holds the largest Amazon ML request (a 16 Mi-character SelectSqlQuery) with room to spare.
    max_body_bytes: int = field(
        default_factory=lambda: int(os.environ.get("AML_LOCAL_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES)))
    )
    #: Whether the console and log pages need credentials; None: only when not bound to loopback.
    console_auth: bool | None = field(default_factory=lambda: _flag(os.environ.get("AML_LOCAL_CONSOLE_AUTH")))
    #: A bearer token the console and log pages accept besides basic auth with an access key pair.
    console_token: str | None = field(default_factory=lambda: os.environ.get("AML_LOCAL_CONSOLE_TOKEN"))
    #: Faults to inject from the start (none by default); changed at run time by AmlLocal.PutFaultPlan.
    faults: FaultPlan = field(default_factory=FaultPlan)
    #: Seconds a stop waits for running jobs; the rest run again at the next start.
    shutdown_timeout: float = 10.0
    #: S3 prefixes (``reports_uri`` of the provider's model families) the console's family pages read.
    families_uris: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            parse_uris(os.environ.get("AML_LOCAL_FAMILIES_URI", ""), "AML_LOCAL_FAMILIES_URI")
        )
    )

    def __post_init__(self) -> None:
        if self.job_scheduling not in JOB_SCHEDULING:
            raise ValueError(
                f"The job scheduling (AML_LOCAL_JOB_SCHEDULING) must be one of {', '.join(JOB_SCHEDULING)}; "
                f"got {self.job_scheduling!r}."
            )

    @staticmethod
    def default_redshift_servers() -> dict[str, str]:
        return {"*": os.environ.get("AML_LOCAL_REDSHIFT_URL", "postgresql://127.0.0.1:5432")}

    @staticmethod
    def default_rds_servers() -> dict[str, str]:
        return {"*": os.environ.get("AML_LOCAL_RDS_URL", "mysql://127.0.0.1:3306")}

    @property
    def pages_need_auth(self) -> bool:
        """Console and log pages require credentials: as configured, else unless bound to loopback."""
        if self.console_auth is not None:
            return self.console_auth
        return not is_loopback(self.host)

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")
