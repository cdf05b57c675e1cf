"""Every step of retrain, promotion, rollback and clean-up x every kind of fault ends with one sound champion.

The cells are built in :mod:`tests.airflow.fault_matrix`. A fast subset (one cell per step group and
per fault kind) runs by default; the whole matrix with ``make test-faults`` (``-m faults``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.airflow.fault_matrix import FAULT_KINDS, STEPS, Matrix, Step, run_cell
from tests.airflow.test_family_dags import Family

#: The cells of the default suite: each step group (data and training, scoring, promotion, rollback,
#: clean-up) and each fault kind once.
FAST = {
    ("training", "task fails, then retries"),
    ("evaluation: champion", "service killed and restarted"),
    ("promote: pointer", "task process killed, then retried"),
    ("rollback: endpoint", "service answers 5xx"),
    ("clean-up: delete", "task fails, then retries"),
}


def cells() -> Iterator[Any]:
    for step in STEPS:
        for kind in FAULT_KINDS:
            marks = [] if (step.name, kind) in FAST else [pytest.mark.faults]
            yield pytest.param(step, kind, marks=marks, id=f"{step.name} | {kind}")


@pytest.mark.parametrize(("step", "kind"), list(cells()))
def test_the_family_keeps_one_sound_champion(
    matrix: Matrix, s3: Any, bucket: str, step: Step, kind: str
) -> None:
    run_cell(matrix, Family(s3, matrix.ml, bucket), step, kind)
