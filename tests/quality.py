"""Model quality: the service's held-out scores, and references built independently of the service: scikit-learn features and converged linear models.

The features follow the schema the way Amazon ML's default recipe does, but with scikit-learn's own parts:
numeric attributes quantile-binned (`KBinsDiscretizer`, the recipe's bin-count rule) and one-hot encoded,
categorical ones one-hot (`OneHotEncoder`), binary ones as 0/1, text as binary word counts
(`CountVectorizer`, whitespace tokens). The models are converged: `LogisticRegression` (C=1) and ridge
regression with its penalty chosen by cross-validation (`RidgeCV`).
"""

from __future__ import annotations

import gzip
import io
import json
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import f1_score, log_loss, mean_squared_error, recall_score, roc_auc_score
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder

from tests.helpers import put_text, unique_id, wait_for

BIN_COUNTS = (10, 20, 50, 100, 200, 500)


def bin_count(column: pd.Series) -> int:
    """The default recipe's rule: the most of 10..500 bins that the distinct values and rows (10 a bin) allow."""
    values = column.dropna()
    fitting = [n for n in BIN_COUNTS if n <= values.nunique() and n * 10 <= len(values)]
    return max(fitting, default=BIN_COUNTS[0])


def encoders(train: pd.DataFrame, types: dict[str, str]) -> list[tuple[str, Any]]:
    """One fitted scikit-learn encoder per input attribute (name, encoder)."""
    fitted: list[tuple[str, Any]] = []
    for name, kind in types.items():
        if kind == "NUMERIC":
            encoder: Any = KBinsDiscretizer(
                n_bins=bin_count(train[name]), strategy="quantile", encode="onehot", subsample=None
            )
            encoder.fit(train[[name]].astype(float))
        elif kind == "CATEGORICAL":
            encoder = OneHotEncoder(handle_unknown="ignore").fit(train[[name]].astype(str))
        elif kind == "TEXT":
            encoder = CountVectorizer(binary=True, token_pattern=r"\S+", lowercase=False)
            encoder.fit(train[name].fillna("").astype(str))
        else:
            encoder = None
        fitted.append((name, encoder))
    return fitted


def features(frame: pd.DataFrame, fitted: list[tuple[str, Any]], types: dict[str, str]) -> sp.csr_matrix:
    parts = []
    for name, encoder in fitted:
        kind = types[name]
        if kind == "NUMERIC":
            parts.append(sp.csr_matrix(encoder.transform(frame[[name]].astype(float))))
        elif kind == "CATEGORICAL":
            parts.append(encoder.transform(frame[[name]].astype(str)))
        elif kind == "TEXT":
            parts.append(encoder.transform(frame[name].fillna("").astype(str)))
        else:
            parts.append(sp.csr_matrix(frame[[name]].astype(float).to_numpy()))
    return sp.hstack(parts, format="csr")


@dataclass
class Scores:
    """What a model scored on held-out rows: its metric and, for classifiers, log-loss and recall."""

    metric: float
    log_loss: float = float("nan")
    recall: float = float("nan")


def scores_of(model_type: str, truth: np.ndarray, predicted: np.ndarray, classes: list[str]) -> Scores:
    """BINARY: `predicted` is P(1) and truth 0/1; MULTICLASS: class probabilities in `classes` order;
    REGRESSION: values."""
    if model_type == "BINARY":
        truth = truth.astype(int)
        labels = (predicted >= 0.5).astype(int)
        return Scores(
            float(roc_auc_score(truth, predicted)),
            float(log_loss(truth, np.clip(predicted, 1e-15, 1 - 1e-15), labels=[0, 1])),
            float(recall_score(truth, labels)),
        )
    if model_type == "MULTICLASS":
        best = np.asarray(classes)[predicted.argmax(axis=1)]
        probabilities = predicted / predicted.sum(axis=1, keepdims=True)
        return Scores(
            float(f1_score(truth, best, average="macro")),
            float(log_loss(truth, probabilities, labels=classes)),
        )
    return Scores(float(mean_squared_error(truth.astype(float), predicted) ** 0.5))


def reference_scores(
    model_type: str, train: pd.DataFrame, test: pd.DataFrame, types: dict[str, str], target: str
) -> Scores:
    """The held-out scores of the converged scikit-learn model on the independent features."""
    fitted = encoders(train, types)
    x_train, x_test = features(train, fitted, types), features(test, fitted, types)
    if model_type == "REGRESSION":
        ridge = RidgeCV(alphas=np.logspace(-3, 3, 13)).fit(x_train, train[target].astype(float))
        return scores_of(model_type, test[target].to_numpy(), ridge.predict(x_test), [])
    y_train = train[target].astype(str if model_type == "MULTICLASS" else int)
    logistic = LogisticRegression(C=1.0, max_iter=10_000).fit(x_train, y_train)
    probabilities = logistic.predict_proba(x_test)
    truth = test[target].astype(str if model_type == "MULTICLASS" else int).to_numpy()
    if model_type == "BINARY":
        return scores_of(model_type, truth, probabilities[:, 1], ["0", "1"])
    return scores_of(model_type, truth, probabilities, [str(c) for c in logistic.classes_])


