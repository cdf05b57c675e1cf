"""What each console page reads from the backend (documents, job files, Describe results) before drawing."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from typing import Any, Protocol
from urllib.parse import quote

from botocore.exceptions import BotoCoreError, ClientError

from aml_provider.local.errors import AmlError, InvalidInputException, ResourceNotFoundException
from aml_provider.local.protocol.console import index
from aml_provider.local.protocol.console.batch_prediction import batch_prediction_page
from aml_provider.local.protocol.console.data_source import data_source_page
from aml_provider.local.protocol.console.evaluation import evaluation_page
from aml_provider.local.protocol.console.model import model_page
from aml_provider.local.protocol.validation import service_model, validate_input
from aml_provider.pages.families import FamilyNotFound, FamilyReader, Report
from aml_provider.pages.family import FamilyData, Site, families_page, family_page
from aml_provider.pages.layout import KINDS, PLURALS, entity_href, page


class ConsoleBackend(Protocol):
    """What the console needs of the backend."""

    def call(self, operation: str, request: dict[str, Any], caller_arn: str) -> dict[str, Any]: ...
    def entity_document(self, kind: str, entity_id: str) -> dict[str, Any]: ...
    def artifact(self, kind: str, entity_id: str, name: str) -> str | None: ...
    @property
    def families(self) -> FamilyReader: ...


@dataclass(frozen=True)
class Page:
    """A rendered console answer: HTML with a status, or a redirect."""

    status: int
    html: str = ""
    redirect: str = ""


@dataclass
class Console:
    """The console's pages, read through the service's own operations as `caller_arn`."""

    backend: ConsoleBackend
    caller_arn: str

    def home(self) -> Page:
        listings = {kind: self._describe(kind, index.RECENT, pages=1) for kind in KINDS}
        return Page(200, index.home_page(listings))

    def kind_index(self, kind: str, number: int, state: str = "") -> Page:
        if kind not in KINDS:
            return Page(404, index.not_found_page(kind, ""))
        number = max(number, 1)
        state = state if state in index.STATUSES else ""
        results, more = self._describe(kind, index.PAGE_SIZE, pages=number, state=state)
        return Page(200, index.kind_page(kind, results, number, more, state))

    def entity(self, kind: str, entity_id: str, notice: str = "", error: str = "") -> Page:
        if kind not in KINDS:
            return Page(404, index.not_found_page(kind, entity_id))
        try:
            document = self.backend.entity_document(kind, entity_id)
        except ResourceNotFoundException:
            return Page(404, index.not_found_page(kind, entity_id))
        if kind == "Evaluation":
            return Page(400 if error else 200, self._evaluation(document, notice, error))
        if error:
            return Page(400, index.error_page(error, kind, entity_id))
        render: dict[str, Callable[[dict[str, Any]], str]] = {
            "DataSource": self._data_source,
            "MLModel": self._model,
            "BatchPrediction": self._batch_prediction,
        }
        return Page(200, render[kind](document))

    def set_score_threshold(self, model_id: str, form: dict[str, str]) -> Page:
        """UpdateMLModel(ScoreThreshold) from the evaluation page's form, validated as the API validates it;
        back to the evaluation page (or the model's) with what happened."""
        back_kind, back_id = (
            ("Evaluation", form["EvaluationId"]) if form.get("EvaluationId") else ("MLModel", model_id)
        )
        try:
            request = {"MLModelId": model_id, "ScoreThreshold": _threshold(form.get("ScoreThreshold", ""))}
            validate_input(service_model().operation_model("UpdateMLModel").input_shape, request)
            self.backend.call("UpdateMLModel", request, self.caller_arn)
        except AmlError as err:
            return self.entity(back_kind, back_id, error=f"The ScoreThreshold was not set: {err.message}")
        return Page(303, redirect=f"{entity_href(back_kind, back_id)}?threshold-set=1")

    def families(self) -> Page:
        """Every family under the configured families URIs (``--families-uri``)."""
        reader, found, problems = self.backend.families, [], []
        if not reader.reports_uris:
            problems.append("No families URI is configured: start the service with --families-uri s3://…/")
        for reports_uri in reader.reports_uris:
            try:
                found += [reader.summary(reports_uri, name) for name in reader.families(reports_uri)]
            except (ClientError, BotoCoreError) as error:
                problems.append(f"Cannot read the families under {reports_uri}: {error}")
        return Page(200, families_page(found, _site(reader), problems))

    def family(self, name: str, reports_uri: str = "") -> Page:
        try:
            data = self._family(self.backend.families.locate(name, reports_uri or None), name)
        except FamilyNotFound as error:
            return Page(404, page("Not found", [f'<p class="alert">{escape(str(error))}</p>'], _CRUMBS))
        return Page(200, family_page(data, _site(self.backend.families)))

    def family_report(self, name: str, path: str, reports_uri: str = "") -> Report | None:
        """A decision report of the family, served from S3 so the browser needs no S3 access."""
        reader = self.backend.families
        try:
            return reader.report(reader.locate(name, reports_uri or None), name, path)
        except FamilyNotFound:
            return None

    def _family(self, reports_uri: str, name: str) -> FamilyData:
        reader = self.backend.families
        record, events = reader.record(reports_uri, name), reader.events(reports_uri, name)
        ids = {*(record.get("members") or {}), record.get("champion"), record.get("previous")} - {None}
        models = {model_id: model for model_id in ids if (model := self._find_model(model_id))}
        return FamilyData(name, reports_uri, record, events, models, _rollback_choices(record, models))

    def _find_model(self, model_id: str) -> dict[str, Any] | None:
        try:
            return self.backend.call("GetMLModel", {"MLModelId": model_id}, self.caller_arn)
        except ResourceNotFoundException:
            return None

    def _describe(
        self, kind: str, limit: int, pages: int, state: str = ""
    ) -> tuple[list[dict[str, Any]], bool]:
        """Page `pages` (from 1) of `limit` entities of `kind`, newest first, and whether more follow."""
        request: dict[str, Any] = {"FilterVariable": "CreatedAt", "SortOrder": "dsc", "Limit": limit}
        if state:
            request = {"FilterVariable": "Status", "EQ": state, "SortOrder": "dsc", "Limit": limit}
        result = self.backend.call(f"Describe{PLURALS[kind]}", request, self.caller_arn)
        for _ in range(pages - 1):
            if "NextToken" not in result:
                return [], False
            request = {**request, "NextToken": result["NextToken"]}
            result = self.backend.call(f"Describe{PLURALS[kind]}", request, self.caller_arn)
        return result.get("Results", []), "NextToken" in result

    def _json(self, kind: str, entity_id: str, name: str) -> Any:
        text = self.backend.artifact(kind, entity_id, name)
        return json.loads(text) if text else None

    def _data_source(self, document: dict[str, Any]) -> str:
        return data_source_page(
            document, self._json("DataSource", document["DataSourceId"], "statistics.json")
        )

    def _model(self, document: dict[str, Any]) -> str:
        model_id = document["MLModelId"]
        tags = self.backend.call(
            "DescribeTags", {"ResourceId": model_id, "ResourceType": "MLModel"}, self.caller_arn
        )
        dependents = {kind: self._of_model(kind, model_id) for kind in ("Evaluation", "BatchPrediction")}
        log = self.backend.artifact("MLModel", model_id, "log.txt") or ""
        return model_page(
            document, tags.get("Tags", []), dependents["Evaluation"], dependents["BatchPrediction"], log
        )

    def _evaluation(self, document: dict[str, Any], notice: str = "", error: str = "") -> str:
        report = self._json("Evaluation", document["EvaluationId"], "report.json")
        model = None
        with contextlib.suppress(ResourceNotFoundException):
            model = self.backend.entity_document("MLModel", document["MLModelId"])
        if notice and model:
            notice = (
                f"The ScoreThreshold of MLModel {model['MLModelId']} is now {model.get('ScoreThreshold')}."
            )
        return evaluation_page(document, report, model, notice, error)

    def _batch_prediction(self, document: dict[str, Any]) -> str:
        preview = self._json("BatchPrediction", document["BatchPredictionId"], "preview.json")
        return batch_prediction_page(document, preview)

    def _of_model(self, kind: str, model_id: str) -> list[dict[str, Any]]:
        request = {"FilterVariable": "MLModelId", "EQ": model_id, "Limit": 100}
        results = self.backend.call(f"Describe{PLURALS[kind]}", request, self.caller_arn).get("Results", [])
        return sorted(results, key=lambda e: e.get("CreatedAt") or 0, reverse=True)


_CRUMBS = [("Console", "/console"), ("Families", "/console/families")]


def _site(reader: FamilyReader) -> Site:
    """Links of the console's family pages; the reports URI is named only when several are configured."""

    def query(data: FamilyData) -> str:
        return f"?reports_uri={quote(data.reports_uri, safe='')}" if len(reader.reports_uris) > 1 else ""

    def base(data: FamilyData) -> str:
        return f"/console/families/{quote(data.family, safe='')}"

    return Site(
        frame=lambda title, body, crumbs: page(title, body, [("Console", "/console"), *crumbs]),
        index_href="/console/families",
        family_href=lambda data: base(data) + query(data),
        report_href=lambda data, path: f"{base(data)}/reports/{quote(path)}{query(data)}",
        model_href=lambda model_id: entity_href("MLModel", model_id),
    )


def _rollback_choices(record: dict[str, Any], models: dict[str, dict[str, Any]]) -> list[str]:
    """As ``ModelFamily.rollback_choices``: COMPLETED models other than the champion, previous first, then
    the members newest first."""
    members = record.get("members") or {}
    ordered = sorted(members, key=lambda m: members[m].get("logical_date", ""), reverse=True)
    if record.get("previous") and record["previous"] not in ordered:
        ordered.insert(0, record["previous"])
    return [
        m for m in ordered if m != record.get("champion") and models.get(m, {}).get("Status") == "COMPLETED"
    ]


def _threshold(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise InvalidInputException(
            f"ScoreThreshold must be a number between 0 and 1, got {text!r}."
        ) from None
