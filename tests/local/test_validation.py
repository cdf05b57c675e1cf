"""The quick acceptance of flat requests (Predict's) agrees with the full walk of the input shape."""

from __future__ import annotations

from typing import Any

from botocore.model import StructureShape

from aml_provider.local.protocol import service_model
from aml_provider.local.protocol.validation import _flat_checks, _plainly_valid, _problems
from tests.local.bad_requests import baseline, generated_cases

#: Values that break one constraint or another of a string or string-map member.
ODD_VALUES: list[Any] = [
    None,
    "",
    ".",
    "..",
    "a b",
    "x" * 65,
    "x" * 3000,
    "ünïcode",
    "s3://b/../k",
    42,
    True,
    ["x"],
    {"a": None},
    {"a": 1},
    {"a": "b"},
    {},
]


def flat_operations() -> list[tuple[str, StructureShape]]:
    model = service_model()
    shapes = [(name, model.operation_model(name).input_shape) for name in model.operation_names]
    return [(name, shape) for name, shape in shapes if shape is not None and _flat_checks(shape) is not None]


def test_predict_and_the_simple_gets_and_deletes_take_the_quick_path() -> None:
    names = {name for name, _ in flat_operations()}
    assert {"Predict", "GetMLModel", "DeleteDataSource", "CreateRealtimeEndpoint"} <= names
    assert "CreateDataSourceFromS3" not in names  # nested structures: always the full walk
    for name, shape in flat_operations():
        assert _plainly_valid(shape, baseline(name)), name


def test_the_quick_path_accepts_only_what_the_full_walk_accepts() -> None:
    flat = dict(flat_operations())
    requests = [(case.operation, case.params) for case in generated_cases() if case.operation in flat]
    for name, shape in flat.items():
        base = baseline(name)
        requests += [(name, base | {member: value}) for member in shape.members for value in ODD_VALUES]
        requests.append((name, base | {"Record": {"name": "value", "other": ""}}))
    accepted = 0
    for name, params in requests:
        assert isinstance(params, dict)
        problems = list(_problems(flat[name], params, "", hidden=False))
        if _plainly_valid(flat[name], params):
            accepted += 1
            assert not problems, (name, params)
    assert 0 < accepted < len(requests)
