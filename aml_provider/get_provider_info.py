"""Provider metadata Airflow reads through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

from aml_provider import __version__

INTEGRATION = "Amazon Machine Learning"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow; it reuses the amazon provider's ``aws`` connection type."""
    return {
        "package-name": "aml-provider",
        "name": "Amazon Machine Learning",
        "description": "Apache Airflow provider for Amazon Machine Learning, with a local Amazon ML service",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://docs.aws.amazon.com/machine-learning/latest/dg/",
                "tags": ["aws"],
            }
        ],
        "hooks": [{"integration-name": INTEGRATION, "python-modules": ["aml_provider.hooks.aml"]}],
        "operators": [
            {
                "integration-name": INTEGRATION,
                "python-modules": [
                    "aml_provider.operators.base",
                    "aml_provider.operators.datasources",
                    "aml_provider.operators.aml",
                    "aml_provider.operators.entities",
                    "aml_provider.operators.family",
                    "aml_provider.operators.champion",
                ],
            }
        ],
        "sensors": [{"integration-name": INTEGRATION, "python-modules": ["aml_provider.sensors.aml"]}],
        "triggers": [{"integration-name": INTEGRATION, "python-modules": ["aml_provider.triggers.aml"]}],
        "extra-links": [
            "aml_provider.links.aml.AmlDataSourceLink",
            "aml_provider.links.aml.AmlMLModelLink",
            "aml_provider.links.aml.AmlEvaluationLink",
            "aml_provider.links.aml.AmlBatchPredictionLink",
            "aml_provider.links.family.AmlDecisionReportLink",
            "aml_provider.links.family_page.AmlFamilyPageLink",
        ],
    }
