"""The training job: recipe -> features (one pass, cached on disk) -> linear model -> pruned, pickled model."""

from __future__ import annotations

import copy
import pickle
import shutil
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aml_provider.local.data import DataSourceReader, Schema, open_datasource, parse_binary, parse_numeric
from aml_provider.local.data.values import objects
from aml_provider.local.errors import InvalidInputException, JobFailed
from aml_provider.local.jobs.context import JobContext
from aml_provider.local.learners import (
    BINARY,
    MULTICLASS,
    REGRESSION,
    FeatureCache,
    LinearModel,
    TrainingParameters,
    parse_training_parameters,
    train_linear,
)
from aml_provider.local.recipes import FeaturePipeline, default_recipe, parse_recipe

#: Model-size pruning: at most this many rounds and seconds, aiming a little under the cap.
PRUNING_ROUNDS = 12
PRUNING_SECONDS = 60.0
PRUNING_TARGET = 0.97

MAX_CLASSES = 100
TARGET_TYPE = {BINARY: "BINARY", MULTICLASS: "CATEGORICAL", REGRESSION: "NUMERIC"}
LIKELIHOOD = {BINARY: "logreg", MULTICLASS: "multinomial-logreg", REGRESSION: "squared-error"}
MODEL_FILE = "model.pkl"


