"""
The steps of one retrain run that are not Amazon ML calls: plan the data, check it, decide, report.

Each step that ends a run (no new data, a failed data check, a decision) writes the decision report
(``<reports_uri><family>/<ds>/decision.json`` and ``decision.html``) and one ``decision`` event in the
decision log, so every run leaves the same trail whatever it decided.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aml_provider.family import checks as data_checks, decision as gates, evidence as paired, report
from aml_provider.family.holdout import plan_holdout
from aml_provider.family.layout import REPORT_HTML, REPORT_JSON, split_s3_uri
from aml_provider.family.model_family import ModelFamily
from aml_provider.family.partitions import MissingPartition, Plan, plan_run


def read_schema(s3: Any, uri: str) -> dict[str, Any]:
    """The Amazon ML schema stored at ``uri``, parsed."""
    bucket, key = split_s3_uri(uri)
    return dict(json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def report_uri(family: ModelFamily, ds: str, name: str = REPORT_HTML) -> str:
    return f"{family.prefix}{ds}/{name}"


def plan(
    family: ModelFamily,
    *,
    run: Mapping[str, str],
    data_uri: str,
    template: str,
    interval: tuple[dt.datetime, dt.datetime],
    training_window: int,
    work_uri: str,
    skip_missing: bool = False,
    holdout: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """
    Choose and assemble the run's data; the result says whether (and why not) to train.

    ``holdout`` (``{"percent", "header"}``) takes every file under ``data_uri`` and splits its rows by
    a hash with the family as seed, for data without dated partitions.
    """
    record = family.record()
    run_uri = f"{work_uri.rstrip('/')}/{family.family}/{run['ds']}/"
    try:
        if holdout:
            chosen = plan_holdout(
                family.s3,
                data_uri=data_uri,
                run_uri=run_uri,
                seed=family.family,
                percent=float(holdout["percent"]),
                header=bool(holdout["header"]),
                champion_training=record.champion_training(),
            )
        else:
            chosen = plan_run(
                family.s3,
                data_uri=data_uri,
                template=template,
                interval=interval,
                training_window=training_window,
                run_uri=run_uri,
                champion_training=record.champion_training(),
            )
    except MissingPartition as error:
        if not skip_missing:
            raise
        chosen = Plan([], [], "", "", 0, 0, skip_reason=f"no new partition: {error}")
    result = {
        **chosen.to_dict(),
        "champion": record.champion,
        "champion_training": record.champion_training(),
    }
    if chosen.skip_reason:
        publish(
            family,
            run,
            _report(run, result, [], {"action": "skip", "reason": chosen.skip_reason, "gates": []}),
        )
    return result


def check(
    family: ModelFamily,
    *,
    run: Mapping[str, str],
    plan: Mapping[str, Any],
    schema: Mapping[str, Any],
    settings: Mapping[str, str] | None,
    min_rows: int,
) -> dict[str, Any]:
    """Data checks over the fresh partition and the window; a failing check ends the run (rejected)."""
    found = data_checks.run_checks(
        family.s3,
        schema=dict(schema),
        fresh_uri=plan["evaluation_uri"],
        training_uris=[plan["training_uri"]],
        reference_uris=list(plan["champion_training"]) or None,
        settings=dict(settings or {}),
        min_rows=min_rows,
    )
    listed = [item.to_dict() for item in found]
    failed = [item for item in found if item.status == "fail"]
    if failed:
        reason = "data check failed: " + "; ".join(f"{item.name}: {item.message}" for item in failed)
        publish(family, run, _report(run, plan, listed, {"action": "reject", "reason": reason, "gates": []}))
    return {"checks": listed, "passed": not failed}


def decide(
    family: ModelFamily,
    *,
    run: Mapping[str, str],
    plan: Mapping[str, Any],
    schema: Mapping[str, Any],
    model_type: str,
    contestants: Sequence[Mapping[str, Any]],
    evaluations: Sequence[Mapping[str, Any]],
    checks: Sequence[Mapping[str, Any]] | None,
    data_sources: Sequence[str],
    rules: Mapping[str, Any],
    extra_evidence: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Compare challenger and champion on the same rows, apply the gates, report, register the challenger."""
    confidence = float(rules["confidence"])
    evidence = paired.compare_models(
        family.s3,
        model_type=model_type,
        evaluation_data_uri=plan["evaluation_uri"],
        schema=dict(schema),
        contestants=[{key: str(value) for key, value in c.items()} for c in contestants],
        confidence=confidence,
    )
    found = [data_checks.Check.from_dict(dict(item)) for item in checks or []]
    verdict = gates.decide(
        evidence,
        found,
        min_improvement=float(rules["min_improvement"]),
        confidence=confidence,
        floor=None if rules.get("floor") in (None, "", "None") else float(rules["floor"]),
        min_rows=int(rules["min_rows"]),
    )
    roles = {c["role"]: c["ml_model_id"] for c in contestants}
    facts = {
        **_run_facts(run, plan),
        "model_ids": roles,
        "evaluation_ids": {_role_of(roles, e["ml_model_id"]): e["evaluation_id"] for e in evaluations},
        "amazon_ml_metrics": {_role_of(roles, e["ml_model_id"]): e["metric_value"] for e in evaluations},
        "rules": dict(rules),
    }
    document = report.build_report(evidence=evidence, checks=found, decision=verdict, run=facts)
    outcome = {
        "action": verdict.action,
        "reason": verdict.reason,
        "ml_model_id": roles["challenger"],
        "champion": roles.get("champion"),
        "metric": _metric_of(document, "challenger"),
        "report_uri": publish(family, run, document),
    }
    family.register(
        roles["challenger"],
        {
            "dag_id": run.get("dag_id", ""),
            "run_id": run["run_id"],
            "logical_date": run["logical_date"],
            "champion": roles.get("champion"),
            "training": list(plan["training_partitions"]),
            "metric": outcome["metric"],
            "decision": verdict.action,
            "evidence": _evidence(data_sources, evaluations, contestants, extra_evidence or {}),
        },
    )
    return outcome


