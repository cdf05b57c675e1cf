"""Learners and writers tested directly: parameters, L-BFGS and SGD, metrics, report, number format, batch output layout."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score, roc_curve
from sklearn.preprocessing import StandardScaler

from aml_provider.local.data import S3Object, S3Store
from aml_provider.local.errors import InvalidInputException, JobFailed
from aml_provider.local.learners import (
    FeatureCache,
    binary_auc,
    evaluation_report,
    multiclass_avg_fscore,
    parse_training_parameters,
    performance_metrics,
    regression_rmse,
    train_lbfgs,
    train_linear,
    train_sgd,
)
from aml_provider.local.learners.metrics import roc_points
from aml_provider.local.learners.report import threshold_effect
from aml_provider.local.learners.sgd import Scaling
from aml_provider.local.writers import BatchOutput, format_score, format_scores, result_block, result_header
from tests.helpers import unique_id

# --- training parameters -------------------------------------------------------------------------------


def test_parameters_defaults_echo_all_five_keys_and_the_algorithm() -> None:
    assert parse_training_parameters(None).to_api() == {
        "algorithm": "sgd",
        "sgd.maxPasses": "10",
        "sgd.shuffleType": "none",
        "sgd.l1RegularizationAmount": "0.0",
        "sgd.l2RegularizationAmount": "1e-06",
        "sgd.maxMLModelSizeInBytes": "33554432",
    }


def test_parameters_are_parsed_from_strings() -> None:
    params = parse_training_parameters(
        {
            "sgd.maxPasses": "100",
            "sgd.shuffleType": "auto",
            "sgd.l1RegularizationAmount": "1.0E-08",
            "sgd.l2RegularizationAmount": "0.0",
            "sgd.maxMLModelSizeInBytes": "100000",
        }
    )
    assert (params.max_passes, params.shuffle, params.l1, params.l2, params.max_model_size) == (
        100,
        True,
        1e-8,
        0.0,
        100_000,
    )


def test_zero_regularization_counts_as_unset() -> None:
    assert parse_training_parameters({"sgd.l2RegularizationAmount": "0"}).l2 == 1e-6
    assert parse_training_parameters({"sgd.l2RegularizationAmount": "1e-4"}).l2 == 1e-4


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"sgd.maxPasses": "0"}, "sgd.maxPasses must be a whole number from 1 to 10000"),
        ({"sgd.maxPasses": "ten"}, "sgd.maxPasses"),
        ({"sgd.maxPasses": "10001"}, "from 1 to 10000"),
        ({"sgd.maxMLModelSizeInBytes": "99999"}, "from 100000 to 2147483648"),
        ({"sgd.shuffleType": "random"}, "'auto' or 'none'"),
        ({"sgd.l1RegularizationAmount": "-1"}, "sgd.l1RegularizationAmount must be a number from 0"),
        ({"sgd.l2RegularizationAmount": "nan"}, "sgd.l2RegularizationAmount"),
        ({"sgd.l1RegularizationAmount": "1e-8", "sgd.l2RegularizationAmount": "1e-6"}, "cannot both be set"),
        ({"sgd.learningRate": "0.1"}, "Unknown training parameter 'sgd.learningRate'"),
    ],
)
def test_bad_parameters_are_rejected_naming_the_key(params: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidInputException, match=named):
        parse_training_parameters(params)


# --- SGD ---------------------------------------------------------------------------------------------------


def _cache(tmp_path: Path, features: np.ndarray, target: np.ndarray, blocks: int = 3) -> FeatureCache:
    cache = FeatureCache(tmp_path / "cache")
    for part in np.array_split(np.arange(len(target)), blocks):
        cache.append(sp.csr_matrix(features[part]), target[part])
    return cache


def test_binary_sgd_separates_two_classes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    features = rng.normal(size=(600, 4)) + np.array([100.0, 0, 0, 0])  # an offset the scaling must absorb
    target = (features[:, 1] - features[:, 2] > 0).astype(float)
    model = train_sgd(_cache(tmp_path, features, target), "BINARY", parse_training_parameters(None))
    scores = model.scores(sp.csr_matrix(features))
    assert scores.min() >= 0
    assert scores.max() <= 1
    assert binary_auc(target, scores) > 0.99


def test_multiclass_scores_are_probabilities_and_pick_the_right_class(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    centers = np.array([[3.0, 0], [-3, 0], [0, 3]])
    target = rng.integers(0, 3, 900)
    features = centers[target] + rng.normal(size=(900, 2))
    model = train_sgd(_cache(tmp_path, features, target), "MULTICLASS", parse_training_parameters(None), 3)
    scores = model.scores(sp.csr_matrix(features))
    np.testing.assert_allclose(scores.sum(axis=1), 1.0)
    assert (scores.argmax(axis=1) == target).mean() > 0.95


def test_regression_recovers_a_linear_function_on_its_scale(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    features = rng.normal(size=(2000, 3)) * [1.0, 10.0, 0.1]
    target = 500 + 3 * features[:, 0] - 2 * features[:, 1] + 40 * features[:, 2] + rng.normal(size=2000) * 0.1
    params = parse_training_parameters({"sgd.maxPasses": "30", "sgd.shuffleType": "auto"})
    model = train_sgd(_cache(tmp_path, features, target), "REGRESSION", params)
    np.testing.assert_allclose(model.coef[:, 0], [3, -2, 40], rtol=0.05)
    assert regression_rmse(target, model.scores(sp.csr_matrix(features))) < 1.0


def test_l1_drives_useless_weights_to_zero(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    features = rng.normal(size=(1000, 20))
    target = (features[:, 0] > 0).astype(float)
    params = parse_training_parameters({"sgd.l1RegularizationAmount": "0.05"})
    model = train_sgd(_cache(tmp_path, features, target), "BINARY", params)
    assert abs(model.coef[0, 0]) > 0.1
    assert np.count_nonzero(model.coef[1:, 0]) <= 5


def test_training_streamed_from_disk_equals_training_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(8)
    features = rng.normal(size=(900, 3))
    target = (features[:, 0] > 0).astype(float)
    params = parse_training_parameters(None)
    in_memory = train_sgd(_cache(tmp_path / "a", features, target), "BINARY", params)
    streamed_cache = _cache(tmp_path / "b", features, target)
    streamed_cache.memory_budget = 0  # every pass reads the shards from disk again
    streamed = train_sgd(streamed_cache, "BINARY", params)
    np.testing.assert_allclose(streamed.coef, in_memory.coef)


@pytest.mark.parametrize("classes", [2, 4])
def test_lbfgs_converges_to_scikit_learns_logistic_regression(tmp_path: Path, classes: int) -> None:
    """Both minimise the mean loss plus |w|^2 / (2 rows) on standardised features: the same optimum."""
    rng = np.random.default_rng(11)
    features = rng.normal(size=(700, 5)) * [1.0, 3.0, 0.5, 10.0, 1.0] + 4.0
    signal = features @ rng.normal(size=(5, classes)) / 3 + rng.gumbel(size=(700, classes))
    target = signal.argmax(axis=1).astype(float)
    model_type = "BINARY" if classes == 2 else "MULTICLASS"
    model = train_lbfgs(
        _cache(tmp_path, features, target), model_type, parse_training_parameters(None), classes
    )
    scaled = StandardScaler().fit_transform(features)
    reference = LogisticRegression(C=1.0, tol=1e-10, max_iter=10_000).fit(scaled, target)
    expected = reference.predict_proba(scaled)
    ours = model.scores(sp.csr_matrix(features))
    np.testing.assert_allclose(ours if classes > 2 else np.c_[1 - ours, ours], expected, atol=1e-4)


def test_lbfgs_objective_falls_every_pass_and_l1_uses_sgd(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    features = rng.normal(size=(500, 3))
    target = (features[:, 0] + rng.normal(size=500) > 0).astype(float)
    cache = _cache(tmp_path, features, target)
    lines: list[str] = []
    train_linear(cache, "BINARY", parse_training_parameters(None), 2, lines.append)
    objectives = [float(line.rsplit("=", 1)[1]) for line in lines if line.startswith("pass=")]
    assert len(objectives) >= 3
    assert all(later <= earlier for earlier, later in zip(objectives, objectives[1:], strict=False))
    lines.clear()
    train_linear(
        cache, "BINARY", parse_training_parameters({"sgd.l1RegularizationAmount": "1e-4"}), 2, lines.append
    )
    assert any("learning-rate=" in line for line in lines)


def test_lbfgs_streamed_from_disk_equals_in_memory(tmp_path: Path) -> None:
    rng = np.random.default_rng(13)
    features = rng.normal(size=(400, 3))
    target = features @ [1.0, -2.0, 0.5] + rng.normal(size=400)
    in_memory = train_linear(
        _cache(tmp_path / "a", features, target), "REGRESSION", parse_training_parameters(None)
    )
    streamed_cache = _cache(tmp_path / "b", features, target)
    streamed_cache.memory_budget = 0
    streamed = train_linear(streamed_cache, "REGRESSION", parse_training_parameters(None))
    np.testing.assert_allclose(streamed.coef, in_memory.coef)
    np.testing.assert_allclose(in_memory.coef[:, 0], [1.0, -2.0, 0.5], atol=0.15)


def test_rare_indicators_are_not_scaled_up_and_keep_small_weights(tmp_path: Path) -> None:
    rng = np.random.default_rng(14)
    amount = rng.normal(size=500) * 10
    rare = np.zeros(500)
    rare[7] = 1.0  # a word seen once
    target = (amount + rng.normal(size=500) * 5 > 0).astype(float)
    target[7] = 1.0
    cache = _cache(tmp_path, np.c_[amount, rare], target)
    scaling = Scaling.of(cache, "BINARY")
    np.testing.assert_allclose(scaling.inv_std[:, 0], [1 / amount.std(), 1.0], rtol=1e-6)
    model = train_linear(cache, "BINARY", parse_training_parameters(None))
    assert 0 < model.coef[1, 0] < 1.0  # one record's worth of evidence, held back by the L2 prior


def test_cache_grows_features_and_shuffles_every_row_once(tmp_path: Path) -> None:
    cache = FeatureCache(tmp_path / "cache")
    cache.append(sp.csr_matrix(np.arange(10.0)[:, None]), np.arange(10.0))
    cache.append(sp.csr_matrix(np.c_[np.arange(10.0, 20), np.ones(10)]), np.arange(10.0, 20))
    cache.shuffle(seed=1)
    rows = [
        (x, y)
        for features, target in cache.batches(3)
        for x, y in zip(features.toarray(), target, strict=True)
    ]
    assert cache.n_features == 2
    assert sorted(y for _, y in rows) == list(range(20))
    assert all(x[0] == y for x, y in rows)
    assert [y for _, y in rows] != list(range(20))
    mean, _ = cache.mean_std()
    np.testing.assert_allclose(mean, [9.5, 0.5])
    sizes = [len(target) for _, target in cache.batches(7)]  # a new size after batches of 3
    assert sum(sizes) == 20
    assert max(sizes) == 7
    assert sorted(np.concatenate(list(cache.targets())).tolist()) == list(range(20))


# --- metrics and report ---------------------------------------------------------------------------------


def test_metrics_on_tiny_inputs() -> None:
    # pairs (positive, negative) ranked right: (.35>.1), (.8>.1), (.8>.4); wrong: (.35<.4) -> 3/4
    assert binary_auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.4, 0.35, 0.8])) == 0.75
    # class a: P=1/2 R=1 F=2/3; b: P=1 R=1/2 F=2/3; c: P=R=F=1 -> mean 7/9
    actual = np.array(["a", "b", "b", "c"])
    predicted = np.array(["a", "a", "b", "c"])
    assert multiclass_avg_fscore(actual, predicted) == pytest.approx(7 / 9)
    assert regression_rmse(np.array([1.0, 2, 3]), np.array([2.0, 2, 5])) == pytest.approx(math.sqrt(5 / 3))
    assert performance_metrics("REGRESSION", 0.1 + 0.2) == {
        "Properties": {"RegressionRMSE": "0.30000000000000004"}
    }


def test_binary_report_counts_at_the_threshold() -> None:
    actual = np.array([0, 0, 1, 1, 1])
    scores = np.array([0.2, 0.6, 0.6, 0.7, 0.3])
    effect = threshold_effect(actual, scores, 0.6)  # score >= 0.6 is positive
    assert (effect["truePositives"], effect["falsePositives"], effect["trueNegatives"]) == (2, 1, 1)
    assert (effect["falseNegatives"], effect["accuracy"], effect["precision"]) == (1, 0.6, 2 / 3)
    report = evaluation_report(
        "BINARY", actual, scores, classes=["0", "1"], score_threshold=0.6, baseline=0.5
    )
    assert report["metricName"] == "BinaryAUC"
    assert report["baseline"] == 0.5
    assert report["atScoreThreshold"] == effect
    assert sum(report["scoreHistograms"]["actual1"]) == 3
    assert report["rocCurve"][-1]["truePositiveRate"] == 1.0
    assert [row["threshold"] for row in report["thresholds"]][:3] == [0.01, 0.02, 0.03]
    assert next(row for row in report["thresholds"] if row["threshold"] == 0.6) == effect


def test_multiclass_and_regression_baselines() -> None:
    actual = np.array(["a", "a", "b", "c"])
    report = evaluation_report(
        "MULTICLASS",
        actual,
        np.array([0, 1, 1, 2]),
        classes=["a", "b", "c"],
        score_threshold=0.5,
        baseline="a",
    )
    # always "a": class a F1 = 2*(1/2*1)/(1/2+1) = 2/3, b and c 0 -> 2/9
    assert report["baseline"] == pytest.approx(2 / 9)
    assert report["confusionMatrix"]["counts"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    class_a, class_b = report["classes"][0], report["classes"][1]
    assert (class_a["precision"], class_a["recall"]) == (1.0, 0.5)
    assert (class_b["precision"], class_b["recall"]) == (0.5, 1.0)
    regression = evaluation_report(
        "REGRESSION",
        np.array([1.0, 3.0]),
        np.array([1.5, 2.5]),
        classes=[],
        score_threshold=0.5,
        baseline=0.0,
    )
    assert regression["baseline"] == pytest.approx(math.sqrt(5))
    assert regression["metric"] == pytest.approx(0.5)
    assert sum(regression["residualHistogram"]["counts"]) == 2
    assert regression["predictedVsActual"] == {"actual": [1.0, 3.0], "predicted": [1.5, 2.5]}


# --- number format and batch output --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.0, "1E0"),
        (0.996733, "9.96733E-1"),
        (-15.26385, "-1.526385E1"),
        (1.945252e-5, "1.945252E-5"),
        (1.61803e-8, "1.61803E-8"),
        (0.0, "0E0"),
        (0.5, "5E-1"),
        (123456789.0, "1.234568E8"),
        (1e300, "1E300"),
    ],
)
def test_number_format(value: float, text: str) -> None:
    assert format_score(value) == text


def test_vectorised_number_format_matches_the_one_number_rule() -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.normal(size=3000), 4) * 10.0 ** rng.integers(-20, 20, 3000)

    def one(x: float) -> str:
        mantissa, exponent = format(x, ".6E").split("E")
        return f"{mantissa.rstrip('0').rstrip('.')}E{int(exponent)}"

    assert format_scores(values) == [one(float(x)) for x in values]


def test_result_lines_per_model_type() -> None:
    scores = np.array([0.75, 0.25])
    assert result_header("BINARY", [], tag=True, true_label=True) == [
        "tag",
        "trueLabel",
        "bestAnswer",
        "score",
    ]
    lines = result_block("BINARY", scores, 0.5, [np.array(["r,1", "r2"], dtype=object)])
    assert lines == b'"r,1",1,7.5E-1\nr2,0,2.5E-1\n'
    assert result_block("BINARY", scores, 0.75) == b"1,7.5E-1\n0,2.5E-1\n"
    assert result_header("MULTICLASS", ["x", "y"], tag=False, true_label=False) == ["x", "y"]
    assert result_block("MULTICLASS", np.array([[0.5, 0.5]]), 0.5) == b"5E-1,5E-1\n"
    assert result_block("REGRESSION", np.array([-15.26385]), 0.5) == b"-1.526385E1\n"
    assert result_block("REGRESSION", np.zeros(0), 0.5) == b""


def test_batch_output_layout_in_s3(s3: object, bucket: str, tmp_path: Path) -> None:
    store = S3Store(s3)
    prefix = unique_id("out")
    first = S3Object(f"s3://{bucket}/in/a.csv", 10)
    second = S3Object(f"s3://{bucket}/in/b.csv", 10)
    output = BatchOutput(
        store, f"s3://{bucket}/{prefix}/", "bp-1", ["bestAnswer", "score"], tmp_path / "w", tmp_path / "plan"
    )
    output.write(first, b"1,1E0\n\n0,2E-1\n")
    manifest = output.publish([first, second])
    result = f"s3://{bucket}/{prefix}/batch-prediction/result/bp-1-a.csv.gz"
    assert manifest == {
        first.uri: result,
        second.uri: f"s3://{bucket}/{prefix}/batch-prediction/result/bp-1-b.csv.gz",
    }
    body = store.open(result).read()
    assert gzip.decompress(body).decode() == "bestAnswer,score\n1,1E0\n\n0,2E-1\n"
    assert gzip.decompress(store.open(manifest[second.uri]).read()).decode() == "bestAnswer,score\n"
    assert json.loads(store.read_text(f"s3://{bucket}/{prefix}/batch-prediction/bp-1.manifest")) == manifest
    assert not (tmp_path / "w").exists()
    assert not (tmp_path / "plan").exists()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]  # type: ignore[attr-defined]
    assert sorted(item["Key"] for item in listed) == sorted(
        [f"{prefix}/batch-prediction/bp-1.manifest", *(uri.split("/", 3)[3] for uri in manifest.values())]
    ), "the staging prefix is removed once the results are in place"


def test_batch_publication_that_fails_leaves_nothing(s3: object, bucket: str, tmp_path: Path) -> None:
    """The second result file is lost from the disk before it is uploaded: what was staged is removed and
    no result or manifest is written."""
    store = S3Store(s3)
    prefix = unique_id("out")
    sources = [S3Object(f"s3://{bucket}/in/a.csv", 10), S3Object(f"s3://{bucket}/in/b.csv", 10)]
    output = BatchOutput(
        store, f"s3://{bucket}/{prefix}/", "bp-9", ["score"], tmp_path / "w", tmp_path / "plan"
    )
    for source in sources:
        output.write(source, b"1E0\n")
    sorted((tmp_path / "w").iterdir())[1].unlink()
    with pytest.raises(FileNotFoundError):
        output.publish(sources)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix=prefix)  # type: ignore[attr-defined]
    assert not (tmp_path / "plan").exists()


def test_batch_results_of_same_named_files_in_different_folders_do_not_collide(
    s3: object, bucket: str, tmp_path: Path
) -> None:
    store = S3Store(s3)
    prefix = unique_id("in")
    sources = [
        S3Object(f"s3://{bucket}/{prefix}/{folder}/part0.csv", 10) for folder in ("2026-01", "2026-02")
    ]
    sources.append(S3Object(f"s3://{bucket}/{prefix}/extra.csv", 10))
    output = BatchOutput(
        store, f"s3://{bucket}/{prefix}-out/", "bp-3", ["score"], tmp_path / "w", tmp_path / "plan"
    )
    for source, line in zip(sources, [b"1E0\n", b"2E0\n", b"3E0\n"], strict=True):
        output.write(source, line)
    manifest = output.publish(sources)
    result = f"s3://{bucket}/{prefix}-out/batch-prediction/result/bp-3-"
    assert manifest == {
        sources[0].uri: result + "2026-01-part0.csv.gz",
        sources[1].uri: result + "2026-02-part0.csv.gz",
        sources[2].uri: result + "extra.csv.gz",
    }
    contents = [gzip.decompress(store.open(uri).read()).decode() for uri in manifest.values()]
    assert contents == ["score\n1E0\n", "score\n2E0\n", "score\n3E0\n"]


def test_batch_output_publishes_nothing_when_an_upload_fails(s3: object, bucket: str, tmp_path: Path) -> None:
    store = S3Store(s3)
    source = S3Object(f"s3://{bucket}/in/a.csv", 10)
    output = BatchOutput(
        store, "s3://no-such-bucket-for-output/x/", "bp-2", ["score"], tmp_path / "w", tmp_path / "plan"
    )
    output.write(source, b"1E0\n")
    with pytest.raises(JobFailed, match="Cannot write"):
        output.publish([source])
    assert not (tmp_path / "w").exists()


@pytest.mark.parametrize("decimals", [None, 2, 0])
@pytest.mark.parametrize("rows", [2, 3, 50, 20_000])
def test_roc_points_and_auc_equal_scikit_learn(rows: int, decimals: int | None) -> None:
    """The lean ROC computation gives scikit-learn's numbers exactly, with and without tied scores."""
    rng = np.random.default_rng(rows)
    scores = rng.random(rows) if decimals is None else rng.random(rows).round(decimals)
    actual = np.arange(rows) % 2 if rows < 50 else (rng.random(rows) < scores).astype(float)
    for ours, theirs in zip(roc_points(actual, scores), roc_curve(actual, scores), strict=True):
        np.testing.assert_array_equal(ours, theirs)
    assert binary_auc(actual, scores) == roc_auc_score(actual, scores)
    assert binary_auc(np.ones(rows), scores) == 0.5
