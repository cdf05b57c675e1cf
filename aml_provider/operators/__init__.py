"""Operators for Amazon Machine Learning."""

from __future__ import annotations

from aml_provider.operators.aml import (
    AmlCreateBatchPredictionOperator,
    AmlCreateEvaluationOperator,
    AmlCreateMLModelOperator,
    AmlCreateRealtimeEndpointOperator,
    AmlDeleteRealtimeEndpointOperator,
    AmlPredictOperator,
    AmlRealtimeEndpointOperator,
)
from aml_provider.operators.base import (
    AmlBaseOperator,
    AmlCreateEntityOperator,
    AmlWaitingOperator,
)
from aml_provider.operators.champion import (
    AmlChampionSwitchOperator,
    AmlPromoteMLModelOperator,
    AmlRollbackMLModelOperator,
)
from aml_provider.operators.datasources import (
    AmlCreateDataSourceFromDatabaseOperator,
    AmlCreateDataSourceFromRDSOperator,
    AmlCreateDataSourceFromRedshiftOperator,
    AmlCreateDataSourceFromS3Operator,
    AmlCreateDataSourceOperator,
)
from aml_provider.operators.entities import (
    AmlAddTagsOperator,
    AmlDeleteBatchPredictionOperator,
    AmlDeleteDataSourceOperator,
    AmlDeleteEntityOperator,
    AmlDeleteEvaluationOperator,
    AmlDeleteMLModelOperator,
    AmlEntityOperator,
    AmlRemoveTagsOperator,
    AmlUpdateBatchPredictionOperator,
    AmlUpdateDataSourceOperator,
    AmlUpdateEvaluationOperator,
    AmlUpdateMLModelOperator,
    AmlUpdateNameOperator,
)
from aml_provider.operators.family import (
    AmlCheckDataOperator,
    AmlCleanupOperator,
    AmlDecideOperator,
    AmlFamilyMixin,
    AmlFamilyOperator,
    AmlFindChampionOperator,
    AmlPlanRetrainOperator,
)

__all__ = [
    "AmlAddTagsOperator",
    "AmlBaseOperator",
    "AmlChampionSwitchOperator",
    "AmlCheckDataOperator",
    "AmlCleanupOperator",
    "AmlCreateBatchPredictionOperator",
    "AmlCreateDataSourceFromDatabaseOperator",
    "AmlCreateDataSourceFromRDSOperator",
    "AmlCreateDataSourceFromRedshiftOperator",
    "AmlCreateDataSourceFromS3Operator",
    "AmlCreateDataSourceOperator",
    "AmlCreateEntityOperator",
    "AmlCreateEvaluationOperator",
    "AmlCreateMLModelOperator",
    "AmlCreateRealtimeEndpointOperator",
    "AmlDecideOperator",
    "AmlDeleteBatchPredictionOperator",
    "AmlDeleteDataSourceOperator",
    "AmlDeleteEntityOperator",
    "AmlDeleteEvaluationOperator",
    "AmlDeleteMLModelOperator",
    "AmlDeleteRealtimeEndpointOperator",
    "AmlEntityOperator",
    "AmlFamilyMixin",
    "AmlFamilyOperator",
    "AmlFindChampionOperator",
    "AmlPlanRetrainOperator",
    "AmlPredictOperator",
    "AmlPromoteMLModelOperator",
    "AmlRealtimeEndpointOperator",
    "AmlRemoveTagsOperator",
    "AmlRollbackMLModelOperator",
    "AmlUpdateBatchPredictionOperator",
    "AmlUpdateDataSourceOperator",
    "AmlUpdateEvaluationOperator",
    "AmlUpdateMLModelOperator",
    "AmlUpdateNameOperator",
    "AmlWaitingOperator",
]
