"""Training parameters of CreateMLModel: parsed and checked once, echoed back as GetMLModel.TrainingParameters."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aml_provider.local.errors import InvalidInputException

MAX_PASSES = "sgd.maxPasses"
SHUFFLE_TYPE = "sgd.shuffleType"
L1_AMOUNT = "sgd.l1RegularizationAmount"
L2_AMOUNT = "sgd.l2RegularizationAmount"
MAX_MODEL_SIZE = "sgd.maxMLModelSizeInBytes"
#: Not a CreateMLModel parameter, but GetMLModel reports it: clients that copy one model's parameters into
#: the next send it back, so it is accepted with its only value.
ALGORITHM = "algorithm"
DEFAULT_L2 = 1e-6

_KNOWN = (MAX_PASSES, SHUFFLE_TYPE, L1_AMOUNT, L2_AMOUNT, MAX_MODEL_SIZE)


@dataclass(frozen=True)
class TrainingParameters:
    """Effective SGD settings: passes, one-off shuffle, L1 or L2 amount and the model-size cap."""

    max_passes: int = 10
    shuffle: bool = False
    l1: float = 0.0
    l2: float = DEFAULT_L2
    max_model_size: int = 33_554_432

    def to_api(self) -> dict[str, str]:
        """The five `sgd.*` keys plus `algorithm`, as strings, the way GetMLModel reports them."""
        return {
            ALGORITHM: "sgd",
            MAX_PASSES: str(self.max_passes),
            SHUFFLE_TYPE: "auto" if self.shuffle else "none",
            L1_AMOUNT: repr(self.l1),
            L2_AMOUNT: repr(self.l2),
            MAX_MODEL_SIZE: str(self.max_model_size),
        }


def parse_training_parameters(params: dict[str, str] | None) -> TrainingParameters:
    """Validate CreateMLModel.Parameters; raise InvalidInputException naming the key and its allowed values."""
    params = params or {}
    _check_algorithm(params)
    for key in (key for key in params if key != ALGORITHM):
        if key not in _KNOWN:
            raise InvalidInputException(
                f"Unknown training parameter {key!r}; allowed keys are {', '.join(_KNOWN)}."
            )
    l1 = _amount(params, L1_AMOUNT)
    l2 = _amount(params, L2_AMOUNT)
    if l1 > 0 and l2 > 0:
        raise InvalidInputException(
            f"{L1_AMOUNT} and {L2_AMOUNT} cannot both be set: give one of them, or set the other to 0."
        )
    if l1 == 0 and l2 == 0:
        l2 = DEFAULT_L2
    return TrainingParameters(
        max_passes=_integer(params, MAX_PASSES, 1, 10_000, 10),
        shuffle=_shuffle(params),
        l1=l1,
        l2=l2,
        max_model_size=_integer(params, MAX_MODEL_SIZE, 100_000, 2_147_483_648, 33_554_432),
    )


def _integer(params: dict[str, str], key: str, low: int, high: int, default: int) -> int:
    if key not in params:
        return default
    text = str(params[key]).strip()
    try:
        value = int(text)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise InvalidInputException(
            f"Training parameter {key} must be a whole number from {low} to {high}; got {params[key]!r}."
        )
    return value


def _amount(params: dict[str, str], key: str) -> float:
    if key not in params:
        return 0.0
    try:
        value = float(str(params[key]).strip())
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise InvalidInputException(
            f"Training parameter {key} must be a number from 0 to {1.7976931348623157e308!r} "
            f"(e.g. 1e-6); got {params[key]!r}."
        )
    return value


def _shuffle(params: dict[str, str]) -> bool:
    text = str(params.get(SHUFFLE_TYPE, "none")).strip().lower()
    if text not in ("auto", "none"):
        raise InvalidInputException(
            f"Training parameter {SHUFFLE_TYPE} must be 'auto' or 'none'; got {params[SHUFFLE_TYPE]!r}."
        )
    return text == "auto"


def _check_algorithm(params: dict[str, str]) -> None:
    """`algorithm`, as GetMLModel echoes it, may come back; Amazon ML has one learning algorithm, sgd."""
    if ALGORITHM in params and str(params[ALGORITHM]).strip().lower() != "sgd":
        raise InvalidInputException(
            f"Training parameter {ALGORITHM} must be 'sgd' (the only algorithm); got {params[ALGORITHM]!r}."
        )
