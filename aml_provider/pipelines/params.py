"""The Params of the retrain DAG, each with a description for the trigger form."""

from __future__ import annotations

from airflow.sdk import Param

from aml_provider.family.partitions import DEFAULT_PARTITION
from aml_provider.pipelines.common import (
    family_param,
)


def retrain_params(family: str, data_uri: str, schema_uri: str, model_type: str) -> dict[str, Param]:
    return {
        "family": family_param(family),
        "data_uri": Param(data_uri, type="string", description="S3 prefix the partitions land under"),
        "partition_template": Param(
            DEFAULT_PARTITION,
            type="string",
            description="strftime pattern of one partition below data_uri (one folder per day by default)",
        ),
        "layout": Param(
            "partitions",
            enum=["partitions", "holdout"],
            description="partitions: dated folders (out of time); holdout: undated files, rows split by hash",
        ),
        "holdout_percent": Param(
            20, type="number", exclusiveMinimum=0, maximum=50, description="Evaluation share of the hold-out"
        ),
        "missing_partition": Param(
            "fail", enum=["fail", "skip"], description="When the run's partition has not landed: fail or skip"
        ),
        "schema_uri": Param(schema_uri, type="string", description="S3 URI of the data's Amazon ML schema"),
        "model_type": Param(
            model_type, enum=["BINARY", "MULTICLASS", "REGRESSION"], description="Model type"
        ),
        "training_window": Param(
            7,
            type="integer",
            minimum=0,
            description="Partitions before the evaluation one to train on (0: all)",
        ),
        "training_parameters": Param(
            {"sgd.maxPasses": "10", "sgd.shuffleType": "auto"},
            type="object",
            description="Amazon ML training parameters of the challenger",
        ),
        "recipe": Param(
            None, type=["null", "object"], description="Recipe of the challenger (null: default)"
        ),
        "min_improvement": Param(
            0.0,
            type="number",
            description="Improvement (metric units) the interval's lower bound must exceed",
        ),
        "confidence": Param(
            0.95,
            type="number",
            exclusiveMinimum=0,
            exclusiveMaximum=1,
            description="Confidence of the intervals",
        ),
        "floor": Param(
            None,
            type=["null", "number"],
            description="Metric any model must reach to serve (null: beat Amazon ML's baseline with confidence)",
        ),
        "min_rows": Param(
            100, type="integer", minimum=1, description="Fewest rows for training and evaluation"
        ),
        "checks": Param(
            {}, type="object", description="Data check name -> warn, fail or off (others keep their default)"
        ),
        "smoke_record": Param({}, type="object", description="Record predicted before a new champion serves"),
        "score_threshold": Param(
            None, type=["null", "number"], description="Champion ScoreThreshold (null: carry the current one)"
        ),
        "endpoint_grace": Param(
            600, type="number", minimum=0, description="Seconds the old champion's endpoint stays up"
        ),
        "keep_runs": Param(3, type="integer", minimum=1, description="Newest challengers kept by clean-up"),
        "cleanup_dry_run": Param(
            False, type="boolean", description="Clean-up only lists what it would delete"
        ),
    }
