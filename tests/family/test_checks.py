"""run_checks over generated partitions in S3: a clean day, schema drift, constant labels, drift, settings."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from aml_provider.family.checks import Check, run_checks
from aml_provider.family.tables import FamilyDataError
from tests.family.service import generate, land, schema_of
from tests.helpers import unique_id

SCHEMA = schema_of(generate("BINARY", 1, seed=0), "BINARY")


def partitions(s3: Any, bucket: str, fresh: pd.DataFrame) -> dict[str, Any]:
    """run_checks arguments: two training days, a reference day and `fresh` as the evaluation partition."""
    training = [land(s3, bucket, [generate("BINARY", 600, seed=day)], "day") for day in (1, 2)]
    reference = [land(s3, bucket, [generate("BINARY", 600, seed=0)], "reference")]
    return {
        "schema": SCHEMA,
        "fresh_uri": land(s3, bucket, [fresh], "fresh"),
        "training_uris": training,
        "reference_uris": reference,
    }


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {check.name: check for check in checks}


def test_a_clean_day_passes_every_check(s3: Any, bucket: str) -> None:
    checks = by_name(run_checks(s3, **partitions(s3, bucket, generate("BINARY", 300, seed=9))))
    assert {name: check.status for name, check in checks.items() if check.status != "pass"} == {}
    assert checks["rows_training"].value == 1200
    assert checks["rows_evaluation"].value == 300
    assert checks["alert_sufficient_data"].value == pytest.approx(0.25)
    assert {d["attribute"] for d in checks["drift"].details} == {"x0", "x1", "x2", "color"}
    assert all(d["psi"] < 0.1 for d in checks["drift"].details)


def test_a_renamed_column_fails_the_schema_check(s3: Any, bucket: str) -> None:
    fresh = generate("BINARY", 300, seed=9).rename(columns={"x2": "x2_new"})
    checks = by_name(run_checks(s3, **partitions(s3, bucket, fresh)))
    assert checks["schema"].status == "fail"
    assert "lacks ['x2'] and has unexpected ['x2_new']" in checks["schema"].message
    assert checks["alert_schema_matched"].status == "warn"


def test_constant_labels_fail_the_target_check(s3: Any, bucket: str) -> None:
    fresh = generate("BINARY", 300, seed=9).assign(y="yes")
    checks = by_name(run_checks(s3, **partitions(s3, bucket, fresh)))
    assert (checks["target_evaluation"].status, checks["target_evaluation"].value) == ("fail", 1)
    assert checks["target_training"].status == "pass"
    assert checks["target_drift"].status == "warn"
    assert checks["alert_target_distribution"].status == "warn"


def test_a_drifted_numeric_attribute_warns_and_names_it(s3: Any, bucket: str) -> None:
    fresh = generate("BINARY", 300, seed=9)
    fresh["x1"] = fresh["x1"] + 1.5
    checks = by_name(run_checks(s3, **partitions(s3, bucket, fresh)))
    assert checks["drift"].status == "warn"
    assert "'x1'" in checks["drift"].message
    psi = {d["attribute"]: d["psi"] for d in checks["drift"].details}
    assert psi["x1"] > 0.5
    assert max(psi["x0"], psi["x2"], psi["color"]) < 0.1
    assert checks["schema"].status == "pass"
    settings = {"drift": "fail", "missing": "off"}
    strict = by_name(run_checks(s3, **partitions(s3, bucket, fresh), settings=settings))
    assert strict["drift"].status == "fail"
    assert "missing" not in strict


def test_rows_missing_values_and_unreadable_records(s3: Any, bucket: str) -> None:
    fresh = generate("BINARY", 60, seed=9)
    fresh.loc[: len(fresh) // 2, "color"] = ""
    lines = fresh.to_csv(index=False).splitlines() + ["r,1,2,3,red,yes,extra"]
    key = f"{land(s3, bucket, [fresh], 'fresh')[5:].split('/', 1)[1]}"
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(lines).encode())
    arguments = partitions(s3, bucket, fresh) | {"fresh_uri": f"s3://{bucket}/{key}"}
    checks = by_name(run_checks(s3, **arguments, min_rows=100))
    assert (checks["rows_evaluation"].status, checks["rows_evaluation"].value) == ("fail", 61)
    assert checks["missing"].status == "warn"
    assert "'color'" in checks["missing"].message
    assert checks["alert_all_records_read"].status == "warn"
    assert checks["alert_sufficient_data"].status == "warn"


def test_large_files_are_sampled_but_every_record_is_counted(s3: Any, bucket: str) -> None:
    arguments = partitions(s3, bucket, generate("BINARY", 3000, seed=9))
    checks = by_name(run_checks(s3, **arguments, sample_rows=500))
    assert checks["rows_evaluation"].value == 3000
    assert checks["drift"].status == "pass"


def test_unknown_settings_are_refused(s3: Any, bucket: str) -> None:
    arguments = partitions(s3, bucket, generate("BINARY", 300, seed=9))
    with pytest.raises(FamilyDataError, match="unknown checks \\['drfit'\\]"):
        run_checks(s3, **arguments, settings={"drfit": "warn"})
    with pytest.raises(FamilyDataError, match="must be one of warn, fail, off"):
        run_checks(s3, **arguments, settings={"drift": "error"})
    with pytest.raises(FamilyDataError, match="thresholds name checks without one \\['schema'\\]"):
        run_checks(s3, **arguments, thresholds={"schema": 0.5})


def test_a_copy_of_the_fresh_file_in_the_training_window_is_not_held_out(s3: Any, bucket: str) -> None:
    arguments = partitions(s3, bucket, generate("BINARY", 300, seed=9))
    fresh_bucket, fresh_key = arguments["fresh_uri"][5:].split("/", 1)
    copy_key = f"{unique_id('run')}/training/fresh-copy.csv"
    s3.copy_object(Bucket=bucket, Key=copy_key, CopySource={"Bucket": fresh_bucket, "Key": fresh_key})
    arguments["training_uris"] = [*arguments["training_uris"], f"s3://{bucket}/{copy_key}"]
    checks = by_name(run_checks(s3, **arguments))
    assert checks["alert_held_out"].status == "warn"
    assert arguments["fresh_uri"] in checks["alert_held_out"].message


def test_a_missing_partition_is_named_in_the_error(s3: Any, bucket: str) -> None:
    arguments = partitions(s3, bucket, generate("BINARY", 300, seed=9))
    with pytest.raises(FamilyDataError, match=f"No data files under s3://{bucket}/ds=2026-12-05/"):
        run_checks(s3, **arguments | {"fresh_uri": f"s3://{bucket}/ds=2026-12-05/"})
    with pytest.raises(FamilyDataError, match=f"s3://{bucket}/nothing.csv does not exist"):
        run_checks(s3, **arguments | {"training_uris": [f"s3://{bucket}/nothing.csv"]})


def test_a_dropped_column_fails_the_schema_check_although_no_line_parses(s3: Any, bucket: str) -> None:
    fresh = generate("BINARY", 300, seed=9).drop(columns=["x2"])
    checks = by_name(run_checks(s3, **partitions(s3, bucket, fresh)))
    assert checks["schema"].status == "fail"
    assert "x2" in checks["schema"].message