def schema_of(types: dict[str, str], target: str, model_type: str) -> str:
    target_type = {"BINARY": "BINARY", "MULTICLASS": "CATEGORICAL", "REGRESSION": "NUMERIC"}[model_type]
    attributes = [{"attributeName": n, "attributeType": t} for n, t in {**types, target: target_type}.items()]
    document = {"version": "1.0", "dataFormat": "CSV", "dataFileContainsHeader": True}
    return json.dumps({**document, "targetAttributeName": target, "attributes": attributes})


def service_scores(
    ml: Any,
    s3: Any,
    bucket: str,
    model_type: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    types: dict[str, str],
    target: str,
    timeout: float = 600,
) -> tuple[Scores, str]:
    """Train with the default recipe and parameters, batch-predict `test`; its held-out scores and the
    training log."""
    columns = [*types, target]
    prefix = unique_id("quality")
    schema = schema_of(types, target, model_type)
    ids = {}
    for name, frame in (("train", train), ("test", test)):
        location = put_text(s3, bucket, f"{prefix}/{name}.csv", frame[columns].to_csv(index=False))
        ids[name] = unique_id("ds")
        ml.create_data_source_from_s3(
            DataSourceId=ids[name],
            DataSpec={"DataLocationS3": location, "DataSchema": schema},
            ComputeStatistics=name == "train",
        )
    model_id, batch_id = unique_id("ml"), unique_id("bp")
    ml.create_ml_model(MLModelId=model_id, MLModelType=model_type, TrainingDataSourceId=ids["train"])
    ml.create_batch_prediction(
        BatchPredictionId=batch_id,
        MLModelId=model_id,
        BatchPredictionDataSourceId=ids["test"],
        OutputUri=f"s3://{bucket}/{prefix}/output/",
    )
    model = wait_for(ml, "MLModel", model_id, timeout=timeout)
    assert model["Status"] == "COMPLETED", model.get("Message")
    assert wait_for(ml, "BatchPrediction", batch_id, timeout=timeout)["Status"] == "COMPLETED"
    key = f"{prefix}/output/batch-prediction/result/{batch_id}-test.csv.gz"
    body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    results = pd.read_csv(io.BytesIO(body), dtype=str, keep_default_na=False)
    with urllib.request.urlopen(model["LogUri"]) as response:
        log = response.read().decode()
    truth = results["trueLabel"].to_numpy()
    if model_type == "BINARY":
        return scores_of(model_type, truth.astype(int), results["score"].astype(float).to_numpy(), []), log
    if model_type == "REGRESSION":
        return scores_of(model_type, truth, results["score"].astype(float).to_numpy(), []), log
    classes = [c for c in results.columns if c not in ("tag", "trueLabel")]
    return scores_of(model_type, truth, results[classes].astype(float).to_numpy(), classes), log


# --- generated data sets ----------------------------------------------------------------------------------


def spam_messages(rows: int, seed: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """Short messages (TEXT) with a sender kind (CATEGORICAL) and a link count (NUMERIC); about 20 % are spam.

    Words follow a Zipf law over a 3,000-word vocabulary; spam favours 150 words and ham another 150, and a
    long tail of words occurs once or twice, like the rare n-grams of real text.
    """
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i}" for i in range(3000)])
    common = 1.0 / np.arange(1, 3001) ** 1.1
    spam_words, ham_words = rng.choice(3000, 150, replace=False), rng.choice(3000, 150, replace=False)
    spam = rng.random(rows) < 0.2
    messages = []
    for is_spam in spam:
        weights = common.copy()
        weights[spam_words if is_spam else ham_words] += 0.01
        words = vocabulary[rng.choice(3000, rng.integers(4, 25), p=weights / weights.sum())]
        tail = [f"r{rng.integers(0, 200_000)}" for _ in range(rng.integers(0, 3))]
        messages.append(" ".join([*words, *tail]))
    sender = np.where(
        rng.random(rows) < np.where(spam, 0.5, 0.2), "unknown", rng.choice(["friend", "work"], rows)
    )
    links = rng.poisson(np.where(spam, 1.5, 0.4))
    frame = pd.DataFrame({"message": messages, "sender": sender, "links": links, "spam": spam.astype(int)})
    return frame, {"message": "TEXT", "sender": "CATEGORICAL", "links": "NUMERIC"}


def classes_data(rows: int, classes: int, seed: int) -> tuple[pd.DataFrame, dict[str, str]]:
    """Four numbers and a category; the class follows a noisy, partly non-linear score per class."""
    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(rows, 4))
    region = rng.integers(0, 6, rows)
    weights = rng.normal(size=(4, classes))
    scores = (
        numbers @ weights
        + 0.8 * np.abs(numbers[:, :1]) * np.arange(classes)
        + 0.3 * (region[:, None] % classes == np.arange(classes))
    )
    label = (scores + 1.5 * rng.gumbel(size=scores.shape)).argmax(axis=1)
    frame = pd.DataFrame(np.round(numbers, 3), columns=["a", "b", "c", "d"])
    frame["region"] = np.char.add("region", region.astype(str))
    frame["label"] = np.char.add("class", label.astype(str))
    return frame, {"a": "NUMERIC", "b": "NUMERIC", "c": "NUMERIC", "d": "NUMERIC", "region": "CATEGORICAL"}