def _evidence(
    data_sources: Sequence[str],
    evaluations: Sequence[Mapping[str, Any]],
    contestants: Sequence[Mapping[str, Any]],
    extra: Mapping[str, Sequence[str]],
) -> dict[str, list[str]]:
    """Entity IDs by kind that the decision cites (and clean-up removes with the member)."""
    cited = {
        "data_sources": list(data_sources),
        "evaluations": [e["evaluation_id"] for e in evaluations],
        "batch_predictions": [c["batch_prediction_id"] for c in contestants],
    }
    for kind, ids in extra.items():
        cited[kind] = cited.get(kind, []) + [i for i in ids if i not in cited.get(kind, [])]
    return cited


def _report(
    run: Mapping[str, str], plan: Mapping[str, Any], checks: list[dict[str, Any]], decision: dict[str, Any]
) -> dict[str, Any]:
    """The report of a run that ended before any model was compared (skipped, or stopped by a check)."""
    return {
        "version": 1,
        "run": _run_facts(run, plan),
        "evidence": None,
        "checks": checks,
        "decision": decision,
    }


def _run_facts(run: Mapping[str, str], plan: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **run,
        "training_partitions": list(plan.get("training_partitions", [])),
        "evaluation_partition": ", ".join(plan.get("evaluation_partitions", [])),
        "training_files": plan.get("training_files"),
        "evaluation_files": plan.get("evaluation_files"),
    }


def _role_of(roles: Mapping[str, str], ml_model_id: str) -> str:
    return next(role for role, model in roles.items() if model == ml_model_id)


def publish(family: ModelFamily, run: Mapping[str, str], document: Mapping[str, Any]) -> str:
    """Write decision.json and decision.html for the run and its decision event; return the HTML's URI."""
    document = {**document, "run": {"family": family.family, **document.get("run", {})}}
    html_uri = report_uri(family, run["ds"])
    bucket, json_key = split_s3_uri(report_uri(family, run["ds"], REPORT_JSON))
    family.s3.put_object(
        Bucket=bucket,
        Key=json_key,
        Body=json.dumps(document, indent=2, default=str).encode(),
        ContentType="application/json",
    )
    _, html_key = split_s3_uri(html_uri)
    family.s3.put_object(
        Bucket=bucket,
        Key=html_key,
        Body=report.render_html(document).encode(),
        ContentType="text/html; charset=utf-8",
    )
    family.log.append("decision", run["run_id"], **_event_facts(document, html_uri))
    return html_uri


def _event_facts(document: Mapping[str, Any], html_uri: str) -> dict[str, Any]:
    """What the decision log keeps of a report: enough for the history table, plus where the report is."""
    decision, run = document["decision"], document["run"]
    evidence = document.get("evidence") or {}
    return {
        "logical_date": run.get("logical_date"),
        "ds": run.get("ds"),
        "action": decision.get("action"),
        "reason": decision.get("reason"),
        "ml_model_id": (run.get("model_ids") or {}).get("challenger"),
        "metric_name": evidence.get("metric_name", ""),
        "challenger": _metric_of(document, "challenger"),
        "champion": _metric_of(document, "champion"),
        "improvement": evidence.get("improvement"),
        "training_rows": _check_value(document, "rows_training"),
        "evaluation_rows": (evidence.get("rows") or {}).get("compared")
        or _check_value(document, "rows_evaluation"),
        "training_partitions": run.get("training_partitions", []),
        "evaluation_partition": run.get("evaluation_partition"),
        "report_uri": html_uri,
    }


def _metric_of(document: Mapping[str, Any], role: str) -> dict[str, Any] | None:
    for model in (document.get("evidence") or {}).get("models", []):
        if model.get("role") == role:
            low, high = model.get("interval") or (None, None)
            return {
                "ml_model_id": model.get("ml_model_id"),
                "value": model.get("metric"),
                "low": low,
                "high": high,
            }
    return None


def _check_value(document: Mapping[str, Any], name: str) -> Any:
    return next(
        (item.get("value") for item in document.get("checks") or [] if item.get("name") == name), None
    )
