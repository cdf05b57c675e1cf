# Airflow with this provider, on the official image: everything is installed at build time, nothing
# when a container starts. AIRFLOW_VERSION matches apache-airflow in requirements.lock.
#
#   docker compose build        (or: docker build -t aml-provider-airflow .)
ARG AIRFLOW_VERSION=3.3.2
ARG PYTHON_VERSION=3.11

# The provider's wheel, built from this source tree.
FROM python:${PYTHON_VERSION}-slim AS wheel
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY aml_provider ./aml_provider
RUN pip install --no-cache-dir --disable-pip-version-check build==1.* \
    && python -m build --wheel --outdir /dist

# The slim official image brings Airflow alone; the wheel's extras bring the rest at the lock's versions:
# [celery] the CeleryExecutor on PostgreSQL and Redis, [local] the local Amazon ML service and S3.
FROM apache/airflow:slim-${AIRFLOW_VERSION}-python${PYTHON_VERSION}
ARG AIRFLOW_VERSION
COPY requirements.lock /opt/aml-provider/requirements.lock
COPY --from=wheel /dist/ /opt/aml-provider/dist/
RUN pip install --no-cache-dir --disable-pip-version-check \
        -c /opt/aml-provider/requirements.lock \
        "apache-airflow==${AIRFLOW_VERSION}" \
        "$(ls /opt/aml-provider/dist/aml_provider-*.whl)[local,celery]" \
    && pip check
COPY dags/ /opt/airflow/dags/
# Owned by the airflow user, so that the compose file's named volumes start out writable by it.
RUN mkdir -p /opt/airflow/config /opt/airflow/aml-local
