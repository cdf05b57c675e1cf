"""Generated data landed in S3 and models trained, evaluated and batch-predicted by the local service."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aml_provider.family.checks import Check, run_checks
from aml_provider.family.evidence import Evidence, compare_models
from tests.helpers import unique_id, wait_for

TARGET_TYPES = {"BINARY": "BINARY", "MULTICLASS": "CATEGORICAL", "REGRESSION": "NUMERIC"}
#: A recipe's inputs without the informative x2: the champion of a planted better challenger.
WITHOUT_X2 = ["x0", "x1", "color"]


def generate(model_type: str, rows: int, seed: int, informative: float = 1.0) -> pd.DataFrame:
    """Rows `rid, x0, x1, x2, color, y`: y depends on x0, x1, color and (with weight `informative`) x2."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"rid": [f"r{seed}-{i}" for i in range(rows)]})
    for name in ("x0", "x1", "x2"):
        frame[name] = rng.normal(size=rows).round(4)
    frame["color"] = rng.choice(["red", "green", "blue"], size=rows)
    signal = (
        frame["x0"] - 0.8 * frame["x1"] + informative * 1.5 * frame["x2"] + (frame["color"] == "red") * 0.7
    )
    noise = rng.normal(scale=0.7, size=rows)
    if model_type == "BINARY":
        frame["y"] = np.where(signal + noise > 0.3, "yes", "no")
    elif model_type == "MULTICLASS":
        frame["y"] = np.select([signal + noise < -0.5, signal + noise > 0.8], ["low", "high"], "mid")
    else:
        frame["y"] = (3 * signal + noise + 10).round(3)
    return frame


def schema_of(frame: pd.DataFrame, model_type: str, row_id: bool = True) -> dict[str, Any]:
    """Amazon ML's schema for a generated frame (header line, `rid` as rowId when `row_id`)."""
    types = {"rid": "CATEGORICAL", "color": "CATEGORICAL", "y": TARGET_TYPES[model_type]}
    schema: dict[str, Any] = {
        "version": "1.0",
        "dataFormat": "CSV",
        "dataFileContainsHeader": True,
        "targetAttributeName": "y",
        "attributes": [{"attributeName": n, "attributeType": types.get(n, "NUMERIC")} for n in frame.columns],
    }
    if row_id:
        schema["rowId"] = "rid"
    return schema


def land(s3: Any, bucket: str, frames: list[pd.DataFrame], name: str = "data") -> str:
    """One frame as an object, several as the files of a prefix; answer the object's URI or the prefix."""
    prefix = unique_id(name)
    for i, frame in enumerate(frames):
        key = f"{prefix}/part-{i}.csv" if len(frames) > 1 else f"{prefix}/{name}.csv"
        s3.put_object(Bucket=bucket, Key=key, Body=frame.to_csv(index=False).encode())
    return f"s3://{bucket}/{prefix}/" if len(frames) > 1 else f"s3://{bucket}/{prefix}/{name}.csv"


def data_source(ml: Any, uri: str, schema: dict[str, Any]) -> str:
    """A COMPLETED S3 data source with statistics."""
    data_source_id = unique_id("ds")
    ml.create_data_source_from_s3(
        DataSourceId=data_source_id,
        DataSpec={"DataLocationS3": uri, "DataSchema": json.dumps(schema)},
        ComputeStatistics=True,
    )
    assert wait_for(ml, "DataSource", data_source_id)["Status"] == "COMPLETED"
    return data_source_id


def train(ml: Any, data_source_id: str, model_type: str, inputs: list[str] | None = None) -> str:
    """A model trained with the default recipe, or with a recipe using only `inputs` (as they are)."""
    model_id = unique_id("ml")
    recipe = {"Recipe": json.dumps({"outputs": inputs})} if inputs else {}
    ml.create_ml_model(
        MLModelId=model_id, MLModelType=model_type, TrainingDataSourceId=data_source_id, **recipe
    )
    return model_id


def evaluate(ml: Any, model_id: str, data_source_id: str) -> dict[str, Any]:
    """The COMPLETED evaluation of the model on the data source."""
    evaluation_id = unique_id("ev")
    ml.create_evaluation(
        EvaluationId=evaluation_id, MLModelId=model_id, EvaluationDataSourceId=data_source_id
    )
    evaluation = wait_for(ml, "Evaluation", evaluation_id)
    assert evaluation["Status"] == "COMPLETED", evaluation.get("Message")
    return evaluation


def batch_predict(ml: Any, bucket: str, model_id: str, data_source_id: str, role: str) -> dict[str, str]:
    """A COMPLETED batch prediction of the data source, as a contestant of `compare_models`."""
    batch_id, output_uri = unique_id("bp"), f"s3://{bucket}/{unique_id('out')}/"
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=data_source_id,
        OutputUri=output_uri,
    )
    batch = wait_for(ml, "BatchPrediction", batch_id)
    assert batch["Status"] == "COMPLETED", batch.get("Message")
    return {"role": role, "ml_model_id": model_id, "batch_prediction_id": batch_id, "output_uri": output_uri}


@dataclass
class Day:
    evidence: Evidence
    checks: list[Check]


def run_day(
    ml: Any,
    s3: Any,
    bucket: str,
    model_type: str,
    challenger: pd.DataFrame,
    champion: pd.DataFrame | None = None,
    champion_inputs: list[str] | None = None,
    fresh: pd.DataFrame | None = None,
) -> Day:
    """Train the challenger (and the champion), batch-predict fresh rows with both, compare, check."""
    fresh = generate(model_type, 1000, seed=99) if fresh is None else fresh
    schema = schema_of(fresh, model_type)
    fresh_uri = land(s3, bucket, [fresh], "fresh")
    fresh_id = data_source(ml, fresh_uri, schema)
    trainings = {"challenger": (challenger, None), "champion": (champion, champion_inputs)}
    contestants, uris = [], {}
    for role, (frame, inputs) in trainings.items():
        if frame is not None:
            uris[role] = land(s3, bucket, [frame], role)
            model_id = train(ml, data_source(ml, uris[role], schema), model_type, inputs)
            contestants.append(batch_predict(ml, bucket, model_id, fresh_id, role))
    evidence = compare_models(
        s3, model_type=model_type, evaluation_data_uri=fresh_uri, schema=schema, contestants=contestants
    )
    reference = [uris["champion"]] if "champion" in uris else None
    checks = run_checks(
        s3, schema=schema, fresh_uri=fresh_uri, training_uris=[uris["challenger"]], reference_uris=reference
    )
    return Day(evidence, checks)
