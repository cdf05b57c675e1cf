"""The native full stack, in the topology of docker-compose.yml: Airflow's api-server, scheduler,
dag-processor, triggerer and a Celery worker as separate processes on the machine's PostgreSQL (a
database of its own) and Redis (a db number of its own), plus the local Amazon ML service and S3.

``make stack`` (``python -m tests.deploy.stack``) starts it, lands the demo's data and waits for Ctrl-C;
``tests/deploy/test_stack.py`` drives it through the REST API.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import secrets
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3

from aml_provider import demo
from tests.deploy.processes import ProcessGroups, http_ok, wait_until
from tests.deploy.venvs import clean_env
from tests.helpers import free_port

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: Airflow's components, each its own process here and its own service in docker-compose.yml.
AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer", "celery worker")
POSTGRES = os.environ.get("AML_STACK_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("AML_STACK_REDIS", "redis://127.0.0.1:6379")
ADMIN = "admin"


class NativeStack:
    """Start with ``with NativeStack(root) as stack:``; everything started ends with the block."""

    def __init__(
        self, root: Path, heartbeat_timeout: int = 300, waiter_delay: float = 1.0, scheduled_runs: bool = True
    ) -> None:
        self.root = root
        self.scheduled_runs = scheduled_runs
        self.heartbeat_timeout = heartbeat_timeout
        self.waiter_delay = waiter_delay
        self.name = f"aml_stack_{uuid.uuid4().hex[:10]}"
        self.groups = ProcessGroups(root / "logs")
        self.password = secrets.token_urlsafe(16)
        self.key_id, self.secret = f"AKSTACK{secrets.token_hex(6).upper()}", secrets.token_urlsafe(24)
        self.api_port, self.aml_port, self.s3_port = free_port(), free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.aml_url = f"http://127.0.0.1:{self.aml_port}"
        self.s3_url = f"http://127.0.0.1:{self.s3_port}"
        #: Where Airflow's aws_default connection sends Amazon ML calls (the service, or a proxy before it).
        self.ml_endpoint = self.aml_url
        self.redis_db: int | None = None
        self.database_created = False
        self._token: str | None = None

    # Start and stop

    def __enter__(self) -> NativeStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def start(self) -> None:
        self.create_database()
        self.redis_db = claim_redis_db(self.name)
        self.start_service()
        self.write_passwords()
        migrate = self.groups.start("db-migrate", [str(BIN / "airflow"), "db", "migrate"], self.env)
        if migrate.popen.wait(timeout=300) != 0:
            raise AssertionError(f"airflow db migrate failed:\n{migrate.tail()}")
        self.groups.processes.pop("db-migrate")
        for component in AIRFLOW_COMPONENTS:
            self.start_component(component)
        wait_until(self.healthy, 240, "Airflow's components to report healthy", interval=1)

    def start_component(self, component: str) -> None:
        extra = {
            "api-server": ["--port", str(self.api_port), "--workers", "1"],
            "celery worker": ["--concurrency", "4", "--celery-hostname", f"{self.name}@%h"],
        }.get(component, [])
        name = component.replace(" ", "-")
        self.groups.start(name, [str(BIN / "airflow"), *component.split(), *extra], self.env)

    def close(self) -> None:
        """Stop every process group, drop the database, empty the Redis db; answer nothing left behind."""
        self.groups.stop()
        if self.redis_db is not None:
            redis_client(self.redis_db).flushdb()
            self.redis_db = None
        if self.database_created:
            with postgres_admin() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.database_created = False

    def create_database(self) -> None:
        with postgres_admin() as cursor:
            cursor.execute(f'CREATE DATABASE "{self.name}"')
        self.database_created = True

    def start_service(self) -> None:
        argv = [
            str(BIN / "aml-local"),
            "serve",
            "--port",
            str(self.aml_port),
            "--local-s3",
            str(self.s3_port),
        ]
        argv += ["--data-dir", str(self.root / "aml-local"), "--access-key-id", self.key_id]
        argv += ["--secret-access-key", self.secret]
        self.groups.start("aml-local", argv, clean_env())
        wait_until(lambda: self.groups.check_running() and http_ok(self.aml_url + "/health"), 60, "aml-local")

    def write_passwords(self) -> None:
        (self.root / "airflow").mkdir(parents=True, exist_ok=True)
        (self.root / "airflow" / "passwords.json").write_text(json.dumps({ADMIN: self.password}))

    @property
    def env(self) -> dict[str, str]:
        """Settings of every Airflow process (those of docker-compose.yml, on this machine's servers)."""
        database = f"{POSTGRES}/{self.name}"
        home = self.root / "airflow"
        fernet = base64.urlsafe_b64encode(self.name.encode().ljust(32, b"k")[:32]).decode()
        return clean_env(
            AIRFLOW_HOME=str(home),
            AIRFLOW__CORE__DAGS_FOLDER=str(REPOSITORY / "dags"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
            AIRFLOW__CORE__PARALLELISM="8",
            AIRFLOW__CORE__FERNET_KEY=fernet,
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=f"{ADMIN}:admin",
            AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=str(home / "passwords.json"),
            AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=database.replace(
                "postgresql://", "postgresql+psycopg2://", 1
            ),
            AIRFLOW__CELERY__BROKER_URL=f"{REDIS}/{self.redis_db}",
            AIRFLOW__CELERY__RESULT_BACKEND=f"db+{database}",
            AIRFLOW__API__BASE_URL=self.api_url,
            AIRFLOW__API__SECRET_KEY=self.name,
            AIRFLOW__API_AUTH__JWT_SECRET=self.name + "-jwt",
            AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"{self.api_url}/execution/",
            AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE="True",
            AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=str(free_port()),
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT=str(self.heartbeat_timeout),
            AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL="5",
            AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="10",
            AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE=str(self.scheduled_runs),
            AML_DAGS_WAITER_DELAY=str(self.waiter_delay),
            AIRFLOW_CONN_AWS_DEFAULT=json.dumps(self.aws_connection),
        )

    @property
    def aws_connection(self) -> dict[str, Any]:
        return {
            "conn_type": "aws",
            "login": self.key_id,
            "password": self.secret,
            "extra": {
                "region_name": "us-east-1",
                "service_config": {
                    "machinelearning": {"endpoint_url": self.ml_endpoint},
                    "s3": {"endpoint_url": self.s3_url},
                },
            },
        }

    # Using it

    def healthy(self) -> bool:
        """Whether the API server answers and reports scheduler, triggerer and dag-processor healthy."""
        self.groups.check_running()
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v2/monitor/health", timeout=5) as response:
                health = json.load(response)
        except OSError:
            return False
        parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
        return all((health.get(part) or {}).get("status") == "healthy" for part in parts)

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call Airflow's REST API (``/api/v2``) with a bearer token from ``/auth/token``."""
        headers = {"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.api_url}/api/v2{path}", data, headers, method=method)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until the dag-processor has parsed `dag_id` (the API answers 404 before)."""

        def parsed() -> bool:
            try:
                return bool(self.api("GET", f"/dags/{dag_id}"))
            except urllib.error.HTTPError as error:
                if error.code != 404:
                    raise
                return False

        wait_until(parsed, timeout, f"the dag-processor to parse {dag_id}", interval=1)

    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": ADMIN, "password": self.password}).encode()
            request = urllib.request.Request(
                f"{self.api_url}/auth/token", body, {"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                self._token = json.load(response)["access_token"]
        return self._token

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """The run's task instances straight from the metadata database (also while the API is busy)."""
        import psycopg2
        import psycopg2.extras

        with psycopg2.connect(f"{POSTGRES}/{self.name}", connect_timeout=5) as connection:
            cursor = connection.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
            cursor.execute(
                "SELECT task_id, operator, state, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s",
                (dag_id, run_id),
            )
            rows = [dict(row) for row in cursor.fetchall()]
        connection.close()
        return rows

    def client(self, service: str) -> Any:
        return boto3.session.Session().client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.aml_url if service == "machinelearning" else self.s3_url,
            region_name="us-east-1",
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def land_demo_data(self) -> None:
        """The demo's landed partitions, schemas and records to score, where the DAGs look."""
        s3 = self.client("s3")
        s3.create_bucket(Bucket=demo.BUCKET)
        s3.put_object(Bucket=demo.BUCKET, Key="schema/customers.csv.schema", Body=demo.schema(True).encode())
        s3.put_object(Bucket=demo.BUCKET, Key="schema/to-score.csv.schema", Body=demo.schema(False).encode())
        scored = demo.without_target(demo.customers(500, 99, regime=1))
        s3.put_object(Bucket=demo.BUCKET, Key="to-score/customers.csv", Body=scored.encode())
        demo.land(s3)


def postgres_admin() -> Any:
    """A cursor on the server's `postgres` database, in autocommit (CREATE/DROP DATABASE)."""
    import psycopg2

    @contextlib.contextmanager
    def cursor() -> Any:
        connection = psycopg2.connect(f"{POSTGRES}/postgres", connect_timeout=5)
        connection.autocommit = True
        try:
            with connection.cursor() as cur:
                yield cur
        finally:
            connection.close()

    return cursor()


def redis_client(db: int) -> Any:
    import redis

    return redis.Redis.from_url(f"{REDIS}/{db}", socket_timeout=5)


def claim_redis_db(name: str) -> int:
    """An empty Redis db number (1-15), claimed with a marker key so that other stacks pass it by."""
    for db in secrets.SystemRandom().sample(range(1, 16), 15):
        client = redis_client(db)
        if client.dbsize() == 0 and client.set("aml-stack-owner", name, nx=True):
            return db
    raise RuntimeError(f"no empty Redis db at {REDIS}")


def main() -> int:
    """`make stack`: start the stack, land the demo's data, print how to reach it, wait for Ctrl-C."""
    root = Path(tempfile.mkdtemp(prefix="aml-stack-"))
    with NativeStack(root, waiter_delay=5) as stack:
        stack.land_demo_data()
        conf = {
            "smoke_record": demo.SMOKE,
            "training_window": 1,
            "missing_partition": "skip",
            "endpoint_grace": 0,
        }
        print(
            f"Airflow: {stack.api_url} (user {ADMIN}, password {stack.password})\n"
            f"Local Amazon ML: {stack.aml_url}/console   local S3: {stack.s3_url}\n"
            f"Access key: {stack.key_id} / {stack.secret}\n"
            f"Logs: {stack.groups.log_dir}\n"
            f"Unpause aml_retrain and trigger it for 2026-11-04 in the UI, with conf {json.dumps(conf)}\n"
            "Ctrl-C stops everything.",
            flush=True,
        )
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