@dataclass
class TrainedModel:
    """What model.pkl holds: the schema, the fitted feature pipeline, the linear model and its classes."""

    model_type: str
    schema: Schema
    pipeline: FeaturePipeline
    model: LinearModel
    classes: list[str]  # BINARY ["0", "1"]; MULTICLASS the labels (score columns); REGRESSION []
    baseline: float | str  # training target mean (REGRESSION) or most frequent class (MULTICLASS)
    training_datasource_id: str
    training_records: int

    def outputs(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """Scores of raw rows: P(1) (BINARY), class probabilities (MULTICLASS) or values (REGRESSION)."""
        return self.model.scores(self.pipeline.transform(columns))


def load_trained_model(model_artifacts: Path) -> TrainedModel:
    with (model_artifacts / MODEL_FILE).open("rb") as handle:
        trained = pickle.load(handle)
    if not isinstance(trained, TrainedModel):
        raise JobFailed(f"{model_artifacts / MODEL_FILE} does not hold a trained model.")
    return trained


def score_threshold(model: dict[str, Any]) -> float:
    """The model's current ScoreThreshold (0.5 when it has none)."""
    value = model.get("ScoreThreshold")
    return 0.5 if value is None else float(value)


def require_inputs(trained: TrainedModel, schema: Schema, source_id: str, use: str) -> None:
    """Fail unless the datasource's schema has every attribute the model reads (missing ones would be blank)."""
    names = set(schema.names)
    missing = [name for name in trained.schema.feature_names if name not in names]
    if missing:
        raise JobFailed(
            f"DataSource '{source_id}' does not match the model's schema: it lacks the attribute(s) "
            f"{', '.join(repr(m) for m in missing)}; {use} with data of the same schema as the training data."
        )


def encode_target(model_type: str, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Targets as the learner needs them (0/1, stripped label, value) and the mask of rows that have one."""
    if model_type == BINARY:
        parsed = parse_binary(values)
        return parsed, ~np.isnan(parsed)
    if model_type == REGRESSION:
        parsed = parse_numeric(values)
        return parsed, ~np.isnan(parsed)
    codes, classes = pd.factorize(np.asarray(values, dtype=object))  # each distinct label stripped once
    if (codes < 0).any():  # None or nan among the values: the text of each
        classes, codes = np.asarray(values, dtype=object), np.arange(len(values))
    labels = objects([str(v).strip() for v in classes])[codes]
    return labels, labels != ""


def run_training(ctx: JobContext) -> dict[str, Any]:
    """Train the MLModel of `ctx`; writes model.pkl, recipe.json and schema.json; returns SizeInBytes."""
    started = time.monotonic()
    params = parse_training_parameters(ctx.request.get("Parameters"))
    model_type = ctx.entity["MLModelType"]
    source_id = ctx.entity["TrainingDataSourceId"]
    reader = open_datasource(
        ctx.s3, ctx.artifacts_of("DataSource", source_id), ctx.get_entity("DataSource", source_id)
    )
    target = _check_training_data(reader, model_type, source_id)
    recipe_text = _recipe_text(ctx, reader)
    pipeline = _pipeline(recipe_text, reader)
    ctx.log(_header(params, model_type))
    workdir = ctx.scratch / "training-cache"
    try:
        cache = FeatureCache(workdir, ctx.config.training_memory_bytes)
        classes, invalid = _cache_features(ctx, reader, pipeline, cache, model_type, target)
        if params.shuffle:
            cache.shuffle(seed=zlib.crc32(ctx.entity["MLModelId"].encode()))
        ctx.log(f"features: {cache.n_features} from {cache.rows} records")
        where = "kept in memory" if cache.resident else "streamed from disk at every pass"
        ctx.log(f"training rows: {cache.stored_bytes} bytes, {where} (budget {cache.memory_budget} bytes)")
        model = train_linear(cache, model_type, params, len(classes), ctx.log)
        baseline = _baseline(cache, model_type, classes)
        ctx.log(
            f"finished-training: total-passes={model.passes} valid-records={cache.rows * model.passes} "
            f"invalid-records={invalid}"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    model, classes = _sorted_classes(model, classes, model_type)
    trained = TrainedModel(
        model_type, reader.schema, pipeline, model, classes, baseline, source_id, cache.rows
    )
    size = save_within(trained, params.max_model_size, ctx.artifacts / MODEL_FILE, ctx.log)
    (ctx.artifacts / "recipe.json").write_text(recipe_text)
    (ctx.artifacts / "schema.json").write_text(reader.schema.to_json())
    ctx.log(f"footprint-size={size} bytes")
    ctx.log(f"Training complete. ({time.monotonic() - started:.1f} s)")
    return {"SizeInBytes": size}


def _check_training_data(reader: DataSourceReader, model_type: str, source_id: str) -> str:
    """The target's name, once the datasource is known to suit training a model of `model_type`."""
    schema = reader.schema
    if reader.statistics is None:
        raise JobFailed(
            f"DataSource '{source_id}' has no statistics; create the training datasource with "
            "ComputeStatistics=true."
        )
    if not schema.target:
        raise JobFailed(
            f"DataSource '{source_id}' has no target attribute; set targetAttributeName in its schema to "
            "the attribute the model should predict."
        )
    target_type = schema.type_of(schema.target)
    if target_type != TARGET_TYPE[model_type]:
        raise JobFailed(
            f"MLModelType {model_type} needs a {TARGET_TYPE[model_type]} target, but '{schema.target}' is "
            f"{target_type}; change its attributeType in the schema or choose the matching MLModelType."
        )
    return schema.target


def _recipe_text(ctx: JobContext, reader: DataSourceReader) -> str:
    """The request's Recipe, the text at RecipeUri, or the default recipe when neither (or both) is given."""
    inline, uri = ctx.request.get("Recipe") or "", ctx.request.get("RecipeUri") or ""
    if inline and not uri:
        return str(inline)
    if uri and not inline:
        return ctx.s3.read_text(uri)
    ctx.log(
        "recipe: none given (or both empty), using the suggested recipe built from the training statistics"
    )
    return default_recipe(reader.schema, reader.statistics)


def _pipeline(recipe_text: str, reader: DataSourceReader) -> FeaturePipeline:
    try:
        pipeline = FeaturePipeline.build(parse_recipe(recipe_text), reader.schema)
    except InvalidInputException as err:
        raise JobFailed(f"The recipe cannot be used with the training data: {err.message}") from err
    pipeline.fit(reader.statistics or {})
    return pipeline


def _header(params: TrainingParameters, model_type: str) -> str:
    return (
        f"initial-training: l1={params.l1!r} l2={params.l2!r} likelihood-function={LIKELIHOOD[model_type]} "
        f"max-passes={params.max_passes} max-model-size={params.max_model_size} "
        f"({params.max_model_size / 2**20:.2f} MB) shuffle={'auto' if params.shuffle else 'none'}"
    )


def _cache_features(
    ctx: JobContext,
    reader: DataSourceReader,
    pipeline: FeaturePipeline,
    cache: FeatureCache,
    model_type: str,
    target: str,
) -> tuple[list[str], int]:
    """One pass over the data: features (growing the vocabulary) and targets into the cache.

    Returns the classes in order of first appearance and the count of rows skipped (malformed or no target).
    """
    classes: dict[str, int] = {"0": 0, "1": 1} if model_type == BINARY else {}
    invalid = 0
    for chunk in reader.chunks(numbers=pipeline.numeric_inputs() - {target}):
        invalid += chunk.rejected
        values, present = encode_target(model_type, chunk.columns[target])
        invalid += int(np.count_nonzero(~present))
        if not present.any():
            continue
        columns, y = chunk.columns, values
        if not present.all():
            columns = {name: column[present] for name, column in chunk.columns.items()}
            y = values[present]
        if model_type == MULTICLASS:
            y = _class_indices(y, classes)
        cache.append(pipeline.transform(columns, grow=True), np.asarray(y, dtype=np.float64))
        ctx.log(f"read: records={cache.rows} invalid-records={invalid} features={pipeline.n_features}")
    if cache.rows == 0:
        raise JobFailed(
            f"No training record has a valid value of the target '{target}' ({invalid} invalid records); "
            "check the data and the schema's attribute types."
        )
    if model_type != REGRESSION and _distinct_targets(cache) < 2:
        raise JobFailed(
            f"Every training record has the same value of the target '{target}'; a {model_type} model needs "
            "examples of at least two classes."
        )
    return list(classes), invalid


def _distinct_targets(cache: FeatureCache) -> int:
    """How many target values the cached rows have, counting up to two."""
    first = None
    for target in cache.targets():
        values = np.unique(target)
        first = values[0] if first is None else first
        if values.size > 1 or values[0] != first:
            return 2
    return 1


def _class_indices(labels: np.ndarray, classes: dict[str, int]) -> np.ndarray:
    for label in dict.fromkeys(labels.tolist()):
        if label not in classes:
            classes[label] = len(classes)
            if len(classes) > MAX_CLASSES:
                raise JobFailed(
                    f"The target has more than {MAX_CLASSES} classes, the limit of a MULTICLASS model; "
                    "group rare classes together or choose another target."
                )
    return np.fromiter((classes[label] for label in labels.tolist()), dtype=np.float64, count=len(labels))


def _baseline(cache: FeatureCache, model_type: str, classes: list[str]) -> float | str:
    """Training target mean (REGRESSION), most frequent class (MULTICLASS), 0.5 (the AUC of chance)."""
    if model_type == REGRESSION:
        return cache.target_mean_std()[0]
    if model_type == MULTICLASS:
        counts = np.zeros(len(classes))
        for target in cache.targets():
            counts += np.bincount(target.astype(np.intp), minlength=len(classes))
        return classes[int(counts.argmax())]
    return 0.5


def _sorted_classes(model: LinearModel, classes: list[str], model_type: str) -> tuple[LinearModel, list[str]]:
    """MULTICLASS score columns in label order (training numbered classes by first appearance)."""
    if model_type != MULTICLASS:
        return model, classes
    order = sorted(range(len(classes)), key=lambda i: classes[i])
    model.coef = np.ascontiguousarray(model.coef[:, order])
    model.intercept = model.intercept[order]
    return model, [classes[i] for i in order]


def save_within(trained: TrainedModel, max_bytes: int, path: Path, log: Any) -> int:
    """Pickle the model; if it is larger than `max_bytes`, drop its least useful features until it fits.

    Each round estimates the bytes a feature costs from the previous one (a secant step), so a few rounds
    reach the cap; rounds and time are bounded, and the size achieved is logged either way.
    """
    data = pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL)
    features = keep = trained.model.n_features
    order = np.argsort(-trained.model.importance(), kind="stable")
    bytes_per_feature = len(data) / max(features, 1)
    deadline = time.monotonic() + PRUNING_SECONDS
    for _ in range(PRUNING_ROUNDS):
        if len(data) <= max_bytes or keep == 0 or time.monotonic() > deadline:
            break
        excess = len(data) - max_bytes * PRUNING_TARGET
        fewer = min(keep - 1, keep - int(np.ceil(excess / max(bytes_per_feature, 1.0))))
        candidate = _pruned(trained, order[: max(fewer, 0)])
        pruned = pickle.dumps(candidate, protocol=pickle.HIGHEST_PROTOCOL)
        bytes_per_feature = (len(data) - len(pruned)) / (keep - max(fewer, 0))
        keep, data = max(fewer, 0), pruned
        log(f"consolidation: kept {keep} of {features} features, model-size={len(data)}")
    log(
        f"final consolidation: model-size={len(data)} bytes (limit {max_bytes}), {keep} of {features} features"
    )
    if len(data) > max_bytes:
        raise JobFailed(
            f"The model cannot be made smaller than {len(data)} bytes (with {keep} of its {features} "
            f"features); raise sgd.maxMLModelSizeInBytes (now {max_bytes}) or use fewer input variables."
        )
    path.write_bytes(data)
    return len(data)


def _pruned(trained: TrainedModel, kept: np.ndarray) -> TrainedModel:
    """A copy of the model with only the features numbered in `kept` (pipeline vocabulary included)."""
    mask = np.zeros(trained.model.n_features, dtype=bool)
    mask[kept] = True
    candidate = copy.deepcopy(trained)
    candidate.pipeline.keep(mask)
    candidate.model.keep(mask)
    return candidate
