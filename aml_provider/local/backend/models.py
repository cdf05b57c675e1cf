"""CreateMLModel and UpdateMLModel."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aml_provider.local.backend import entities
from aml_provider.local.backend.documents import data_source_schema
from aml_provider.local.backend.endpoints import NO_ENDPOINT
from aml_provider.local.backend.kinds import DATA_SOURCE, ML_MODEL
from aml_provider.local.backend.services import Services
from aml_provider.local.errors import InvalidInputException
from aml_provider.local.store import StoredEntity, now

if TYPE_CHECKING:
    from aml_provider.local.data import Schema

#: The model type that learns a target of each attribute type.
MODEL_TYPE_OF_TARGET = {"BINARY": "BINARY", "NUMERIC": "REGRESSION", "CATEGORICAL": "MULTICLASS"}


def create_ml_model(services: Services, request: dict[str, Any], caller_arn: str) -> dict[str, Any]:
    def build() -> tuple[dict[str, Any], dict[str, str]]:
        data_source = entities.reference(
            services, DATA_SOURCE, request["TrainingDataSourceId"], "TrainingDataSourceId"
        )
        schema = _known_schema(services, data_source)
        _check_recipe(request, schema)
        if schema is not None:
            _check_model_type(request["MLModelType"], schema, data_source)
        document = entities.new_document(
            ML_MODEL,
            request,
            caller_arn,
            TrainingDataSourceId=data_source.id,
            MLModelType=request["MLModelType"],
            TrainingParameters=_training_parameters(request.get("Parameters")),
            InputDataLocationS3=data_source.document.get("DataLocationS3"),
            ScoreThreshold=0.5 if request["MLModelType"] == "BINARY" else None,
            EndpointInfo=NO_ENDPOINT,
        )
        return document, {}

    return entities.create(services, ML_MODEL, request, build)


def update_ml_model(services: Services, request: dict[str, Any], _caller_arn: str) -> dict[str, Any]:
    """Rename the model and/or set the score threshold of a COMPLETED BINARY model."""
    model_id = request["MLModelId"]
    model = entities.require_changeable(services, ML_MODEL, model_id)
    changes: dict[str, Any] = {}
    if request.get("MLModelName") is not None:
        changes["Name"] = request["MLModelName"]
    if request.get("ScoreThreshold") is not None:
        _check_threshold(model, request["ScoreThreshold"])
        changes["ScoreThreshold"] = float(request["ScoreThreshold"])
        changes["ScoreThresholdLastUpdatedAt"] = now()
    if not changes:
        raise InvalidInputException("UpdateMLModel needs MLModelName, ScoreThreshold or both.")
    entities.set_members(services, ML_MODEL, model_id, changes)
    if "ScoreThreshold" in changes:
        services.endpoints.set_threshold(model_id, changes["ScoreThreshold"])
    return {"MLModelId": model_id}


def _check_threshold(model: StoredEntity, threshold: float) -> None:
    if model.document["MLModelType"] != "BINARY":
        raise InvalidInputException(
            f"ScoreThreshold applies to BINARY models only; MLModel '{model.id}' is "
            f"{model.document['MLModelType']}."
        )
    if not 0.0 <= threshold <= 1.0:
        raise InvalidInputException(f"ScoreThreshold must be between 0 and 1, got {threshold}.")
    if model.status != "COMPLETED":
        raise InvalidInputException(
            f"ScoreThreshold can be set once MLModel '{model.id}' is COMPLETED; it is {model.status}."
        )


def _check_recipe(request: dict[str, Any], schema: Schema | None) -> None:
    """The inline recipe must parse and, when the training schema is known, suit its variables' types."""
    if request.get("Recipe") and request.get("RecipeUri"):
        raise InvalidInputException(
            "Give either Recipe or RecipeUri, not both (leave both empty for the default recipe)."
        )
    if request.get("Recipe"):
        from aml_provider.local.recipes import FeaturePipeline, parse_recipe

        try:
            recipe = parse_recipe(request["Recipe"])
            if schema is not None:
                FeaturePipeline.build(recipe, schema)
        except InvalidInputException as error:
            raise InvalidInputException(f"Recipe: {error.message}") from error


def _training_parameters(parameters: dict[str, str] | None) -> dict[str, str]:
    from aml_provider.local.learners import parse_training_parameters

    try:
        return parse_training_parameters(parameters).to_api()
    except InvalidInputException as error:
        raise InvalidInputException(f"Parameters: {error.message}") from error


def _known_schema(services: Services, data_source: StoredEntity) -> Schema | None:
    """The training datasource's schema when it is known already (inline, or read by its job)."""
    from aml_provider.local.data import parse_schema

    schema_text = data_source_schema(services, data_source)
    return parse_schema(schema_text) if schema_text else None


def _check_model_type(model_type: str, schema: Schema, data_source: StoredEntity) -> None:
    """The training schema's target type must suit the model type."""
    if schema.target is None:
        return
    target_type = str(getattr(schema.type_of(schema.target), "value", schema.type_of(schema.target)))
    expected = MODEL_TYPE_OF_TARGET.get(target_type.upper())
    if expected is None:
        raise InvalidInputException(
            f"The target '{schema.target}' of TrainingDataSourceId '{data_source.id}' is {target_type}; "
            "a model needs a BINARY, NUMERIC or CATEGORICAL target."
        )
    if expected != model_type:
        raise InvalidInputException(
            f"MLModelType {model_type} does not suit the {target_type} target '{schema.target}' of "
            f"TrainingDataSourceId '{data_source.id}'; use MLModelType {expected}."
        )
