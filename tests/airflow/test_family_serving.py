"""The family record and its serving: one champion whatever stops where, one writer, rollback, retention."""

from __future__ import annotations

import datetime as dt
import json
import threading
from typing import Any

import pytest

from aml_provider.family.model_family import ModelFamily
from aml_provider.family.record import FamilyBusy, FamilyRecord, FamilyStore
from aml_provider.family.serving import ChampionChanged, Writer
from aml_provider.hooks.aml import DATA_SOURCE, ML_MODEL, AmlError, AmlHook
from tests.airflow.data import SCHEMA, labelled_rows, trained_models
from tests.helpers import put_text, unique_id, wait_for

NO_GRACE = dt.timedelta(0)
SMOKE = {"x1": "0.5", "x2": "-0.2", "colour": "red"}


@pytest.fixture(scope="module")
def hook(aws_connection: str) -> AmlHook:
    return AmlHook(aws_conn_id=aws_connection)


@pytest.fixture(scope="module")
def models(ml: Any, s3: Any, bucket: str) -> list[str]:
    """Four trained BINARY models (and their data source), shared by the tests of this module."""
    location = put_text(s3, bucket, f"{unique_id('family')}/train.csv", labelled_rows(300))
    return trained_models(ml, location, 4, "family")[1]


def family_of(hook: AmlHook, s3: Any, bucket: str) -> ModelFamily:
    return ModelFamily(hook, s3, f"s3://{bucket}/families/", unique_id("fam"))


def writer(name: str, **kwargs: Any) -> Writer:
    return Writer(owner=f"dag/{name}/promote", run_id=name, grace=kwargs.pop("grace", NO_GRACE), **kwargs)


def promote(family: ModelFamily, model: str, expected: str | None, who: str = "run", **kwargs: Any) -> None:
    """A whole promotion as the operator runs it: begin, endpoint READY, commit."""
    serving = family.serving(writer(who, **kwargs))
    if serving.begin("promote", model, expected):
        family.hook.wait_for_endpoint(model, waiter_delay=0.2, waiter_max_attempts=100)
        serving.commit(model, SMOKE)


def endpoint(hook: AmlHook, model: str) -> str:
    return hook.endpoint_status(model)


def assert_one_serving_champion(family: ModelFamily, expected: str) -> None:
    """Every reader sees one champion (the record's pointer) and its endpoint is READY."""
    record = family.record()
    assert record.champion == expected
    assert endpoint(family.hook, expected) == "READY"


def roles(family: ModelFamily, model_ids: list[str]) -> dict[str, str | None]:
    return {model: family.hook.describe_tags(ML_MODEL, model).get("aml:role") for model in model_ids}


