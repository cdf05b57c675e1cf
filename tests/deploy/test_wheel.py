"""The wheel without extras, as a team installs it into its own Airflow: Airflow lists the provider, its
DAGs import, and its operators run against the local service started from a second venv with [local]."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.airflow.data import SCHEMA, labelled_rows
from tests.deploy.processes import ProcessGroups, http_ok, wait_until
from tests.deploy.venvs import REPOSITORY, build_wheel, clean_env, make_venv, run
from tests.helpers import free_port

pytestmark = pytest.mark.deploy

KEY, SECRET = "wheel-test-key", "wheel-test-secret"

# Runs in the venv without extras: three operators (one deferring, its trigger run inline by dag.test).
OPERATOR_RUN = """
import json, os, sys
from airflow.dag_processing.bundles.manager import DagBundlesManager
from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
from airflow.sdk import DAG
from airflow.utils.db import resetdb
from aml_provider.operators import (
    AmlCreateDataSourceFromS3Operator, AmlCreateEvaluationOperator, AmlCreateMLModelOperator,
)

resetdb()
data_uri, schema = sys.argv[1], sys.argv[2]
with DAG("wheel_operators", schedule=None, default_args={"waiter_delay": 0.5}) as dag:
    data = AmlCreateDataSourceFromS3Operator(task_id="data", data_location_s3=data_uri, data_schema=schema)
    model = AmlCreateMLModelOperator(
        task_id="train", ml_model_type="BINARY", training_data_source_id=data.output, deferrable=True
    )
    AmlCreateEvaluationOperator(task_id="evaluate", ml_model_id=model.output, evaluation_data_source_id=data.output)
DagBundlesManager().sync_bundles_to_db()
bag = DagBag(dag_folder=os.devnull)
bag.bag_dag(dag)
sync_bag_to_db(bag, "dags-folder", None)
run = dag.test()
print(json.dumps({"state": str(run.state), "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()}}))
"""

DAGBAG = """
import json, sys
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"dags": sorted(bag.dags), "errors": {k: str(v) for k, v in bag.import_errors.items()}}))
"""


@pytest.fixture(scope="module")
def venvs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`bin` folders of two fresh venvs: the wheel alone, and the wheel with [local]."""
    root = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(root / "dist")
    return make_venv(root / "core", wheel), make_venv(root / "local", wheel, "local")


@pytest.fixture(scope="module")
def service(venvs: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """`aml-local serve --local-s3` from the [local] venv; answers its and its S3's URLs."""
    root = tmp_path_factory.mktemp("service")
    port, s3_port = free_port(), free_port()
    groups = ProcessGroups(root / "logs")
    groups.start(
        "aml-local",
        [str(venvs[1] / "aml-local"), "serve", "--port", str(port), "--local-s3", str(s3_port)]
        + ["--data-dir", str(root / "data"), "--access-key-id", KEY, "--secret-access-key", SECRET],
        clean_env(),
    )
    urls = {"aml": f"http://127.0.0.1:{port}", "s3": f"http://127.0.0.1:{s3_port}"}
    try:
        wait_until(lambda: groups.check_running() and http_ok(urls["aml"] + "/health"), 60, "aml-local serve")
        yield urls
    finally:
        assert groups.stop() == [], "aml-local did not stop on SIGTERM"


def client(service: str, url: str) -> Any:
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )


def last_json(output: str) -> Any:
    """The JSON document a script printed last (Airflow logs to stdout before it)."""
    return json.loads(output.strip().splitlines()[-1])


def airflow_env(home: Path, **variables: str) -> dict[str, str]:
    return clean_env(AIRFLOW_HOME=str(home), AIRFLOW__CORE__LOAD_EXAMPLES="False", **variables)


def test_the_wheel_without_extras_is_the_provider_alone(venvs: tuple[Path, Path]) -> None:
    core = venvs[0]
    probe = "import importlib.util as u; print([m for m in ('moto', 'pymysql', 'regex') if u.find_spec(m)])"
    assert run([str(core / "python"), "-c", probe]).stdout.strip() == "[]"
    cli = run([str(core / "aml-local"), "serve"], check=False)
    assert cli.returncode == 2
    assert "install aml-provider[local] to run the local service" in cli.stderr
    assert "Traceback" not in cli.stderr
    library = run([str(core / "python"), "-c", "from aml_provider.local import LocalAml"], check=False)
    assert "MissingExtraError: install aml-provider[local] to run the local service" in library.stderr


def test_airflow_lists_the_provider_and_imports_its_dags(venvs: tuple[Path, Path], tmp_path: Path) -> None:
    env = airflow_env(tmp_path / "airflow")
    providers = json.loads(run([str(venvs[0] / "airflow"), "providers", "list", "-o", "json"], env).stdout)
    assert "aml-provider" in {provider["package_name"] for provider in providers}
    bag = last_json(run([str(venvs[0] / "python"), "-c", DAGBAG, str(REPOSITORY / "dags")], env).stdout)
    assert bag["errors"] == {}
    assert {"aml_retrain", "aml_batch_score", "aml_rollback"} <= set(bag["dags"])
    plugins = json.loads(run([str(venvs[0] / "airflow"), "plugins", "-o", "json"], env).stdout)
    assert "amazon_ml" in {plugin["name"] for plugin in plugins}  # the UI plugin needs no [local]


def test_operators_from_the_wheel_run_against_the_service_from_local(
    venvs: tuple[Path, Path], service: dict[str, str], tmp_path: Path
) -> None:
    s3, ml = client("s3", service["s3"]), client("machinelearning", service["aml"])
    s3.create_bucket(Bucket="wheel-test")
    s3.put_object(Bucket="wheel-test", Key="train.csv", Body=labelled_rows(200).encode())
    connection = {
        "conn_type": "aws",
        "login": KEY,
        "password": SECRET,
        "extra": {
            "region_name": "us-east-1",
            "service_config": {
                "machinelearning": {"endpoint_url": service["aml"]},
                "s3": {"endpoint_url": service["s3"]},
            },
        },
    }
    env = airflow_env(tmp_path / "airflow", AIRFLOW_CONN_AWS_DEFAULT=json.dumps(connection))
    argv = [str(venvs[0] / "python"), "-c", OPERATOR_RUN, "s3://wheel-test/train.csv", json.dumps(SCHEMA)]
    result = last_json(run(argv, env).stdout)
    assert result == {
        "state": "success",
        "tasks": {"data": "success", "train": "success", "evaluate": "success"},
    }
    models = ml.describe_ml_models()["Results"]
    assert [model["Status"] for model in models] == ["COMPLETED"]
    evaluation = ml.describe_evaluations()["Results"][0]
    assert float(evaluation["PerformanceMetrics"]["Properties"]["BinaryAUC"]) > 0.9
