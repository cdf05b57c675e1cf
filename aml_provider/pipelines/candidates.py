"""The challenger of a retrain run: one model, or the best of several candidates on a validation share."""

from __future__ import annotations

from typing import Any, cast

from airflow.sdk import task

from aml_provider.operators import (
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
)
from aml_provider.pipelines.common import (
    NAME,
    PLANNED,
    data_source,
    output,
)


def build_challenger(
    family: str, candidates: list[dict[str, Any]] | None, checks: Any
) -> tuple[Any, list[Any], Any]:
    """The challenger's ID, the data sources it used, and the evidence of the candidates that lost."""
    if not candidates or len(candidates) < 2:
        training_data = data_source("training_data", PLANNED.format("training_uri"), "training")
        checks >> training_data
        model = _training(AmlCreateMLModelOperator, "train_challenger", training_data, "challenger")(
            parameters=cast("Any", "{{ params.training_parameters }}"), recipe="{{ params.recipe or None }}"
        )
        return output(model), [output(training_data)], {}
    share = {
        "percentBegin": 0,
        "percentEnd": 80,
        "strategy": "random",
        "strategyParams": {"randomSeed": family},
    }
    training_data = data_source("training_data", PLANNED.format("training_uri"), "training", share)
    validation_data = data_source(
        "validation_data", PLANNED.format("training_uri"), "validation", {**share, "complement": True}
    )
    checks >> [training_data, validation_data]
    trained = _training(
        AmlCreateMLModelOperator.partial, "train_candidates", training_data, "candidate"
    )().expand_kwargs(
        [{"parameters": c.get("parameters") or {}, "recipe": c.get("recipe")} for c in candidates]
    )
    validated = AmlCreateEvaluationOperator.partial(
        task_id="validate_candidates",
        evaluation_data_source_id=output(validation_data),
        evaluation_name=NAME + "validation",
    ).expand(ml_model_id=output(trained))

    @task(multiple_outputs=True)
    def choose_challenger(results: Any) -> dict[str, Any]:
        """The candidate with the best metric on the validation share (never the evaluation partition)."""
        listed = [results[index] for index in range(len(results))]
        sign = 1 if listed[0]["higher_is_better"] else -1
        best = max(listed, key=lambda result: sign * result["metric_value"])
        print(
            f"Candidates on the validation share: {[(r['ml_model_id'], r['metric_value']) for r in listed]}"
        )
        return {
            "ml_model_id": best["ml_model_id"],
            "evidence": {
                "ml_models": [r["ml_model_id"] for r in listed if r is not best],
                "evaluations": [r["evaluation_id"] for r in listed],
            },
        }

    chosen: Any = choose_challenger(output(validated))
    return chosen["ml_model_id"], [output(training_data), output(validation_data)], chosen["evidence"]


def _training(factory: Any, task_id: str, training_data: Any, part: str) -> Any:
    """The model operator (or its partial) with what every challenger's training shares."""

    def build(**kwargs: Any) -> Any:
        return factory(
            task_id=task_id,
            ml_model_type="{{ params.model_type }}",
            training_data_source_id=output(training_data),
            ml_model_name=NAME + part,
            **kwargs,
        )

    return build
