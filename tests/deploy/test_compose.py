"""docker-compose.yml, checked without a Docker engine: the official topology, healthchecks, health-gated
start order, secrets only from .env, ports on 127.0.0.1, nothing installed at start; the Dockerfile on
the official image of the lock's Airflow version."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.stack import AIRFLOW_COMPONENTS

REPOSITORY = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = {
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
    "airflow-worker": "celery worker",
}
ONE_SHOT = {"airflow-init"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|_KEY\b|KEY_ID")
VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((REPOSITORY / "docker-compose.yml").read_text())
    return document


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose["services"]
    return found


def env_example() -> dict[str, str]:
    """Variables that .env.example sets or documents (as `# NAME=default`)."""
    pairs = re.findall(
        r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$", (REPOSITORY / ".env.example").read_text(), re.MULTILINE
    )
    return dict(pairs)


def strings(value: Any) -> list[str]:
    """Every string inside a YAML value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in strings(item)]
    return []


def test_the_official_topology_with_the_provider_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {
        "postgres",
        "redis",
        "s3",
        "aml",
        "redshift",
        "rds",
        *ONE_SHOT,
        *AIRFLOW_SERVICES,
    }
    assert {name: services[name]["command"] for name in AIRFLOW_SERVICES} == AIRFLOW_SERVICES
    assert set(AIRFLOW_SERVICES.values()) == set(AIRFLOW_COMPONENTS)  # as the native stack test runs them
    assert services["redshift"]["profiles"] == services["rds"]["profiles"] == ["databases"]
    assert all("profiles" not in services[name] for name in set(services) - {"redshift", "rds"})


def test_airflow_services_share_x_airflow_common(compose: dict[str, Any], services: dict[str, Any]) -> None:
    common = compose["x-airflow-common"]
    assert common["build"] == "."
    for name in [*AIRFLOW_SERVICES, *ONE_SHOT]:
        environment = services[name]["environment"]
        assert environment["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert environment["AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE"] == "true", name
        assert environment["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://"), name
        assert environment["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://"), name
        assert services[name]["image"] == common["image"], name


def test_every_service_has_a_healthcheck_and_starts_after_healthy_dependencies(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no"
            continue
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
    for name, service in services.items():
        for dependency, rule in service.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dependency in ONE_SHOT else "service_healthy"
            assert rule["condition"] == expected, f"{name} -> {dependency}"
            assert dependency in services
    assert {"postgres", "redis", "airflow-init"} <= set(services["airflow-scheduler"]["depends_on"])
    assert "aml" in services["airflow-worker"]["depends_on"]


def test_secrets_come_from_env_and_every_variable_is_documented(services: dict[str, dict[str, Any]]) -> None:
    documented = env_example()
    text = (REPOSITORY / "docker-compose.yml").read_text()
    for name, default in ((m[0], m[2]) for m in VARIABLE.findall(text) if m[1] == "-"):
        assert name in documented, f"${{{name}}} is not in .env.example"
        assert not SECRET_NAME.search(name), f"secret {name} has a default ({default}) in the compose file"
    required = {match[0] for match in VARIABLE.findall(text) if match[1] == "?"}
    assert required >= {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD"}
    assert all(documented.get(name) == "" for name in required), (
        "a required secret has a value in .env.example"
    )
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key) and not key.endswith("_FILE"):
                assert VARIABLE.fullmatch(str(value)), f"{name}: {key} is not taken from .env"
        for value in strings(service.get("environment")):
            assert not re.search(r"://[^:/@\s]+:[^$@\s][^@\s]*@", value), f"{name}: a password in {value}"


def test_ports_are_bound_to_loopback_and_nothing_is_installed_at_start(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"
        for text in strings({key: service.get(key) for key in ("command", "entrypoint", "environment")}):
            assert "pip install" not in text, name
            assert "_PIP_ADDITIONAL_REQUIREMENTS" not in text, name


def test_the_local_service_has_a_public_url_apart_from_the_internal_one(services: dict[str, Any]) -> None:
    command = services["aml"]["command"]
    assert "--public-url=${AML_LOCAL_PUBLIC_URL:-http://aml.localhost:8086}" in command
    assert "aml.localhost" in services["aml"]["networks"]["default"]["aliases"]
    init = services["airflow-init"]["command"][-1]
    assert '"machinelearning": {"endpoint_url": "http://aml:8086"}' in init  # workers use the internal name


def test_the_dockerfile_builds_on_the_official_image_of_the_locked_airflow() -> None:
    dockerfile = (REPOSITORY / "Dockerfile").read_text()
    locked = re.search(
        r"^apache-airflow==(\S+)$", (REPOSITORY / "requirements.lock").read_text(), re.MULTILINE
    )
    assert locked is not None
    assert f"ARG AIRFLOW_VERSION={locked[1]}" in dockerfile
    assert "FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile
    assert "-c /opt/aml-provider/requirements.lock" in dockerfile
    assert "[local,celery]" in dockerfile