def test_the_record_is_changed_by_compare_and_set_only(s3: Any, bucket: str) -> None:
    store = FamilyStore(s3, f"s3://{bucket}/families/", unique_id("cas"))
    assert store.read() == (FamilyRecord(store.family), None)

    def add_member(index: int) -> None:
        store.update(lambda record: record.members.setdefault(f"m{index}", {"run_id": str(index)}))

    threads = [threading.Thread(target=add_member, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record = store.load()
    assert sorted(record.members) == [f"m{index}" for index in range(8)]  # no write was lost
    assert record.version == 8


def test_promotion_moves_the_pointer_then_tags_and_drains_the_old_endpoint(
    hook: AmlHook, s3: Any, bucket: str, models: list[str]
) -> None:
    family = family_of(hook, s3, bucket)
    first, second = models[0], models[1]
    for model in (first, second):
        family.register(model, {"logical_date": model})
    promote(family, first, None)
    assert_one_serving_champion(family, first)
    assert roles(family, [first, second]) == {first: "champion", second: "retired"}

    promote(family, second, first, grace=dt.timedelta(minutes=10))
    assert_one_serving_champion(family, second)
    record = family.record()
    assert (record.previous, [item["ml_model_id"] for item in record.draining]) == (first, [first])
    assert endpoint(hook, first) == "READY"  # traffic may still use it during the grace period
    assert roles(family, [first, second]) == {first: "previous-champion", second: "champion"}
    assert [entry["ml_model_id"] for entry in record.history] == [first, second]

    store = family.store
    store.update(lambda current: current.draining[0].update(until="2000-01-01T00:00:00+00:00"))
    family.serving(writer("later")).reconcile()
    assert family.record().draining == []
    hook.wait_for_endpoint(first, status="NONE", waiter_delay=0.2, waiter_max_attempts=100)


@pytest.mark.parametrize("stop_after", ["begin", "endpoint-ready", "pointer-moved"])
def test_a_promotion_stopped_at_any_step_leaves_one_champion_and_is_finished_by_a_retry(
    hook: AmlHook, s3: Any, bucket: str, models: list[str], stop_after: str
) -> None:
    family = family_of(hook, s3, bucket)
    champion, challenger = models[0], models[2]
    for model in (champion, challenger):
        family.register(model, {"logical_date": model})
    promote(family, champion, None)

    serving = family.serving(writer("crashing"))
    assert serving.begin("promote", challenger, champion)
    if stop_after != "begin":
        hook.wait_for_endpoint(challenger, waiter_delay=0.2, waiter_max_attempts=100)
    if stop_after == "pointer-moved":  # the pointer write happened, the tags did not
        family.store.update(lambda record: serving._move_pointer(record, challenger, None))
        assert_one_serving_champion(family, challenger)
    else:
        assert_one_serving_champion(family, champion)
        with pytest.raises(FamilyBusy, match="is busy"):  # another run cannot interleave
            family.serving(writer("intruder")).begin("promote", models[3], champion)

    promote(family, challenger, champion, who="crashing")  # the retry of the same task
    assert_one_serving_champion(family, challenger)
    assert family.record().pending is None
    assert roles(family, [champion, challenger]) == {champion: "previous-champion", challenger: "champion"}


def test_a_change_left_by_a_dead_writer_is_reverted_once_its_lease_expires(
    hook: AmlHook, s3: Any, bucket: str, models: list[str]
) -> None:
    family = family_of(hook, s3, bucket)
    champion, abandoned = models[0], models[3]
    promote(family, champion, None)
    assert family.serving(writer("dead", lease=NO_GRACE)).begin("promote", abandoned, champion)
    hook.wait_for_endpoint(abandoned, waiter_delay=0.2, waiter_max_attempts=100)

    family.serving(writer("next")).reconcile()
    assert family.record().pending is None
    assert_one_serving_champion(family, champion)
    hook.wait_for_endpoint(abandoned, status="NONE", waiter_delay=0.2, waiter_max_attempts=100)


def test_two_concurrent_promotions_of_one_family_give_one_champion(
    hook: AmlHook, s3: Any, bucket: str, models: list[str]
) -> None:
    family = family_of(hook, s3, bucket)
    promote(family, models[0], None)
    outcomes: dict[str, BaseException | None] = {}

    def race(model: str) -> None:
        try:
            promote(family, model, models[0], who=model)
            outcomes[model] = None
        except (FamilyBusy, ChampionChanged) as error:
            outcomes[model] = error

    threads = [threading.Thread(target=race, args=(model,)) for model in models[1:3]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [model for model, error in outcomes.items() if error is None]
    assert len(winners) == 1, outcomes
    assert_one_serving_champion(family, winners[0])
    loser = next(model for model in outcomes if model not in winners)
    with pytest.raises(ChampionChanged, match="decide against the new champion"):
        promote(family, loser, models[0], who=loser)  # its retry re-checks and never promotes blindly


def test_rollback_goes_to_any_retained_model_and_lists_the_valid_choices(
    hook: AmlHook, s3: Any, bucket: str, models: list[str]
) -> None:
    family = family_of(hook, s3, bucket)
    for index, model in enumerate(models[:3]):
        family.register(model, {"logical_date": f"2026-01-0{index + 1}"})
    promote(family, models[0], None)
    promote(family, models[1], models[0])
    assert family.rollback_target(None) == models[0]  # the previous champion by default
    with pytest.raises(AmlError, match=f"Valid choices: {models[2]}, {models[0]}"):
        family.rollback_target("ml-not-a-member")

    target = family.rollback_target(models[2])
    serving = family.serving(writer("rollback"))
    assert serving.begin("rollback", target, family.champion())
    hook.wait_for_endpoint(target, waiter_delay=0.2, waiter_max_attempts=100)
    serving.commit(target, SMOKE)
    assert_one_serving_champion(family, models[2])
    assert family.record().previous == models[1]


def test_the_threshold_of_the_champion_is_carried_to_the_next(
    hook: AmlHook, s3: Any, bucket: str, models: list[str]
) -> None:
    family = family_of(hook, s3, bucket)
    promote(family, models[0], None)
    hook.update_score_threshold(models[0], 0.7)
    promote(family, models[1], models[0])
    assert hook.get(ML_MODEL, models[1])["ScoreThreshold"] == pytest.approx(0.7)
    assert family.record().threshold == pytest.approx(0.7)


def test_cleanup_keeps_the_newest_members_and_the_evidence_champions_cite(
    hook: AmlHook, ml: Any, s3: Any, bucket: str
) -> None:
    location = put_text(s3, bucket, f"{unique_id('retention')}/train.csv", labelled_rows(200))
    sources = [unique_id("ds-keep") for _ in range(4)]
    for source in sources:
        ml.create_data_source_from_s3(
            DataSourceId=source,
            DataSpec={"DataLocationS3": location, "DataSchema": json.dumps(SCHEMA)},
            ComputeStatistics=True,
        )
    members = [unique_id("ml-keep") for _ in range(4)]
    for model, source in zip(members, sources, strict=True):
        ml.create_ml_model(MLModelId=model, MLModelType="BINARY", TrainingDataSourceId=source)
    for model in members:
        wait_for(ml, "MLModel", model)
    family = family_of(hook, s3, bucket)
    for index, (model, source) in enumerate(zip(members, sources, strict=True)):
        family.register(
            model, {"logical_date": f"2026-01-0{index + 1}", "evidence": {"data_sources": [source]}}
        )
    promote(family, members[0], None)  # the oldest serves: it and its evidence must stay

    planned = family.cleanup(keep_runs=1, dry_run=True)
    assert planned[ML_MODEL.name] == [members[2], members[1]]
    assert all(
        hook.get(ML_MODEL, model)["Status"] == "COMPLETED" for model in members
    )  # a dry run deletes nothing

    deleted = family.cleanup(keep_runs=1)
    assert deleted == planned
    statuses = {model: hook.get(ML_MODEL, model)["Status"] for model in members}
    assert statuses == {
        members[0]: "COMPLETED",
        members[1]: "DELETED",
        members[2]: "DELETED",
        members[3]: "COMPLETED",
    }
    assert hook.get(DATA_SOURCE, sources[0])["Status"] == "COMPLETED"  # cited by the champion
    assert hook.get(DATA_SOURCE, sources[1])["Status"] == "DELETED"
    assert sorted(family.record().members) == sorted([members[0], members[3]])


def test_cleanup_keeps_a_challenger_another_run_may_still_promote(
    hook: AmlHook, ml: Any, s3: Any, bucket: str
) -> None:
    """A challenger decided "promote" (waiting for approval, say) outlives the clean-up of other runs of
    the family, whatever ``keep_runs``; its own run's clean-up settles it, and then it goes like any other."""
    location = put_text(s3, bucket, f"{unique_id('in-flight')}/train.csv", labelled_rows(200))
    champion, waiting, newest = trained_models(ml, location, 3, "in-flight")[1]
    family = family_of(hook, s3, bucket)

    def decided(model: str, dag_id: str, run_id: str, day: int, decision: str, against: str | None) -> None:
        facts = {"dag_id": dag_id, "run_id": run_id, "logical_date": f"2026-01-0{day}"}
        family.register(model, {**facts, "decision": decision, "champion": against})

    decided(champion, "aml_retrain", "first", 1, "promote", None)
    promote(family, champion, None)
    decided(waiting, "aml_retrain_manual", "manual", 2, "promote", champion)
    decided(newest, "aml_retrain", "daily", 3, "keep", champion)

    assert family.cleanup(keep_runs=1, own_run=("aml_retrain", "daily"))[ML_MODEL.name] == []
    assert family.record().members[newest]["settled"] is True
    assert family.cleanup(keep_runs=1, own_run=("aml_retrain_manual", "manual"))[ML_MODEL.name] == [waiting]
    assert hook.get(ML_MODEL, waiting)["Status"] == "DELETED"
    assert sorted(family.record().members) == sorted([champion, newest])
