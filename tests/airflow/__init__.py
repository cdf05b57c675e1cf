"""Tests of the Airflow provider, in real DAGs against the local service."""
